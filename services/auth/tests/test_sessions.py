"""Refresh rotation, reuse detection, logout, and sessions ended by a password change."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from .conftest import PASSWORD, random_ip, unique_email


async def test_refresh_rotates_and_old_token_stops_working(
    client: httpx.AsyncClient, signup: Any
) -> None:
    owner = await signup()
    resp = await client.post("/api/v1/auth/refresh", json={"refresh_token": owner.refresh_token})
    assert resp.status_code == 200, resp.text
    new = resp.json()
    assert new["refresh_token"] != owner.refresh_token
    assert new["agent"]["id"] == owner.agent_id
    me = await client.get("/api/v1/me", headers={"Authorization": f"Bearer {new['access_token']}"})
    assert me.status_code == 200
    # The rotated one is refused; the new one still works.
    again = await client.post("/api/v1/auth/refresh", json={"refresh_token": owner.refresh_token})
    assert again.status_code == 401


async def test_reusing_a_rotated_token_revokes_the_whole_family(
    client: httpx.AsyncClient, signup: Any, events: Any, engine: AsyncEngine
) -> None:
    owner = await signup()
    first = await client.post("/api/v1/auth/refresh", json={"refresh_token": owner.refresh_token})
    current = first.json()
    reuse = await client.post("/api/v1/auth/refresh", json={"refresh_token": owner.refresh_token})
    assert reuse.status_code == 401
    assert reuse.json()["code"] == "refresh_token_reused"
    # The legitimate holder's newest token is dead too, and so is its access token here.
    later = await client.post(
        "/api/v1/auth/refresh", json={"refresh_token": current["refresh_token"]}
    )
    assert later.status_code == 401
    me = await client.get(
        "/api/v1/me", headers={"Authorization": f"Bearer {current['access_token']}"}
    )
    assert me.status_code == 401
    assert me.json()["code"] == "session_revoked"
    revoked = await events(owner.account_id, "auth.session.revoked")
    assert len(revoked) == 1
    assert revoked[0]["agent_id"] == owner.agent_id
    async with engine.connect() as conn:
        reason = (
            await conn.execute(
                text("SELECT revoked_reason FROM auth.sessions WHERE id = :i"),
                {"i": revoked[0]["session_id"]},
            )
        ).scalar_one()
    assert reason == "refresh_token_reused"


async def test_refresh_tokens_are_stored_hashed(
    client: httpx.AsyncClient, signup: Any, engine: AsyncEngine
) -> None:
    owner = await signup()
    async with engine.connect() as conn:
        hashes = (
            (
                await conn.execute(
                    text("SELECT token_hash FROM auth.refresh_tokens WHERE account_id = :a"),
                    {"a": owner.account_id},
                )
            )
            .scalars()
            .all()
        )
    assert len(hashes) == 1
    assert owner.refresh_token not in hashes
    assert len(hashes[0]) == 64


async def test_unknown_refresh_token_is_401(client: httpx.AsyncClient) -> None:
    resp = await client.post("/api/v1/auth/refresh", json={"refresh_token": "nope"})
    assert resp.status_code == 401
    assert resp.json()["code"] == "invalid_refresh_token"


async def test_logout_ends_the_session(client: httpx.AsyncClient, signup: Any, events: Any) -> None:
    owner = await signup()
    resp = await client.post("/api/v1/auth/logout", json={"refresh_token": owner.refresh_token})
    assert resp.status_code == 204
    refresh = await client.post("/api/v1/auth/refresh", json={"refresh_token": owner.refresh_token})
    assert refresh.status_code == 401
    me = await client.get("/api/v1/me", headers=owner.headers)
    assert me.status_code == 401
    revoked = await events(owner.account_id, "auth.session.revoked")
    assert [r["agent_id"] for r in revoked] == [owner.agent_id]
    # Logging out twice is harmless and emits nothing more.
    again = await client.post("/api/v1/auth/logout", json={"refresh_token": owner.refresh_token})
    assert again.status_code == 204
    assert len(await events(owner.account_id, "auth.session.revoked")) == 1


async def test_logout_rejects_unknown_fields(client: httpx.AsyncClient, signup: Any) -> None:
    owner = await signup()
    resp = await client.post(
        "/api/v1/auth/logout", json={"refresh_token": owner.refresh_token, "all": True}
    )
    assert resp.status_code == 422
    me = await client.get("/api/v1/me", headers=owner.headers)
    assert me.status_code == 200


async def test_password_change_ends_every_other_session(
    client: httpx.AsyncClient, signup: Any, login: Any, events: Any
) -> None:
    owner = await signup()
    phone = await login(owner.email)
    tablet = await login(owner.email)
    resp = await client.post(
        "/api/v1/me/password",
        headers=owner.headers,
        json={"current_password": PASSWORD, "new_password": "a brand new passphrase"},
    )
    assert resp.status_code == 204, resp.text
    for other in (phone, tablet):
        assert (await client.get("/api/v1/me", headers=other.headers)).status_code == 401
        refresh = await client.post(
            "/api/v1/auth/refresh", json={"refresh_token": other.refresh_token}
        )
        assert refresh.status_code == 401
    # The session that changed the password continues.
    assert (await client.get("/api/v1/me", headers=owner.headers)).status_code == 200
    revoked = {r["session_id"] for r in await events(owner.account_id, "auth.session.revoked")}
    assert len(revoked) == 2
    old = await client.post("/api/v1/auth/login", json={"email": owner.email, "password": PASSWORD})
    assert old.status_code == 401
    await login(owner.email, "a brand new passphrase")


async def test_password_change_needs_current_password(
    client: httpx.AsyncClient, signup: Any, login: Any
) -> None:
    owner = await signup()
    other = await login(owner.email)
    resp = await client.post(
        "/api/v1/me/password",
        headers=owner.headers,
        json={"current_password": "not it at all", "new_password": "a brand new passphrase"},
    )
    assert resp.status_code == 403
    assert resp.json()["code"] == "wrong_password"
    assert (await client.get("/api/v1/me", headers=other.headers)).status_code == 200
    short = await client.post(
        "/api/v1/me/password",
        headers=owner.headers,
        json={"current_password": PASSWORD, "new_password": "short"},
    )
    assert short.status_code == 422
    await login(owner.email, PASSWORD)


async def test_requests_without_a_valid_token_are_401(client: httpx.AsyncClient) -> None:
    assert (await client.get("/api/v1/me")).status_code == 401
    resp = await client.get("/api/v1/me", headers={"Authorization": "Bearer garbage"})
    assert resp.status_code == 401
    assert resp.headers["content-type"] == "application/problem+json"


async def test_responses_carrying_tokens_are_not_stored(client: httpx.AsyncClient) -> None:
    email = unique_email()
    ip = {"X-Forwarded-For": random_ip()}
    signup = await client.post(
        "/api/v1/auth/signup",
        json={"email": email, "password": PASSWORD, "name": "Olivia"},
        headers=ip,
    )
    login = await client.post(
        "/api/v1/auth/login", json={"email": email, "password": PASSWORD}, headers=ip
    )
    refreshed = await client.post(
        "/api/v1/auth/refresh", json={"refresh_token": login.json()["refresh_token"]}
    )
    owner = {"Authorization": f"Bearer {refreshed.json()['access_token']}"}
    invite = await client.post("/api/v1/agents", json={"email": unique_email()}, headers=owner)
    accepted = await client.post(
        "/api/v1/invitations/accept",
        json={"token": invite.json()["token"], "name": "Nora", "password": PASSWORD},
    )
    for resp in (signup, login, refreshed, invite, accepted):
        assert resp.status_code in (200, 201), resp.text
        assert resp.headers["cache-control"] == "no-store"
