"""Bug reports, app links, the JWKS, and the CLI account commands."""

from __future__ import annotations

import base64
from typing import Any

import httpx
import jwt
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from parley_auth.commands import create_account, ensure_account

from .conftest import PASSWORD, unique_email


async def test_bug_report_is_stored_and_mailed(
    client: httpx.AsyncClient, signup: Any, smtp_sink: Any, engine: AsyncEngine
) -> None:
    owner = await signup(name="Olivia")
    resp = await client.post(
        "/api/v1/bug-reports",
        headers=owner.headers,
        json={
            "message": f"The send button does nothing {owner.agent_id}",
            "app_version": "3.2.1",
            "device": "iPhone 15",
            "logs": "trace line",
        },
    )
    assert resp.status_code == 201, resp.text
    assert resp.json()["emailed"] is True
    mails = await smtp_sink.wait_for("support@parley.localhost")
    mail = next(m for m in mails if owner.agent_id in m.get_content())
    assert "iPhone 15" in mail.get_content() and "trace line" in mail.get_content()
    assert str(mail["Reply-To"]) == owner.email
    async with engine.connect() as conn:
        row = (
            await conn.execute(
                text("SELECT account_id, message, emailed_at FROM auth.bug_reports WHERE id = :i"),
                {"i": resp.json()["id"]},
            )
        ).one()
    assert str(row.account_id) == owner.account_id and row.emailed_at is not None


async def test_bug_reports_are_rate_limited_per_agent(
    client: httpx.AsyncClient, signup: Any
) -> None:
    owner, other = await signup(), await signup()
    statuses = [
        (
            await client.post(
                "/api/v1/bug-reports", headers=owner.headers, json={"message": f"bug {i}"}
            )
        ).status_code
        for i in range(6)
    ]
    assert statuses == [201] * 5 + [429]
    ok = await client.post("/api/v1/bug-reports", headers=other.headers, json={"message": "b"})
    assert ok.status_code == 201


async def test_bug_report_bad_input(client: httpx.AsyncClient, signup: Any) -> None:
    owner = await signup()
    for body in (
        {"message": ""},
        {"message": "   "},
        {"message": "x" * 5001},
        {"message": "a", "severity": "high"},
        {},
    ):
        resp = await client.post("/api/v1/bug-reports", headers=owner.headers, json=body)
        assert resp.status_code == 422, body
    assert (await client.post("/api/v1/bug-reports", json={"message": "a"})).status_code == 401


async def test_app_links(client: httpx.AsyncClient) -> None:
    body = (await client.get("/api/v1/app/links")).json()
    assert set(body) == {"help_center_url", "terms_url", "privacy_url", "gdpr_url"}
    assert all(v.startswith("https://") for v in body.values())


async def test_jwks_verifies_issued_tokens(client: httpx.AsyncClient, signup: Any) -> None:
    owner = await signup()
    keys = (await client.get("/internal/jwks")).json()["keys"]
    assert keys[0]["kty"] == "OKP" and keys[0]["crv"] == "Ed25519"
    key = jwt.PyJWK(keys[0])
    claims = jwt.decode(
        owner.body["access_token"],
        key,
        algorithms=["EdDSA"],
        audience="parley:agent",
        issuer="parley",
    )
    assert claims["sub"] == owner.agent_id
    assert len(base64.urlsafe_b64decode(keys[0]["x"] + "=")) == 32


async def test_cli_commands_create_and_ensure(client: httpx.AsyncClient, events: Any) -> None:
    email = unique_email("cli")
    created = await create_account(email, PASSWORD, "Cli Owner", "Cli site")
    assert created["email"] == email and created["widget_key"] and created["created"]
    again = await ensure_account(email.upper(), PASSWORD, "Cli Owner", "Cli site")
    assert again == {**created, "created": False}
    other = await ensure_account(unique_email("cli"), PASSWORD, "B", "B site")
    assert other["account_id"] != created["account_id"]
    types = [e["type"] for e in await events(created["account_id"])]
    assert types == ["auth.account.created", "auth.agent.created"]
    resp = await client.post("/api/v1/auth/login", json={"email": email, "password": PASSWORD})
    assert resp.status_code == 200
