"""Every frame the stream sends (and every frame a client may send) is what /asyncapi.json says:
real frames from real sockets, validated against the served document."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import httpx
import jsonschema
import orjson
from websockets.asyncio.client import connect

from parley_common.security import issue_visitor_token


def open_stream(url: str, **kwargs: Any) -> Any:
    return connect(url, proxy=None, open_timeout=5, **kwargs)


async def recv(ws: Any) -> dict[str, Any]:
    frame: dict[str, Any] = orjson.loads(await asyncio.wait_for(ws.recv(), 5))
    return frame


class Protocol:
    def __init__(self, document: dict[str, Any]) -> None:
        self.document = document
        self.checked: set[str] = set()

    def message(self, frame: dict[str, Any], sent_by_client: bool = False) -> str:
        if frame["type"] == "event":
            return "event_" + frame["event"].replace(".", "_")
        if sent_by_client and frame["type"] == "typing":
            return "clientTyping"
        return str(frame["type"])

    def check(self, frame: dict[str, Any], channel: str, sent_by_client: bool = False) -> None:
        name = self.message(frame, sent_by_client)
        assert name in self.document["channels"][channel]["messages"], (channel, name)
        payload = self.document["components"]["messages"][name]["payload"]
        schema = {**payload, "components": self.document["components"]}
        jsonschema.Draft202012Validator(schema).validate(frame)
        # Nothing undocumented either (the schemas let clients ignore fields added later).
        model = "EventFrame" if frame["type"] == "event" and not sent_by_client else None
        model = model or payload["$ref"].rsplit("/", 1)[-1]
        documented = self.document["components"]["schemas"][model]["properties"]
        assert set(frame) <= set(documented), (name, set(frame) - set(documented))
        self.checked.add(name)


async def exchange(ws: Any, protocol: Protocol, channel: str, frame: dict[str, Any]) -> None:
    protocol.check(frame, channel, sent_by_client=True)
    await ws.send(orjson.dumps(frame).decode())


async def next_checked(ws: Any, protocol: Protocol, channel: str, kind: str) -> dict[str, Any]:
    """The next frame of ``kind``; every frame on the way is checked too."""
    while True:
        frame = await recv(ws)
        protocol.check(frame, channel)
        if frame["type"] == kind:
            return frame


async def test_frames_sent_and_accepted_are_the_documented_ones(gateways, publisher, agent):
    async with httpx.AsyncClient() as client:
        document = (await client.get(gateways.a.url + "/asyncapi.json")).json()
    protocol = Protocol(document)
    visitor, conversation = uuid.uuid4(), uuid.uuid4()
    token = issue_visitor_token(visitor, agent.account_id)
    agent_url = f"{gateways.a.ws}/api/v1/stream"
    visitor_url = f"{gateways.b.ws}/api/v1/widget/stream?token={token}"
    async with (
        open_stream(agent_url, additional_headers=agent.headers) as staff,
        open_stream(visitor_url) as widget,
    ):
        hello = await next_checked(staff, protocol, "agentStream", "hello")
        await next_checked(widget, protocol, "visitorStream", "hello")
        ids = {"conversation_id": str(conversation), "visitor_id": str(visitor)}
        await publisher.publish("chat.conversation.created", agent.account_id, {**ids})
        await publisher.publish(
            "chat.message.created",
            agent.account_id,
            {**ids, "message_id": str(uuid.uuid4()), "author_type": "visitor", "text": "Hi"},
        )
        await publisher.publish(
            "visitors.visitor.left", agent.account_id, {"visitor_id": ids["visitor_id"]}
        )
        for _ in range(3):
            await next_checked(staff, protocol, "agentStream", "event")
        for _ in range(2):
            await next_checked(widget, protocol, "visitorStream", "event")

        await exchange(
            staff,
            protocol,
            "agentStream",
            {"type": "typing", **{"conversation_id": ids["conversation_id"]}},
        )
        await next_checked(widget, protocol, "visitorStream", "typing")
        await exchange(widget, protocol, "visitorStream", {"type": "typing", "is_typing": False})
        await next_checked(staff, protocol, "agentStream", "typing")
        await exchange(staff, protocol, "agentStream", {"type": "ping"})
        await next_checked(staff, protocol, "agentStream", "pong")
        await staff.send('{"type": "wave"}')
        error = await next_checked(staff, protocol, "agentStream", "error")
        assert error["code"] == "unknown_frame"

    resume = f"?since={hello['seq'] + 1000}&epoch={hello['epoch']}"
    async with open_stream(agent_url + resume, additional_headers=agent.headers) as late:
        await next_checked(late, protocol, "agentStream", "reset")
    assert protocol.checked >= {
        "hello",
        "reset",
        "typing",
        "clientTyping",
        "ping",
        "pong",
        "error",
        "event_chat_conversation_created",
        "event_chat_message_created",
        "event_visitors_visitor_left",
    }
