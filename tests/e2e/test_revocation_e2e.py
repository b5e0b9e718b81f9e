"""Through the gateway: a removed agent is refused on every service's route within a second."""

from __future__ import annotations

from typing import Any

import httpx

from parley_common.e2e import System
from parley_common.testing import eventually

# One route of each service (and the gateway's own stream tickets).
ROUTES = [
    ("GET", "/api/v1/me"),
    ("GET", "/api/v1/conversations"),
    ("GET", "/api/v1/visitors"),
    ("GET", "/api/v1/chatbots"),
    ("GET", "/api/v1/me/notification-settings"),
    ("POST", "/api/v1/stream/tickets"),
]


async def answers(gateway: httpx.AsyncClient, headers: dict[str, str]) -> dict[str, Any]:
    out = {}
    for method, path in ROUTES:
        resp = await gateway.request(method, path, headers=headers)
        out[path] = (resp.status_code, resp.json().get("code"))
    return out


async def test_a_removed_agent_is_refused_everywhere_within_a_second(
    system: System, gateway: httpx.AsyncClient
) -> None:
    owner = await system.signup(gateway)
    member = await system.invite(gateway, owner)
    bob = member["headers"]
    before = await answers(gateway, bob)
    assert {status for status, _ in before.values()} == {200, 201}, before

    removed = await gateway.delete(
        f"/api/v1/agents/{member['agent']['id']}", headers=owner["headers"]
    )
    assert removed.status_code == 204

    async def refused() -> dict[str, Any] | None:
        now = await answers(gateway, bob)
        return now if set(now.values()) == {(401, "session_revoked")} else None

    await eventually(refused, timeout=1.0)
    # The owner of the same account goes on.
    assert {s for s, _ in (await answers(gateway, owner["headers"])).values()} == {200, 201}


async def test_token_responses_are_not_stored(system: System, gateway: httpx.AsyncClient) -> None:
    owner = await system.signup(gateway)
    login = await gateway.post(
        "/api/v1/auth/login",
        json={"email": owner["agent"]["email"], "password": owner["password"]},
    )
    refreshed = await gateway.post(
        "/api/v1/auth/refresh", json={"refresh_token": login.json()["refresh_token"]}
    )
    ticket = await gateway.post("/api/v1/stream/tickets", headers=owner["headers"])
    await system.widget_session(gateway, owner)  # once visitors has seen the new account
    widget = await gateway.post(
        "/api/v1/widget/sessions",
        json={"widget_key": owner["account"]["widget_key"], "page": {"url": "https://a.test/"}},
    )
    for resp in (login, refreshed, ticket, widget):
        assert resp.status_code in (200, 201), resp.text
        assert resp.headers["cache-control"] == "no-store"
