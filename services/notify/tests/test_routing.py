"""Which visitor messages reach the notify worker through RabbitMQ: a follow-up to the
visitor's own message only for an account with a push device (it may push); the first word
after someone else's always (the conversation starts awaiting a reply). And which events reach
the webhooks queue: only the types some enabled webhook subscribes to."""

from __future__ import annotations

import uuid

import aio_pika
import orjson
from sqlalchemy import select

from parley_common.events import broker as broker_mod
from parley_common.events.catalogue import routing_key
from parley_common.events.envelope import Event
from parley_common.testing import eventually
from parley_notify.config import get_notify_settings
from parley_notify.events import outbox

from .conftest import register
from .test_push import _all_settled, message


async def _publish(broker, settings, event: Event) -> None:
    body = event.model_dump(mode="json")
    channel = await broker.channel()
    try:
        exchange = await broker_mod.declare_exchanges(channel, settings.namespace)
        await exchange.publish(
            aio_pika.Message(orjson.dumps(body), message_id=str(event.id)),
            routing_key=routing_key(body),
        )
    finally:
        await channel.close()


async def _handled(sessions, events: list[Event]) -> set[uuid.UUID]:
    async with sessions() as session:
        ids = await session.scalars(
            select(outbox.processed.c.event_id).where(
                outbox.processed.c.event_id.in_([e.id for e in events])
            )
        )
        return set(ids)


async def test_follow_ups_reach_notify_only_for_accounts_with_a_device(
    api, agent, apns, notify_worker, broker, settings, sessions
) -> None:
    conversation_id, visitor_id = uuid.uuid4(), uuid.uuid4()

    def visitor_message(previous: str | None) -> Event:
        data = message(conversation_id, visitor_id=visitor_id, previous_author_type=previous)
        data = {k: str(v) if isinstance(v, uuid.UUID) else v for k, v in data.items()}
        return Event(type="chat.message.created", account_id=agent.account_id, data=data)

    first, follow_up, after_agent = (
        visitor_message(None),
        visitor_message("visitor"),
        visitor_message("agent"),
    )
    for event in (first, follow_up, after_agent):
        await _publish(broker, settings, event)
    # The last one is handled; the follow-up in between never came (nothing to do without
    # a device: the conversation already awaited a reply).
    await eventually(lambda: _handled(sessions, [after_agent]))
    assert await _handled(sessions, [first, follow_up, after_agent]) == {first.id, after_agent.id}

    token = await register(api, agent)  # now a follow-up may push
    pushed = visitor_message("visitor")
    await _publish(broker, settings, pushed)
    await eventually(lambda: _handled(sessions, [pushed]))
    await eventually(lambda: apns.for_token(token))
    await eventually(lambda: _all_settled(sessions, agent.account_id))
    assert follow_up.id not in await _handled(sessions, [follow_up])


async def _handled_by_webhooks(sessions, settings, events: list[Event]) -> set[uuid.UUID]:
    consumer = broker_mod.queue_name(settings.namespace, "notify", "webhooks")
    async with sessions() as session:
        ids = await session.scalars(
            select(outbox.processed.c.event_id).where(
                outbox.processed.c.consumer == consumer,
                outbox.processed.c.event_id.in_([e.id for e in events]),
            )
        )
        return set(ids)


async def test_the_webhooks_queue_takes_only_subscribed_event_types(
    api, agent, other_account, notify_worker, broker, settings, sessions, monkeypatch
) -> None:
    """An event type no enabled webhook subscribes to never reaches the webhooks queue (it
    used to take every event of every account); changing or deleting webhooks rebinds at once,
    and a type stays bound while another account's webhook still wants it."""
    monkeypatch.setenv("PARLEY_WEBHOOKS_ALLOW_PRIVATE", "true")
    get_notify_settings.cache_clear()
    left, blocked = "visitors.visitor.left", "visitors.visitor.blocked"

    async def publish(kind: str) -> Event:
        event = Event(
            type=kind, account_id=agent.account_id, data={"visitor_id": str(uuid.uuid4())}
        )
        await _publish(broker, settings, event)
        return event

    async def subscribe(who, events: list[str]) -> str:
        resp = await api.post(
            "/api/v1/webhooks",
            headers=who.headers,
            json={"url": "http://127.0.0.1:9/hook", "events": events},
        )
        assert resp.status_code == 201, resp.text
        return str(resp.json()["id"])

    async def only_second_handled(unwanted: str, wanted: str) -> None:
        first, second = await publish(unwanted), await publish(wanted)
        await eventually(lambda: _handled_by_webhooks(sessions, settings, [second]))
        assert await _handled_by_webhooks(sessions, settings, [first, second]) == {second.id}

    try:
        hook = await subscribe(agent, [left])
        await only_second_handled(blocked, left)

        changed = await api.patch(
            f"/api/v1/webhooks/{hook}", headers=agent.headers, json={"events": [blocked]}
        )
        assert changed.status_code == 200, changed.text
        await only_second_handled(left, blocked)

        # Another account wants `blocked` too: deleting this account's webhook keeps it bound.
        await subscribe(other_account, [blocked])
        await subscribe(agent, [left])  # the wanted type of the last check
        deleted = await api.delete(f"/api/v1/webhooks/{hook}", headers=agent.headers)
        assert deleted.status_code == 204
        kept = await publish(blocked)
        await eventually(lambda: _handled_by_webhooks(sessions, settings, [kept]))

        listed = await api.get("/api/v1/webhooks", headers=other_account.headers)
        [theirs] = listed.json()["items"]
        off = await api.patch(
            f"/api/v1/webhooks/{theirs['id']}",
            headers=other_account.headers,
            json={"enabled": False},
        )
        assert off.status_code == 200, off.text
        await only_second_handled(blocked, left)
    finally:
        get_notify_settings.cache_clear()
