"""Stream access and unsequenced frames: tickets, refusals, Origin, typing, ping, slow clients."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import httpx
import orjson
import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import InvalidStatus
from wsproto import ConnectionType, WSConnection
from wsproto.events import AcceptConnection, CloseConnection, Request, TextMessage

from parley_common.security import issue_visitor_token

MESSAGE = "chat.message.created"


def open_stream(url: str, **kwargs: Any) -> Any:
    return connect(url, proxy=None, open_timeout=5, **kwargs)


async def recv(ws: ClientConnection, timeout: float = 5) -> dict[str, Any]:
    frame: dict[str, Any] = orjson.loads(await asyncio.wait_for(ws.recv(), timeout))
    return frame


async def next_of(ws: ClientConnection, kind: str, timeout: float = 5) -> dict[str, Any]:
    while True:
        frame = await recv(ws, timeout)
        if frame["type"] == kind:
            return frame


async def refused(url: str, **kwargs: Any) -> tuple[int, dict[str, Any]]:
    with pytest.raises(InvalidStatus) as exc:
        async with open_stream(url, **kwargs):
            pass
    response = exc.value.response
    assert response.headers["content-type"] == "application/problem+json"
    return response.status_code, orjson.loads(response.body)


async def test_ticket_opens_the_stream_once(gateways, agent):
    async with httpx.AsyncClient(base_url=gateways.a.url) as client:
        created = await client.post("/api/v1/stream/tickets", headers=agent.headers)
        anonymous = await client.post("/api/v1/stream/tickets")
    assert created.status_code == 201
    assert created.json()["expires_in"] == 30
    assert anonymous.status_code == 401
    url = f"{gateways.b.ws}/api/v1/stream?ticket={created.json()['ticket']}"
    async with open_stream(url) as ws:
        assert (await recv(ws))["type"] == "hello"
    status, body = await refused(url)
    assert (status, body["code"]) == (401, "ticket_invalid")


async def test_upgrades_without_valid_credentials_are_refused(gateways, agent):
    base = f"{gateways.a.ws}/api/v1/stream"
    status, body = await refused(base)
    assert (status, body["code"]) == (401, "unauthorized")
    status, body = await refused(base, additional_headers={"Authorization": "Bearer nope"})
    assert status == 401
    visitor_token = issue_visitor_token(uuid.uuid4(), agent.account_id)
    status, _ = await refused(base, additional_headers={"Authorization": f"Bearer {visitor_token}"})
    assert status == 401  # a visitor token is not an agent token
    status, _ = await refused(f"{gateways.a.ws}/api/v1/widget/stream?token={agent.token}")
    assert status == 401  # and the other way round
    for query in ("?since=abc&epoch=x", "?since=5", "?since=-1&epoch=x"):
        status, body = await refused(base + query, additional_headers=agent.headers)
        assert (status, body["code"]) == (422, "invalid_input"), query


async def test_visitor_origin_must_be_an_allowed_domain(gateways, publisher, agent):
    async with open_stream(
        f"{gateways.a.ws}/api/v1/stream", additional_headers=agent.headers
    ) as ws:
        await recv(ws)
        await publisher.publish(
            "auth.settings.updated",
            agent.account_id,
            {"section": "general", "settings": {"allowed_domains": ["example.com"]}},
        )
        assert (await next_of(ws, "event"))["event"] == "auth.settings.updated"
    token = issue_visitor_token(uuid.uuid4(), agent.account_id)
    url = f"{gateways.b.ws}/api/v1/widget/stream?token={token}"
    status, body = await refused(url, origin="https://evil.test")
    assert (status, body["code"]) == (403, "origin_not_allowed")
    async with open_stream(url, origin="https://shop.example.com") as ws:
        assert (await recv(ws))["type"] == "hello"
    async with open_stream(url) as ws:  # no Origin: not a browser page
        assert (await recv(ws))["type"] == "hello"


async def test_typing_reaches_the_conversation_unsequenced(
    gateways, publisher, agent, redis, settings
):
    visitor, conversation = uuid.uuid4(), str(uuid.uuid4())
    token = issue_visitor_token(visitor, agent.account_id)
    agent_url = f"{gateways.a.ws}/api/v1/stream"
    visitor_url = f"{gateways.b.ws}/api/v1/widget/stream?token={token}"
    async with (
        open_stream(agent_url, additional_headers=agent.headers) as staff,
        open_stream(visitor_url) as widget,
    ):
        await recv(staff)
        await recv(widget)
        await publisher.publish(
            "chat.conversation.created",
            agent.account_id,
            {"conversation_id": conversation, "visitor_id": str(visitor), "status": "open"},
        )
        opened = await next_of(staff, "event")
        assert (await next_of(widget, "event"))["seq"] == opened["seq"]

        await staff.send(orjson.dumps({"type": "typing", "conversation_id": conversation}).decode())
        typing = await next_of(widget, "typing")
        assert typing["author_type"] == "agent" and typing["author_id"] == str(agent.agent_id)
        assert typing["conversation_id"] == conversation and "seq" not in typing

        await widget.send('{"type": "typing", "is_typing": false}')
        typing = await next_of(staff, "typing")
        assert typing["author_type"] == "visitor" and typing["visitor_id"] == str(visitor)
        assert typing["is_typing"] is False

        # The chat service's REST typing endpoint publishes on the same channel.
        await redis.publish(
            f"{settings.namespace}:typing:{agent.account_id}",
            orjson.dumps(
                {
                    "type": "typing",
                    "conversation_id": conversation,
                    "visitor_id": str(visitor),
                    "author_type": "agent",
                    "author_id": str(uuid.uuid4()),
                }
            ),
        )
        assert (await next_of(widget, "typing"))["author_type"] == "agent"

        await asyncio.sleep(0.35)  # typing hints are throttled per socket
        await staff.send(
            orjson.dumps({"type": "typing", "conversation_id": str(uuid.uuid4())}).decode()
        )
        assert (await next_of(staff, "error"))["code"] == "conversation_not_found"
        await staff.send('{"type": "ping"}')
        assert (await recv(staff)) == {"type": "pong"}
        await staff.send("not json")
        assert (await next_of(staff, "error"))["code"] == "bad_frame"
        # A visitor never sees its own typing, an agent never its own.
        await widget.send('{"type": "ping"}')
        assert (await recv(widget)) == {"type": "pong"}


async def test_client_that_cannot_keep_up_is_closed_with_4008(gateways, publisher, agent):
    """A client that stops reading is cut off at the send queue bound, not buffered forever."""
    total, pad = 900, "x" * 32_000
    reader, writer = await asyncio.open_connection("127.0.0.1", gateways.a.port)
    client = WSConnection(ConnectionType.CLIENT)
    writer.write(
        client.send(
            Request(
                host="127.0.0.1",
                target="/api/v1/stream",
                extra_headers=[(b"authorization", agent.headers["Authorization"].encode())],
            )
        )
    )
    events: list[Any] = []

    async def read_some() -> None:
        client.receive_data(await asyncio.wait_for(reader.read(1 << 20), 10))
        events.extend(client.events())

    while not any(isinstance(e, AcceptConnection) for e in events):
        await read_some()
    # Now the client stops reading while the account gets far more than the queue holds.
    await asyncio.gather(
        *(
            publisher.publish(
                MESSAGE,
                agent.account_id,
                {
                    "conversation_id": str(uuid.uuid4()),
                    "message_id": str(uuid.uuid4()),
                    "author_type": "agent",
                    "text": pad,
                    "n": n,
                },
            )
            for n in range(total)
        )
    )
    await asyncio.sleep(3)
    while not any(isinstance(e, CloseConnection) for e in events):
        await read_some()
    writer.close()
    [closed] = [e for e in events if isinstance(e, CloseConnection)]
    frames = [e for e in events if isinstance(e, TextMessage)]
    assert closed.code == 4008
    assert len(frames) < total
