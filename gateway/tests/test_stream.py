"""The stream end to end: RabbitMQ → sequencer → Redis → two gateway processes → websockets."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import orjson
import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from parley_common.security import issue_visitor_token
from parley_common.testing import make_agent

MESSAGE = "chat.message.created"


def open_stream(url: str, **kwargs: Any) -> Any:
    return connect(url, proxy=None, open_timeout=5, **kwargs)


def agent_stream(gateway: Any, agent: Any, query: str = "") -> Any:
    return open_stream(f"{gateway.ws}/api/v1/stream{query}", additional_headers=agent.headers)


async def recv(ws: ClientConnection, timeout: float = 5) -> dict[str, Any]:
    frame: dict[str, Any] = orjson.loads(await asyncio.wait_for(ws.recv(), timeout))
    return frame


async def recv_events(ws: ClientConnection, count: int, timeout: float = 15) -> list[dict]:
    """The next ``count`` event frames (unsequenced frames are skipped)."""
    out: list[dict] = []
    deadline = asyncio.get_running_loop().time() + timeout
    while len(out) < count:
        frame = await recv(ws, max(0.01, deadline - asyncio.get_running_loop().time()))
        if frame["type"] == "event":
            out.append(frame)
    return out


async def assert_silent(ws: ClientConnection, seconds: float = 0.5) -> None:
    with pytest.raises(TimeoutError):
        frame = await recv(ws, seconds)
        pytest.fail(f"unexpected frame {frame}")


def message(n: int, visitor_id: uuid.UUID | None = None, author: str = "agent") -> dict:
    return {
        "conversation_id": str(uuid.uuid4()),
        "message_id": str(uuid.uuid4()),
        "visitor_id": str(visitor_id or uuid.uuid4()),
        "author_type": author,
        "text": f"message {n}",
        "n": n,
    }


async def test_agent_receives_event_produced_while_connected(gateways, publisher, agent):
    async with agent_stream(gateways.a, agent) as ws:
        hello = await recv(ws)
        assert hello["type"] == "hello" and hello["epoch"]
        sent = await publisher.publish(MESSAGE, agent.account_id, message(1))
        [frame] = await recv_events(ws, 1)
    assert frame["seq"] == hello["seq"] + 1
    assert frame["epoch"] == hello["epoch"]
    assert frame["event"] == MESSAGE
    assert frame["account_id"] == str(agent.account_id)
    assert frame["id"] == str(sent.id)
    assert frame["data"]["text"] == "message 1"
    assert frame["occurred_at"]


async def test_resume_on_other_instance_gets_the_missed_events_once_in_order(
    gateways, publisher, agent
):
    async with agent_stream(gateways.a, agent) as ws:
        await recv(ws)
        await publisher.publish(MESSAGE, agent.account_id, message(-1))
        [last] = await recv_events(ws, 1)
    for n in range(100):
        await publisher.publish(MESSAGE, agent.account_id, message(n))
    query = f"?since={last['seq']}&epoch={last['epoch']}"
    async with agent_stream(gateways.b, agent, query) as ws:
        hello = await recv(ws)
        assert hello == {"type": "hello", "epoch": last["epoch"], "seq": last["seq"]}
        frames = await recv_events(ws, 100)
        await publisher.publish(MESSAGE, agent.account_id, message(100))
        [live] = await recv_events(ws, 1)
        await assert_silent(ws)
    assert [f["seq"] for f in frames] == list(range(last["seq"] + 1, last["seq"] + 101))
    assert [f["data"]["n"] for f in frames] == list(range(100))
    assert live["seq"] == last["seq"] + 101 and live["data"]["n"] == 100


async def test_bogus_epoch_or_future_seq_gets_reset(gateways, publisher, agent):
    async with agent_stream(gateways.a, agent) as ws:
        await recv(ws)
        await publisher.publish(MESSAGE, agent.account_id, message(1))
        [frame] = await recv_events(ws, 1)
    async with agent_stream(gateways.b, agent, "?since=0&epoch=bogus") as ws:
        reset = await recv(ws)
        assert reset == {"type": "reset", "epoch": frame["epoch"], "seq": frame["seq"]}
        # The stream goes on live after a reset.
        await publisher.publish(MESSAGE, agent.account_id, message(2))
        [live] = await recv_events(ws, 1)
        assert live["seq"] == frame["seq"] + 1
    future = f"?since={frame['seq'] + 50}&epoch={frame['epoch']}"
    async with agent_stream(gateways.a, agent, future) as ws:
        assert (await recv(ws))["type"] == "reset"


async def test_redelivered_event_is_sequenced_once(gateways, publisher, agent):
    async with agent_stream(gateways.a, agent) as ws:
        await recv(ws)
        event_id = uuid.uuid4()
        await publisher.publish(MESSAGE, agent.account_id, message(1), event_id=event_id)
        await publisher.publish(MESSAGE, agent.account_id, message(1), event_id=event_id)
        await publisher.publish(MESSAGE, agent.account_id, message(2))
        first, second = await recv_events(ws, 2)
    assert first["data"]["n"] == 1 and second["data"]["n"] == 2
    assert second["seq"] == first["seq"] + 1


async def test_other_account_receives_nothing(gateways, publisher, agent, other_account):
    async with (
        agent_stream(gateways.a, agent) as mine,
        agent_stream(gateways.b, other_account) as theirs,
    ):
        await recv(mine)
        await recv(theirs)
        await publisher.publish(MESSAGE, agent.account_id, message(1))
        await publisher.publish(
            "auth.agent.status_changed",
            agent.account_id,
            {"agent_id": str(agent.agent_id), "status": "online"},
        )
        await recv_events(mine, 2)
        await publisher.publish(MESSAGE, other_account.account_id, message(99))
        [only] = await recv_events(theirs, 1)
        await assert_silent(theirs)
    assert only["account_id"] == str(other_account.account_id) and only["data"]["n"] == 99


async def test_internal_events_are_not_streamed(gateways, publisher, agent):
    async with agent_stream(gateways.a, agent) as ws:
        await recv(ws)
        await publisher.publish(
            "auth.account.created",
            agent.account_id,
            {"name": "x", "widget_key": "k", "plan": "free"},
        )
        await publisher.publish(
            "bots.message.requested",
            agent.account_id,
            {"visitor_id": str(uuid.uuid4()), "text": "hi"},
        )
        await publisher.publish(MESSAGE, agent.account_id, message(7))
        [frame] = await recv_events(ws, 1)
    assert frame["event"] == MESSAGE


async def test_visitor_gets_its_replies_and_nothing_of_other_visitors(gateways, publisher, agent):
    visitor, other = uuid.uuid4(), uuid.uuid4()
    token = issue_visitor_token(visitor, agent.account_id)
    url = f"{gateways.b.ws}/api/v1/widget/stream?token={token}"
    async with open_stream(url) as ws:
        assert (await recv(ws))["type"] == "hello"
        await publisher.publish(MESSAGE, agent.account_id, message(1, other))
        await publisher.publish(
            "visitors.visitor.arrived", agent.account_id, {"visitor_id": str(visitor)}
        )  # agents only
        await publisher.publish(
            "chat.conversation.read",
            agent.account_id,
            {"conversation_id": str(uuid.uuid4()), "visitor_id": str(visitor)},
        )  # agents only
        await publisher.publish(MESSAGE, agent.account_id, message(2, visitor))
        await publisher.publish(
            "chat.conversation.resolved",
            agent.account_id,
            {
                "conversation_id": str(uuid.uuid4()),
                "visitor_id": str(visitor),
                "rating_requested": True,
            },
        )
        reply, resolved = await recv_events(ws, 2)
        await assert_silent(ws)
    assert reply["event"] == MESSAGE and reply["data"]["n"] == 2
    assert reply["data"]["visitor_id"] == str(visitor)
    assert resolved["event"] == "chat.conversation.resolved"
    assert resolved["seq"] > reply["seq"]


async def test_killing_a_gateway_mid_stream_loses_nothing(gateways, publisher, agent):
    total = 200
    received: list[dict] = []

    async def produce() -> None:
        for n in range(total):
            await publisher.publish(MESSAGE, agent.account_id, message(n))
            await asyncio.sleep(0.002)

    async with agent_stream(gateways.a, agent) as ws:
        hello = await recv(ws)
        producer = asyncio.create_task(produce())
        received += await recv_events(ws, 40)
        gateways.a.kill()
        with pytest.raises(ConnectionClosed):
            while True:
                frame = await recv(ws)
                if frame["type"] == "event":
                    received.append(frame)
    last = received[-1]
    async with agent_stream(gateways.b, agent, f"?since={last['seq']}&epoch={last['epoch']}") as ws:
        assert (await recv(ws))["type"] == "hello"
        await producer
        received += await recv_events(ws, total - len(received))
        await assert_silent(ws)
    assert [f["seq"] for f in received] == list(range(hello["seq"] + 1, hello["seq"] + total + 1))
    assert [f["data"]["n"] for f in received] == list(range(total))


async def test_revoked_session_socket_is_closed(gateways, publisher):
    agent = make_agent()
    colleague = make_agent(account_id=agent.account_id)
    async with agent_stream(gateways.a, agent) as ws, agent_stream(gateways.b, colleague) as other:
        await recv(ws)
        await recv(other)
        await publisher.publish(
            "auth.session.revoked",
            agent.account_id,
            {"session_id": str(agent.principal.session_id), "agent_id": str(agent.agent_id)},
        )
        with pytest.raises(ConnectionClosed) as closed:
            await recv(ws)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 4001
        # Only that session's sockets close.
        await publisher.publish(MESSAGE, agent.account_id, message(1))
        assert (await recv_events(other, 1))[0]["data"]["n"] == 1
    with pytest.raises(Exception) as denied:
        async with agent_stream(gateways.b, agent):
            pass
    assert denied.value.response.status_code == 401  # type: ignore[attr-defined]
    assert orjson.loads(denied.value.response.body)["code"] == "session_revoked"  # type: ignore[attr-defined]


async def test_removed_agent_socket_is_closed_after_the_event(gateways, publisher):
    agent = make_agent()
    async with agent_stream(gateways.b, agent) as ws:
        await recv(ws)
        await publisher.publish(
            "auth.agent.removed", agent.account_id, {"agent_id": str(agent.agent_id)}
        )
        [removed] = await recv_events(ws, 1)
        assert removed["event"] == "auth.agent.removed"
        with pytest.raises(ConnectionClosed) as closed:
            await recv(ws)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4001
