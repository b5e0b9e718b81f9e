"""The service app skeleton: problem+json errors, request ids, health, readiness, metrics."""

from __future__ import annotations

import time
import uuid

import jwt
from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import text

from parley_common.app import create_service_app
from parley_common.db import SessionDep, driver_connection
from parley_common.errors import NotFound
from parley_common.security import (
    AGENT_AUDIENCE,
    ALGORITHM,
    CurrentAdmin,
    CurrentAgent,
    _read_key,
    issue_agent_token,
    issue_visitor_token,
)
from parley_common.settings import Settings
from parley_common.testing import free_port, make_agent, running_app


class WidgetNotFound(NotFound):
    code = "widget_not_found"


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(max_length=10)


router = APIRouter()


@router.get("/api/v1/things/{thing_id}")
async def get_thing(thing_id: uuid.UUID, agent: CurrentAgent) -> dict:
    raise WidgetNotFound(f"No thing {thing_id}.")


@router.post("/api/v1/things")
async def create_thing(body: Body, agent: CurrentAdmin) -> dict:
    return {"name": body.name, "account_id": str(agent.account_id)}


@router.get("/api/v1/boom")
async def boom() -> dict:
    raise RuntimeError("secret internals")


def app():
    return create_service_app("test", [router], uses_database=False)


async def test_domain_error_is_problem_json(database) -> None:
    async with running_app(app()) as client:
        resp = await client.get(f"/api/v1/things/{uuid.uuid4()}", headers=make_agent().headers)
    assert resp.status_code == 404
    assert resp.headers["content-type"] == "application/problem+json"
    body = resp.json()
    assert body["code"] == "widget_not_found" and body["status"] == 404
    assert body["type"].endswith("/widget_not_found") and body["request_id"]


async def test_validation_errors_unknown_fields_and_long_strings(database) -> None:
    headers = make_agent().headers
    async with running_app(app()) as client:
        extra = await client.post(
            "/api/v1/things", json={"name": "a", "role": "owner"}, headers=headers
        )
        long = await client.post("/api/v1/things", json={"name": "x" * 11}, headers=headers)
        bad_json = await client.post(
            "/api/v1/things", content=b"{", headers={**headers, "content-type": "application/json"}
        )
        bad_id = await client.get("/api/v1/things/not-a-uuid", headers=headers)
    for resp in (extra, long, bad_json, bad_id):
        assert resp.status_code == 422, resp.text
        assert resp.json()["code"] == "validation_error"
    assert "role" in extra.json()["detail"]


async def test_unknown_route_and_method_are_problems(database) -> None:
    async with running_app(app()) as client:
        missing = await client.get("/api/v1/nope")
        method = await client.delete("/api/v1/things")
    assert missing.status_code == 404 and missing.json()["code"] == "not_found"
    assert method.status_code == 405 and method.json()["code"] == "method_not_allowed"


async def test_unexpected_error_is_500_without_internals(database) -> None:
    async with running_app(app()) as client:
        resp = await client.get("/api/v1/boom", headers={"X-Request-ID": "req-42"})
    assert resp.status_code == 500
    assert resp.json()["code"] == "internal_error"
    assert resp.json()["request_id"] == "req-42"
    assert "secret" not in resp.text and "Traceback" not in resp.text


async def test_tokens_are_verified_strictly(database, settings) -> None:
    agent = make_agent(role="agent")
    key = _read_key(settings.jwt_private_key_file)
    now = int(time.time())
    claims = {
        "sub": str(agent.agent_id),
        "acc": str(agent.account_id),
        "role": "owner",
        "sid": str(uuid.uuid4()),
        "iss": settings.jwt_issuer,
        "aud": AGENT_AUDIENCE,
        "iat": now,
        "exp": now + 60,
    }
    expired = jwt.encode({**claims, "exp": now - 1}, key, algorithm=ALGORITHM)
    wrong_aud = jwt.encode({**claims, "aud": "other"}, key, algorithm=ALGORITHM)
    no_iat = jwt.encode({k: v for k, v in claims.items() if k != "iat"}, key, algorithm=ALGORITHM)
    hs256 = jwt.encode(claims, "shared-secret", algorithm="HS256")
    visitor = issue_visitor_token(uuid.uuid4(), agent.account_id)
    async with running_app(app()) as client:

        async def call(token: str) -> tuple[int, str]:
            resp = await client.post(
                "/api/v1/things", json={"name": "a"}, headers={"Authorization": f"Bearer {token}"}
            )
            return resp.status_code, resp.json().get("code", "")

        assert await call(expired) == (401, "token_expired")
        for token in (wrong_aud, no_iat, hs256, visitor, "garbage"):
            assert await call(token) == (401, "unauthorized")
        # A plain agent is not an admin.
        assert await call(agent.token) == (403, "forbidden")
        ok = await call(issue_agent_token(agent.agent_id, agent.account_id, "admin", uuid.uuid4()))
        assert ok[0] == 200
        missing = await client.post("/api/v1/things", json={"name": "a"})
        assert missing.status_code == 401 and missing.headers["www-authenticate"] == "Bearer"


async def test_health_readiness_and_metrics(database) -> None:
    async with running_app(create_service_app("test", [router])) as client:
        assert (await client.get("/healthz")).json() == {"status": "ok"}
        ready = await client.get("/readyz")
        await client.get("/api/v1/nope")
        metrics = await client.get("/metrics")
    assert ready.status_code == 200
    assert ready.json()["checks"] == {"redis": "ok", "rabbitmq": "ok", "postgresql": "ok"}
    assert "parley_http_request_seconds_bucket" in metrics.text
    assert 'route="/healthz"' in metrics.text


async def test_readiness_fails_when_a_server_is_unreachable(database, settings) -> None:
    broken = settings.model_copy(update={"rabbitmq_url": "amqp://guest:guest@127.0.0.1:1/"})
    async with running_app(create_service_app("test", [router], settings=broken)) as client:
        ready = await client.get("/readyz")
    assert ready.status_code == 503
    assert ready.json()["checks"]["rabbitmq"].startswith("failed")


def test_client_ip_trusts_only_the_hop_the_proxy_appended() -> None:
    from starlette.requests import Request

    from parley_common.security import client_ip

    def request(forwarded: str | None, peer: str = "127.0.0.1") -> Request:
        headers = [(b"x-forwarded-for", forwarded.encode())] if forwarded is not None else []
        return Request({"type": "http", "headers": headers, "client": (peer, 5000)})

    assert client_ip(request("6.6.6.6, 203.0.113.7")) == "203.0.113.7"
    assert client_ip(request("203.0.113.7")) == "203.0.113.7"
    assert client_ip(request(None)) == "127.0.0.1"
    assert client_ip(request(" , ")) == "127.0.0.1"
    # Not from a trusted proxy (PARLEY_TRUSTED_PROXIES): the header is only the client's claim.
    assert client_ip(request("203.0.113.7", peer="10.0.0.9")) == "10.0.0.9"


db_router = APIRouter()


@db_router.get("/api/v1/db")
async def use_database(session: SessionDep) -> dict:
    return {"one": (await session.execute(text("SELECT 1"))).scalar_one()}


async def test_database_down_is_a_503_with_retry_after_and_changes_nothing(database) -> None:
    nowhere = f"postgresql+asyncpg://postgres@127.0.0.1:{free_port()}/parley"
    app = create_service_app("test", [db_router], settings=Settings(database_url=nowhere))
    async with running_app(app) as client:
        resp = await client.get("/api/v1/db")
    assert resp.status_code == 503
    assert resp.headers["content-type"] == "application/problem+json"
    assert resp.headers["retry-after"] == "2"
    assert resp.json()["code"] == "unavailable"
    assert resp.json()["request_id"] == resp.headers["x-request-id"]


async def test_database_up_answers(database, settings) -> None:
    app = create_service_app("test", [db_router], settings=settings)
    async with running_app(app) as client:
        resp = await client.get("/api/v1/db")
    assert resp.status_code == 200 and resp.json() == {"one": 1}


@db_router.get("/api/v1/db/driver")
async def use_driver_connection(session: SessionDep) -> dict:
    connection = await driver_connection(session)
    return {"pid": await connection.fetchval("SELECT pg_backend_pid()")}


async def test_a_cut_database_connection_is_replaced_not_handed_out_again(
    database, settings, engine
) -> None:
    app = create_service_app(
        "test", [db_router], settings=settings.model_copy(update={"database_pool_size": 1})
    )
    async with running_app(app) as client:
        pid = (await client.get("/api/v1/db/driver")).json()["pid"]
        async with engine.connect() as other:  # what a PostgreSQL restart does to the pool
            await other.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        cut = await client.get("/api/v1/db/driver")
        assert cut.status_code == 503 and cut.json()["code"] == "unavailable"
        again = await client.get("/api/v1/db/driver")
        assert again.status_code == 200
        assert again.json()["pid"] != pid
