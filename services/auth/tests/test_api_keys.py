"""API keys: admins create them (shown once, stored hashed), list them with their last use and
revoke them; a key reads the account settings only with `settings:read` and is refused on
every agent-only or admin endpoint, key management included."""

from __future__ import annotations

import hashlib
from typing import Any

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from parley_common.testing import eventually


async def _create(client: httpx.AsyncClient, who: Any, scopes: list[str]) -> httpx.Response:
    return await client.post(
        "/api/v1/api-keys", headers=who.headers, json={"name": "CRM sync", "scopes": scopes}
    )


def _bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


async def test_create_list_use_and_revoke(
    client: httpx.AsyncClient, signup: Any, engine: AsyncEngine
) -> None:
    owner = await signup()
    created = await _create(client, owner, ["settings:read", "conversations:read"])
    assert created.status_code == 201, created.text
    body = created.json()
    key = body["key"]
    assert key.startswith("prly_") and len(key) > 40
    assert body["scopes"] == ["conversations:read", "settings:read"]
    assert created.headers["cache-control"] == "no-store"
    async with engine.connect() as conn:
        stored = (
            await conn.execute(
                text("SELECT key_hash, key_prefix FROM auth.api_keys WHERE id = :id"),
                {"id": body["id"]},
            )
        ).one()
    assert stored.key_hash == hashlib.sha256(key.encode()).hexdigest()
    assert key.startswith(stored.key_prefix) and len(stored.key_prefix) < 16

    listed = (await client.get("/api/v1/api-keys", headers=owner.headers)).json()["items"]
    assert [(k["id"], k["last_used_at"]) for k in listed] == [(body["id"], None)]
    assert key not in str(listed)

    general = await client.get("/api/v1/account/settings/general", headers=_bearer(key))
    assert general.status_code == 200, general.text
    assert general.json()["language"] == "en"
    listed = (await client.get("/api/v1/api-keys", headers=owner.headers)).json()["items"]
    assert listed[0]["last_used_at"] is not None

    gone = await client.delete(f"/api/v1/api-keys/{body['id']}", headers=owner.headers)
    assert gone.status_code == 204

    async def refused() -> bool:
        resp = await client.get("/api/v1/account/settings/general", headers=_bearer(key))
        return resp.status_code == 401 and resp.json()["code"] == "invalid_api_key"

    await eventually(refused, timeout=5)
    assert (await client.get("/api/v1/api-keys", headers=owner.headers)).json()["items"] == []
    again = await client.delete(f"/api/v1/api-keys/{body['id']}", headers=owner.headers)
    assert again.status_code == 404 and again.json()["code"] == "api_key_not_found"


async def test_a_key_is_refused_outside_its_scopes(client: httpx.AsyncClient, signup: Any) -> None:
    owner = await signup()
    key = (await _create(client, owner, ["conversations:read"])).json()["key"]
    headers = _bearer(key)
    cases = [
        ("GET", "/api/v1/account/settings/general", "api_key_scope_missing"),
        ("PATCH", "/api/v1/account/settings/general", "api_key_scope_missing"),
        ("GET", "/api/v1/me", "api_key_not_allowed"),
        ("GET", "/api/v1/account", "api_key_not_allowed"),
        ("GET", "/api/v1/api-keys", "api_key_not_allowed"),
        ("POST", "/api/v1/api-keys", "api_key_not_allowed"),
    ]
    for method, path, code in cases:
        resp = await client.request(
            method, path, headers=headers, json={"name": "x", "scopes": ["visitors:read"]}
        )
        assert (resp.status_code, resp.json()["code"]) == (403, code), (method, path, resp.text)
        assert resp.headers["content-type"].startswith("application/problem+json")
    bogus = await client.get("/api/v1/account/settings/general", headers=_bearer("prly_nope"))
    assert bogus.status_code == 401 and bogus.json()["code"] == "invalid_api_key"


async def test_only_admins_manage_keys_of_their_own_account(
    client: httpx.AsyncClient, signup: Any, invite_agent: Any
) -> None:
    owner, other = await signup(), await signup()
    agent = await invite_agent(owner)
    refused = await _create(client, agent, ["visitors:read"])
    assert refused.status_code == 403 and refused.json()["code"] == "admin_only"
    bad = await client.post(
        "/api/v1/api-keys", headers=owner.headers, json={"name": "x", "scopes": ["root"]}
    )
    assert bad.status_code == 422
    key_id = (await _create(client, owner, ["visitors:read"])).json()["id"]
    foreign = await client.delete(f"/api/v1/api-keys/{key_id}", headers=other.headers)
    assert foreign.status_code == 404
    assert (await client.get("/api/v1/api-keys", headers=other.headers)).json()["items"] == []
    still = (await client.get("/api/v1/api-keys", headers=owner.headers)).json()["items"]
    assert [k["id"] for k in still] == [key_id]
