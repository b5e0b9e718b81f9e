"""An integrator's API key through the gateway: it works on chat and visitors within its
scopes, is refused elsewhere with a 403 problem, and every service refuses it once revoked.
A key with `stream:read` opens the agents' stream (ticket or bearer) until it is revoked, and
what a key writes is signed with its name."""

from __future__ import annotations

import asyncio
from typing import Any

import orjson
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from parley_common.e2e import System, next_event
from parley_common.testing import eventually


async def test_api_key_scopes_and_revocation(system: System, gateway) -> None:
    owner = await system.signup(gateway)
    visitor = await system.widget_session(gateway, owner)
    sent = await gateway.post(
        "/api/v1/widget/messages", headers=visitor["headers"], json={"text": "Hi from the shop"}
    )
    assert sent.status_code == 201, sent.text
    cid = sent.json()["conversation_id"]

    created = await gateway.post(
        "/api/v1/api-keys",
        headers=owner["headers"],
        json={"name": "CRM", "scopes": ["conversations:read", "visitors:read"]},
    )
    assert created.status_code == 201, created.text
    key = {"Authorization": f"Bearer {created.json()['key']}"}

    messages = await gateway.get(f"/api/v1/conversations/{cid}/messages", headers=key)
    assert messages.status_code == 200, messages.text
    assert [m["text"] for m in messages.json()["items"]] == ["Hi from the shop"]

    async def visitor_listed() -> bool:
        resp = await gateway.get(f"/api/v1/visitors/{visitor['visitor_id']}", headers=key)
        return resp.status_code == 200

    await eventually(visitor_listed, timeout=10)

    refusals = [
        ("POST", f"/api/v1/conversations/{cid}/messages", {"text": "x"}, "api_key_scope_missing"),
        (
            "PATCH",
            f"/api/v1/visitors/{visitor['visitor_id']}",
            {"name": "x"},
            "api_key_scope_missing",
        ),
        ("GET", "/api/v1/chatbots", None, "api_key_not_allowed"),
        ("GET", "/api/v1/me/notification-settings", None, "api_key_not_allowed"),
        ("GET", "/api/v1/agents", None, "api_key_not_allowed"),
        ("GET", "/api/v1/api-keys", None, "api_key_not_allowed"),
    ]
    for method, path, body, code in refusals:
        resp = await gateway.request(method, path, headers=key, json=body)
        assert (resp.status_code, resp.json().get("code")) == (403, code), (path, resp.text)

    listed = (await gateway.get("/api/v1/api-keys", headers=owner["headers"])).json()["items"]
    assert listed[0]["last_used_at"] is not None

    revoked = await gateway.delete(
        f"/api/v1/api-keys/{created.json()['id']}", headers=owner["headers"]
    )
    assert revoked.status_code == 204

    async def refused_everywhere() -> bool:
        paths = [f"/api/v1/conversations/{cid}", f"/api/v1/visitors/{visitor['visitor_id']}"]
        for path in paths:
            resp = await gateway.get(path, headers=key)
            if resp.status_code != 401 or resp.json()["code"] != "invalid_api_key":
                return False
        return True

    await eventually(refused_everywhere, timeout=5)


async def _key(gateway, owner: dict[str, Any], name: str, scopes: list[str]) -> dict[str, Any]:
    created = await gateway.post(
        "/api/v1/api-keys", headers=owner["headers"], json={"name": name, "scopes": scopes}
    )
    assert created.status_code == 201, created.text
    return {**created.json(), "headers": {"Authorization": f"Bearer {created.json()['key']}"}}


async def test_a_key_with_stream_read_gets_the_agents_stream_until_revoked(
    system: System, gateway
) -> None:
    owner = await system.signup(gateway)
    zapier = await _key(gateway, owner, "Zapier", ["stream:read", "conversations:write"])
    crm = await _key(gateway, owner, "CRM", ["conversations:read"])

    # Without the scope: no ticket, no upgrade.
    refused = await gateway.post("/api/v1/stream/tickets", headers=crm["headers"])
    assert (refused.status_code, refused.json()["code"]) == (403, "api_key_scope_missing")
    with pytest.raises(InvalidStatus) as denied:
        async with connect(
            system.ws_url("/api/v1/stream"), additional_headers=crm["headers"], proxy=None
        ):
            pass
    assert denied.value.response.status_code == 403
    assert orjson.loads(denied.value.response.body)["code"] == "api_key_scope_missing"

    ticket = await gateway.post("/api/v1/stream/tickets", headers=zapier["headers"])
    assert ticket.status_code == 201, ticket.text
    visitor = await system.widget_session(gateway, owner)
    async with (
        connect(
            system.ws_url(f"/api/v1/stream?ticket={ticket.json()['ticket']}"),
            proxy=None,
            open_timeout=5,
        ) as by_ticket,
        system.agent_stream(zapier["headers"]) as by_bearer,
    ):
        sent = await gateway.post(
            "/api/v1/widget/messages", headers=visitor["headers"], json={"text": "Any news?"}
        )
        assert sent.status_code == 201, sent.text
        for ws in (by_ticket, by_bearer):
            frame = await next_event(ws, lambda f: f["event"] == "chat.message.created")
            assert frame["data"]["text"] == "Any news?"

        # What the key writes is signed with its name; clients still see an agent's message.
        cid = sent.json()["conversation_id"]
        reply = await gateway.post(
            f"/api/v1/conversations/{cid}/messages",
            headers=zapier["headers"],
            json={"text": "Your order shipped."},
        )
        assert reply.status_code == 201, reply.text
        seen = await gateway.get("/api/v1/widget/conversation", headers=visitor["headers"])
        [shipped] = [m for m in seen.json()["messages"] if m["text"] == "Your order shipped."]
        assert (shipped["author_type"], shipped["author_name"]) == ("agent", "Zapier (API)")
        # A key does not join: the conversation stays unassigned, for the team.
        assert [m["author_type"] for m in seen.json()["messages"]] == ["visitor", "agent"]
        conversation = await gateway.get(f"/api/v1/conversations/{cid}", headers=owner["headers"])
        assert conversation.json()["assignee_id"] is None
        frame = await next_event(
            by_bearer,
            lambda f: f["event"] == "chat.message.created" and f["data"]["author_type"] == "agent",
        )
        assert frame["data"]["author_name"] == "Zapier (API)"

        revoked = await gateway.delete(f"/api/v1/api-keys/{zapier['id']}", headers=owner["headers"])
        assert revoked.status_code == 204
        for ws in (by_ticket, by_bearer):
            with pytest.raises(ConnectionClosed) as closed:
                while True:
                    await asyncio.wait_for(ws.recv(), 10)
            assert closed.value.rcvd is not None and closed.value.rcvd.code == 4001

    async def refused() -> bool:
        resp = await gateway.post("/api/v1/stream/tickets", headers=zapier["headers"])
        return resp.status_code == 401 and resp.json()["code"] == "invalid_api_key"

    await eventually(refused, timeout=5)
    with pytest.raises(InvalidStatus) as gone:
        async with connect(
            system.ws_url("/api/v1/stream"), additional_headers=zapier["headers"], proxy=None
        ):
            pass
    assert gone.value.response.status_code == 401
