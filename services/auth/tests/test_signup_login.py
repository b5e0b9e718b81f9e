"""Sign up and log in: accounts, owners, events, throttling, same error for both failures."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import jwt
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from .conftest import PASSWORD, random_ip, unique_email


async def test_signup_creates_free_account_and_owner(
    client: httpx.AsyncClient, engine: AsyncEngine, settings: Any, events: Any
) -> None:
    email = unique_email()
    resp = await client.post(
        "/api/v1/auth/signup",
        json={
            "email": f"  {email.upper()} ",
            "password": PASSWORD,
            "name": "Olivia",
            "account_name": "Olivia's shop",
        },
    )
    assert resp.status_code == 201, resp.text
    body = resp.json()
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == 900
    assert body["agent"]["email"] == email  # normalised
    assert body["agent"]["role"] == "owner"
    assert body["account"]["plan"] == "free"
    assert body["account"]["name"] == "Olivia's shop"
    assert len(body["account"]["widget_key"]) >= 16
    claims = jwt.decode(
        body["access_token"],
        settings.jwt_public_key_file.read_bytes(),
        algorithms=["EdDSA"],
        audience="parley:agent",
        issuer="parley",
    )
    assert claims["sub"] == body["agent"]["id"]
    assert claims["acc"] == body["account"]["id"]
    assert claims["role"] == "owner"
    assert claims["exp"] - claims["iat"] == 900

    async with engine.connect() as conn:
        stored = (
            await conn.execute(
                text("SELECT password_hash FROM auth.agents WHERE id = :i"),
                {"i": body["agent"]["id"]},
            )
        ).scalar_one()
    assert stored.startswith("$argon2id$")
    assert PASSWORD not in stored

    emitted = await events(body["account"]["id"])
    assert [e["type"] for e in emitted] == ["auth.account.created", "auth.agent.created"]
    created = emitted[0]
    assert created["widget_key"] == body["account"]["widget_key"]
    assert created["plan"] == "free"
    assert set(created["settings"]) == {"general", "design", "contact_form"}
    assert created["settings"]["general"]["language"] == "en"
    assert emitted[1]["agent_id"] == body["agent"]["id"]
    assert emitted[1]["role"] == "owner"


async def test_signup_duplicate_email_is_409_case_insensitive(
    client: httpx.AsyncClient, signup: Any
) -> None:
    owner = await signup()
    resp = await client.post(
        "/api/v1/auth/signup",
        json={"email": owner.email.upper(), "password": PASSWORD, "name": "Other"},
    )
    assert resp.status_code == 409
    assert resp.headers["content-type"] == "application/problem+json"
    assert resp.json()["code"] == "email_taken"


async def test_signup_bad_input_is_422(client: httpx.AsyncClient, engine: AsyncEngine) -> None:
    email = unique_email()
    cases = [
        {"email": email, "password": "short", "name": "A"},
        {"email": email, "password": "x" * 1025, "name": "A"},
        {"email": "not-an-email", "password": PASSWORD, "name": "A"},
        {"email": email, "password": PASSWORD, "name": "A" * 101},
        {"email": email, "password": PASSWORD, "name": "A", "role": "owner"},
        {"email": email, "password": PASSWORD, "name": ""},
    ]
    for body in cases:
        resp = await client.post("/api/v1/auth/signup", json=body)
        assert resp.status_code == 422, body
        assert resp.json()["code"] == "validation_error"
    async with engine.connect() as conn:
        count = (
            await conn.execute(
                text("SELECT count(*) FROM auth.agents WHERE email = :e"), {"e": email}
            )
        ).scalar_one()
    assert count == 0


async def test_login_returns_tokens(client: httpx.AsyncClient, signup: Any) -> None:
    owner = await signup()
    resp = await client.post(
        "/api/v1/auth/login", json={"email": owner.email.upper(), "password": PASSWORD}
    )
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["agent"]["id"] == owner.agent_id
    assert body["account"]["id"] == owner.account_id
    assert body["refresh_token"] != owner.refresh_token
    me = await client.get("/api/v1/me", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert me.status_code == 200
    assert me.json()["email"] == owner.email


async def test_unknown_email_and_wrong_password_look_the_same(
    client: httpx.AsyncClient, signup: Any
) -> None:
    owner = await signup()
    wrong = await client.post(
        "/api/v1/auth/login",
        json={"email": owner.email, "password": "wrong password"},
        headers={"X-Forwarded-For": random_ip()},
    )
    unknown = await client.post(
        "/api/v1/auth/login",
        json={"email": unique_email(), "password": "wrong password"},
        headers={"X-Forwarded-For": random_ip()},
    )
    assert wrong.status_code == unknown.status_code == 401
    a, b = wrong.json(), unknown.json()
    assert a["code"] == b["code"] == "invalid_credentials"
    assert a["detail"] == b["detail"]


async def wrong_login(client: httpx.AsyncClient, email: str, ip: str) -> httpx.Response:
    return await client.post(
        "/api/v1/auth/login",
        json={"email": email, "password": "wrong password"},
        headers={"X-Forwarded-For": ip},
    )


async def test_wrong_passwords_from_one_address_do_not_lock_out_another(
    client: httpx.AsyncClient, signup: Any
) -> None:
    owner = await signup()
    attacker, user = random_ip(), random_ip()
    statuses = [(await wrong_login(client, owner.email, attacker)).status_code for _ in range(7)]
    assert statuses == [401] * 5 + [429] * 2
    refused = await client.post(
        "/api/v1/auth/login",
        json={"email": owner.email, "password": PASSWORD},
        headers={"X-Forwarded-For": attacker},
    )
    assert refused.status_code == 429
    assert refused.headers["content-type"] == "application/problem+json"
    assert refused.json()["code"] == "rate_limited"
    assert 1 <= int(refused.headers["Retry-After"]) <= 300
    # The real user, from their own address, logs in.
    ok = await client.post(
        "/api/v1/auth/login",
        json={"email": owner.email, "password": PASSWORD},
        headers={"X-Forwarded-For": user},
    )
    assert ok.status_code == 200, ok.text


async def test_concurrent_wrong_passwords_never_exceed_the_limit(
    client: httpx.AsyncClient, signup: Any
) -> None:
    owner = await signup()
    ip = random_ip()
    answers = await asyncio.gather(*(wrong_login(client, owner.email, ip) for _ in range(15)))
    statuses = sorted(r.status_code for r in answers)
    assert statuses == [401] * 5 + [429] * 10


async def test_login_success_resets_the_failure_count(
    client: httpx.AsyncClient, signup: Any
) -> None:
    owner = await signup()
    for _ in range(4):
        resp = await client.post(
            "/api/v1/auth/login", json={"email": owner.email, "password": "wrong password"}
        )
        assert resp.status_code == 401
    ok = await client.post("/api/v1/auth/login", json={"email": owner.email, "password": PASSWORD})
    assert ok.status_code == 200
    for _ in range(4):
        resp = await client.post(
            "/api/v1/auth/login", json={"email": owner.email, "password": "wrong password"}
        )
        assert resp.status_code == 401


async def test_login_throttled_per_ip(client: httpx.AsyncClient) -> None:
    ip = random_ip()
    statuses = []
    for _ in range(21):
        resp = await client.post(
            "/api/v1/auth/login",
            json={"email": unique_email(), "password": "wrong password"},
            headers={"X-Forwarded-For": ip},
        )
        statuses.append(resp.status_code)
    assert statuses == [401] * 20 + [429]
    other = await client.post(
        "/api/v1/auth/login",
        json={"email": unique_email(), "password": "wrong password"},
        headers={"X-Forwarded-For": random_ip()},
    )
    assert other.status_code == 401


async def test_login_bad_input_is_422(client: httpx.AsyncClient) -> None:
    resp = await client.post(
        "/api/v1/auth/login", json={"email": unique_email(), "password": PASSWORD, "remember": 1}
    )
    assert resp.status_code == 422
    resp = await client.post(
        "/api/v1/auth/login", json={"email": unique_email(), "password": "x" * 1025}
    )
    assert resp.status_code == 422
