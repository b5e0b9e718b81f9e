"""Chat through the whole system (gateway only): a visitor writes, the agent's stream sees it,
the agent joins and replies, the visitor's stream sees the reply; unread, assign, transcript
(received by the SMTP sink), resolve, Resolved tab and SmartHub stats."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
from websockets.asyncio.client import ClientConnection, connect

from parley_common.e2e import System
from parley_common.testing import eventually


def ws_url(system: System, path: str) -> str:
    return system.url.replace("http://", "ws://", 1) + path


async def next_event(ws: ClientConnection, predicate: Any, timeout: float = 15) -> dict:
    """The first event frame matching ``predicate`` (other frames are skipped)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        remaining = deadline - asyncio.get_running_loop().time()
        if remaining <= 0:
            raise AssertionError("no matching stream event")
        frame = orjson.loads(await asyncio.wait_for(ws.recv(), remaining))
        if frame.get("type") == "event" and predicate(frame):
            return dict(frame)


async def second_agent(gateway: Any, owner: dict[str, Any]) -> dict[str, Any]:
    invite = await gateway.post(
        "/api/v1/agents",
        headers=owner["headers"],
        json={"email": f"bob-{uuid.uuid4().hex[:8]}@example.com"},
    )
    assert invite.status_code == 201, invite.text
    accepted = await gateway.post(
        "/api/v1/invitations/accept",
        json={
            "token": invite.json()["token"],
            "name": "Bob Agent",
            "password": "correct horse bob",
        },
    )
    assert accepted.status_code == 201, accepted.text
    return dict(accepted.json())


async def test_chat_end_to_end(system: System, gateway, smtp_sink) -> None:
    owner = await system.signup(gateway)
    headers = owner["headers"]
    session = await gateway.post(
        "/api/v1/widget/sessions",
        json={
            "widget_key": owner["account"]["widget_key"],
            "page": {"url": "https://shop.example/", "title": "Shop"},
        },
    )
    assert session.status_code in (200, 201), session.text
    visitor_token = session.json()["visitor_token"]
    visitor = {"Authorization": f"Bearer {visitor_token}"}

    async with (
        connect(
            ws_url(system, "/api/v1/stream"), additional_headers=headers, proxy=None, open_timeout=5
        ) as agent_ws,
        connect(
            ws_url(system, f"/api/v1/widget/stream?token={visitor_token}"),
            proxy=None,
            open_timeout=5,
        ) as visitor_ws,
    ):
        sent = await gateway.post(
            "/api/v1/widget/messages",
            headers=visitor,
            json={"text": "Do you ship to Norway?", "client_message_id": "w-1"},
        )
        assert sent.status_code == 201, sent.text
        cid = sent.json()["conversation_id"]
        seen = await next_event(
            agent_ws,
            lambda f: f["event"] == "chat.message.created" and f["data"]["conversation_id"] == cid,
        )
        assert seen["data"]["text"] == "Do you ship to Norway?"

        joined = await gateway.post(f"/api/v1/conversations/{cid}/join", headers=headers)
        assert joined.status_code == 200, joined.text
        assert joined.json()["assignee_id"] == owner["agent"]["id"]
        reply = await gateway.post(
            f"/api/v1/conversations/{cid}/messages",
            headers=headers,
            json={"text": "Yes, in 3 days."},
        )
        assert reply.status_code == 201, reply.text
        got = await next_event(
            visitor_ws,
            lambda f: f["event"] == "chat.message.created" and f["data"]["author_type"] == "agent",
        )
        assert got["data"]["text"] == "Yes, in 3 days."
        assert got["data"]["conversation_id"] == cid

    unread = await gateway.post(f"/api/v1/conversations/{cid}/unread", headers=headers)
    assert unread.status_code == 200 and unread.json()["unread_count"] >= 1
    listed = (
        await gateway.get("/api/v1/conversations", headers=headers, params={"unread": "true"})
    ).json()
    assert [c["id"] for c in listed["items"]] == [cid]

    bob = await second_agent(gateway, owner)

    async def bob_known() -> bool:
        resp = await gateway.post(
            f"/api/v1/conversations/{cid}/assign",
            headers=headers,
            json={"agent_id": bob["agent"]["id"]},
        )
        return resp.status_code == 200  # 404 until chat has seen auth.agent.created

    await eventually(bob_known, timeout=20, interval=0.3)
    view = (await gateway.get(f"/api/v1/conversations/{cid}", headers=headers)).json()
    assert view["assignee"]["id"] == bob["agent"]["id"]
    assert view["assignee"]["name"] == "Bob Agent"

    mailbox = f"transcript-{uuid.uuid4().hex[:8]}@example.com"
    transcript = await gateway.post(
        f"/api/v1/conversations/{cid}/transcript", headers=headers, json={"email": mailbox}
    )
    assert transcript.status_code == 200, transcript.text
    mail = (await smtp_sink.wait_for(mailbox))[0]
    assert "Do you ship to Norway?" in mail.get_body(("plain",)).get_content()

    resolved = await gateway.post(f"/api/v1/conversations/{cid}/resolve", headers=headers)
    assert resolved.status_code == 200 and resolved.json()["status"] == "resolved"
    tab = (
        await gateway.get("/api/v1/conversations", headers=headers, params={"status": "resolved"})
    ).json()
    assert [c["id"] for c in tab["items"]] == [cid]
    today = datetime.now(UTC).date()
    stats = (
        await gateway.get(
            "/api/v1/stats/conversations",
            headers=headers,
            params={"from": str(today - timedelta(days=1)), "to": str(today + timedelta(days=1))},
        )
    ).json()
    assert (stats["new"], stats["served"], stats["resolved"], stats["missed"]) == (1, 1, 1, 0)
    assert stats["median_first_response_seconds"] is not None
