"""Pushes end to end inside notify: event handler → push row → APNs double over HTTP/2 + TLS."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime, timedelta

from prometheus_client import REGISTRY
from sqlalchemy import select

from parley_common.testing import eventually, make_agent
from parley_notify.models import Device

from .conftest import KEY_ID, TEAM_ID, deliveries_for, pushes_for, register


def message(
    conversation_id: uuid.UUID, text: str = "Hello, is anyone there?", **extra: object
) -> dict[str, object]:
    return {
        "conversation_id": conversation_id,
        "message_id": uuid.uuid4(),
        "visitor_id": extra.pop("visitor_id", uuid.uuid4()),
        "author_type": "visitor",
        "text": text,
        "channel": "chat",
        **extra,
    }


async def test_visitor_message_push_has_everything_the_app_needs(
    api, agent, feed, apns, notify_worker, sessions
):
    token = await register(api, agent, bundle_id="com.example.parley")
    sent_before = REGISTRY.get_sample_value("parley_push_outcomes_total", {"outcome": "sent"})
    visitor = uuid.uuid4()
    await feed(
        "visitors.visitor.arrived",
        agent.account_id,
        {"visitor_id": visitor, "name": "Vera Visitor"},
    )
    before = len(apns.received)
    conversation = uuid.uuid4()
    long_text = "word " * 100
    await feed(
        "chat.conversation.created",
        agent.account_id,
        {"conversation_id": conversation, "visitor_id": visitor, "status": "open"},
    )
    await feed(
        "chat.message.created",
        agent.account_id,
        message(conversation, long_text, visitor_id=visitor),
    )

    push = (
        await eventually(
            lambda: [p for p in apns.for_token(token) if p.payload.get("type") == "new_message"]
        )
    )[0]
    assert len(apns.received) >= before + 1
    assert push.alpn == "h2"
    aps = push.payload["aps"]
    assert aps["alert"]["title"] == "Vera Visitor"
    assert aps["alert"]["body"].startswith("word word")
    assert aps["alert"]["body"].endswith("…") and len(aps["alert"]["body"]) <= 178
    assert aps["badge"] == 1
    assert aps["sound"] == "default"
    assert aps["thread-id"] == str(conversation)
    assert aps["mutable-content"] == 1
    assert push.payload["account_id"] == str(agent.account_id)
    assert push.payload["conversation_id"] == str(conversation)
    headers = push.headers
    assert headers[":path"] == f"/3/device/{token}"
    assert headers["apns-topic"] == "com.example.parley"
    assert headers["apns-push-type"] == "alert"
    assert headers["apns-priority"] == "10"
    assert int(headers["apns-expiration"]) > time.time()
    apns.verify_authorization(push, team_id=TEAM_ID, key_id=KEY_ID)

    rows = await eventually(lambda: _sent(sessions, token, "new_message"))
    deliveries = await deliveries_for(sessions, rows[0].id)
    assert [(d.status, d.apns_id) for d in deliveries] == [(200, headers["apns-id"])]
    sent_now = REGISTRY.get_sample_value("parley_push_outcomes_total", {"outcome": "sent"})
    assert sent_now >= (sent_before or 0) + 1


async def _sent(sessions, token, kind):
    return [p for p in await pushes_for(sessions, token) if p.kind == kind and p.status == "sent"]


async def test_badge_counts_unread_conversations_and_sound_follows_settings(
    api, agent, feed, apns, notify_worker
):
    token = await register(api, agent)
    await api.patch(
        "/api/v1/me/notification-settings", headers=agent.headers, json={"sound": False}
    )

    async def badge_after(data: dict[str, object]) -> int:
        count = len(apns.for_token(token))
        await feed("chat.message.created", agent.account_id, data)
        got = await eventually(lambda: len(apns.for_token(token)) > count and apns.for_token(token))
        assert "sound" not in got[-1].payload["aps"]
        return int(got[-1].payload["aps"]["badge"])

    first, second, third = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    assert await badge_after(message(first)) == 1
    await feed(
        "chat.conversation.read",
        agent.account_id,
        {"conversation_id": first, "agent_id": agent.agent_id},
    )
    assert await badge_after(message(second)) == 1
    assert await badge_after(message(first, "again")) == 2
    # Read again, and the other one resolved: only the new conversation is unread.
    await feed(
        "chat.conversation.read",
        agent.account_id,
        {"conversation_id": first, "agent_id": agent.agent_id},
    )
    await feed("chat.conversation.resolved", agent.account_id, {"conversation_id": second})
    assert await badge_after(message(third)) == 1
    # Marked unread counts even without a new visitor message.
    await feed(
        "chat.conversation.read",
        agent.account_id,
        {"conversation_id": first, "agent_id": agent.agent_id, "unread": True},
    )
    assert await badge_after(message(third, "more")) == 2
    # An agent's reply reads the conversation for that agent.
    await feed(
        "chat.message.created",
        agent.account_id,
        {**message(third, "On it"), "author_type": "agent", "author_id": agent.agent_id},
    )
    assert await badge_after(message(uuid.uuid4())) == 2


async def test_assigned_conversation_pushes_only_the_assignee(
    api, agent, feed, apns, notify_worker, sessions
):
    colleague = make_agent("agent", agent.account_id)
    mine, theirs = await register(api, agent), await register(api, colleague)
    conversation = uuid.uuid4()
    await feed(
        "chat.conversation.assigned",
        agent.account_id,
        {
            "conversation_id": conversation,
            "assignee_id": colleague.agent_id,
            "agent_id": agent.agent_id,
        },
    )
    assigned = await eventually(lambda: apns.for_token(theirs))
    assert assigned[0].payload["type"] == "assigned"
    await feed("chat.message.created", agent.account_id, message(conversation))
    await eventually(lambda: len(apns.for_token(theirs)) == 2)
    # Self-assignment and the colleague's conversation reach nobody else.
    await feed(
        "chat.conversation.assigned",
        agent.account_id,
        {
            "conversation_id": uuid.uuid4(),
            "assignee_id": agent.agent_id,
            "agent_id": agent.agent_id,
        },
    )
    await eventually(lambda: _all_settled(sessions, agent.account_id))
    assert apns.for_token(mine) == []


async def _all_settled(sessions, account_id):
    from parley_notify.models import Push

    async with sessions() as session:
        statuses = list(
            await session.scalars(select(Push.status).where(Push.account_id == account_id))
        )
    return statuses and all(s in ("sent", "failed", "rejected") for s in statuses)


async def test_unassigned_message_reaches_every_agent_but_not_offline_ones_without_opt_in(
    api, agent, feed, apns, notify_worker, sessions
):
    online = make_agent("agent", agent.account_id)
    offline_opted_in = make_agent("agent", agent.account_id)
    offline_quiet = make_agent("agent", agent.account_id)
    no_messages = make_agent("agent", agent.account_id)
    tokens = {
        a.agent_id: await register(api, a)
        for a in (agent, online, offline_opted_in, offline_quiet, no_messages)
    }
    await api.patch(
        "/api/v1/me/notification-settings",
        headers=offline_quiet.headers,
        json={"offline_notifications": False},
    )
    await api.patch(
        "/api/v1/me/notification-settings", headers=no_messages.headers, json={"new_message": False}
    )
    for who in (offline_opted_in, offline_quiet):
        await feed(
            "auth.agent.status_changed",
            agent.account_id,
            {"agent_id": who.agent_id, "status": "offline"},
        )
    await feed("chat.message.created", agent.account_id, message(uuid.uuid4()))
    await eventually(lambda: _all_settled(sessions, agent.account_id))
    pushed = {a for a, t in tokens.items() if apns.for_token(t)}
    assert pushed == {agent.agent_id, online.agent_id, offline_opted_in.agent_id}


async def test_an_older_status_handled_later_does_not_silence_an_online_agent(
    api, agent, feed, apns, notify_worker, sessions
):
    """Consumer batches run concurrently: signup's agent.created ("offline") can be handled
    after the agent's first status change ("online"). It must not undo it, or an agent who
    does not want pushes while offline gets none while online either."""
    newcomer = make_agent("agent", agent.account_id)
    token = await register(api, newcomer)
    await api.patch(
        "/api/v1/me/notification-settings",
        headers=newcomer.headers,
        json={"offline_notifications": False},
    )
    now = datetime.now(UTC)
    await feed(
        "auth.agent.status_changed",
        agent.account_id,
        {"agent_id": newcomer.agent_id, "status": "online"},
        occurred_at=now,
    )
    await feed(
        "auth.agent.created",
        agent.account_id,
        {"agent_id": newcomer.agent_id, "status": "offline", "name": "New"},
        occurred_at=now - timedelta(seconds=1),
    )
    await feed("chat.message.created", agent.account_id, message(uuid.uuid4()))
    await eventually(lambda: apns.for_token(token))


async def test_redelivered_event_pushes_each_device_once(
    api, agent, feed, apns, notify_worker, sessions
):
    phone, tablet = await register(api, agent), await register(api, agent)
    event = await feed("chat.message.created", agent.account_id, message(uuid.uuid4()))
    # The handler runs again for the same event (as after a crash before the ack).
    await feed(event=event)
    await eventually(lambda: _all_settled(sessions, agent.account_id))
    assert len(apns.for_token(phone)) == 1 and len(apns.for_token(tablet)) == 1
    assert len(await pushes_for(sessions, phone)) == 1


async def test_event_through_rabbitmq_once_even_when_published_twice(
    api, agent, apns, notify_worker, broker, settings, sessions
):
    import aio_pika
    import orjson

    from parley_common.events import broker as broker_mod
    from parley_common.events.catalogue import routing_key
    from parley_common.events.envelope import Event

    token = await register(api, agent)
    event = Event(
        type="chat.message.created",
        account_id=agent.account_id,
        data={
            k: str(v) if isinstance(v, uuid.UUID) else v for k, v in message(uuid.uuid4()).items()
        },
    )
    channel = await broker.channel()
    exchange = await broker_mod.declare_exchanges(channel, settings.namespace)
    for _ in range(2):
        await exchange.publish(
            aio_pika.Message(orjson.dumps(event.model_dump(mode="json"))),
            routing_key=routing_key(event.model_dump(mode="json")),
        )
    await eventually(lambda: apns.for_token(token))
    await eventually(lambda: _all_settled(sessions, agent.account_id))
    assert len(apns.for_token(token)) == 1
    await channel.close()


async def test_session_revoked_and_agent_removed_drop_devices(api, agent, feed, sessions):
    colleague = make_agent("agent", agent.account_id)
    mine = await register(api, agent)
    theirs = await register(api, colleague)
    await feed(
        "auth.session.revoked",
        agent.account_id,
        {"session_id": uuid.uuid4(), "agent_id": agent.agent_id},
    )
    assert await _device_tokens(sessions, agent.account_id) == {mine, theirs}
    await feed(
        "auth.session.revoked",
        agent.account_id,
        {"session_id": agent.principal.session_id, "agent_id": agent.agent_id},
    )
    assert await _device_tokens(sessions, agent.account_id) == {theirs}
    await feed("auth.agent.removed", agent.account_id, {"agent_id": colleague.agent_id})
    assert await _device_tokens(sessions, agent.account_id) == set()


async def _device_tokens(sessions, account_id):
    async with sessions() as session:
        return set(
            await session.scalars(select(Device.token).where(Device.account_id == account_id))
        )
