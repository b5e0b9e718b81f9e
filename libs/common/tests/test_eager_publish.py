"""Eager publishing: the committing process publishes its events; the relay is the safety net."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from datetime import timedelta
from typing import Any

import orjson
import pytest
from prometheus_client import REGISTRY
from sqlalchemy import select

from parley_auth.events import outbox as auth_outbox
from parley_common.db import create_session_factory
from parley_common.events import broker as broker_mod
from parley_common.events import publisher as publisher_mod
from parley_common.events.envelope import Event
from parley_common.events.outbox import OutboxRelay
from parley_common.events.publisher import OutboxPublisher, open_publisher
from parley_common.testing import eventually


@pytest.fixture
async def received(broker, settings) -> AsyncIterator[list[dict[str, Any]]]:
    """Every auth.account.created on the broker, in the order it arrived."""
    bodies: list[dict[str, Any]] = []
    channel = await broker.channel()
    exchange = await broker_mod.declare_exchanges(channel, settings.namespace)
    queue = await channel.declare_queue(exclusive=True)
    await queue.bind(exchange, "auth.account.created")

    async def on_message(message: Any) -> None:
        bodies.append(orjson.loads(message.body))
        await message.ack()

    await queue.consume(on_message)
    yield bodies
    await channel.close()


async def emit(engine: Any, *, count: int = 1) -> list[Event]:
    """``count`` events committed in one session."""
    async with create_session_factory(engine)() as session:
        events = [
            await auth_outbox.emit(
                session,
                "auth.account.created",
                uuid.uuid4(),
                {"name": "Shop", "widget_key": uuid.uuid4().hex, "plan": "free"},
            )
            for _ in range(count)
        ]
        await session.commit()
    return events


async def published_at(engine: Any, events: list[Event]) -> list[Any]:
    table = auth_outbox.table
    async with engine.connect() as conn:
        rows = await conn.execute(
            select(table.c.published_at).where(table.c.id.in_([e.id for e in events]))
        )
        return [row[0] for row in rows]


def delivered(bodies: list[dict[str, Any]], events: list[Event]) -> list[str]:
    ids = {str(e.id) for e in events}
    return [b["id"] for b in bodies if b["id"] in ids]


async def test_committed_events_are_published_in_order_without_a_relay(engine, settings, received):
    async with AsyncExitStack() as stack:
        await open_publisher(
            stack, settings.rabbitmq_url, settings.namespace, settings.database_url
        )
        events = await emit(engine, count=3)
        events += [e for _ in range(5) for e in await emit(engine)]
        want = [str(e.id) for e in events]
        await eventually(lambda: len(delivered(received, events)) == len(events))
        assert delivered(received, events) == want  # in commit and emit order, each once
        body = next(b for b in received if b["id"] == want[0])
        assert body["data"]["name"] == "Shop"
        await eventually(lambda: _all_marked(engine, events))


async def _all_marked(engine: Any, events: list[Event]) -> bool:
    return all(at is not None for at in await published_at(engine, events))


async def test_a_rolled_back_session_publishes_nothing(engine, settings, received):
    async with AsyncExitStack() as stack:
        await open_publisher(
            stack, settings.rabbitmq_url, settings.namespace, settings.database_url
        )
        async with create_session_factory(engine)() as session:
            dropped = await auth_outbox.emit(
                session,
                "auth.account.created",
                uuid.uuid4(),
                {"name": "Gone", "widget_key": "k", "plan": "free"},
            )
            await session.rollback()
        marker = await emit(engine)
        await eventually(lambda: delivered(received, marker))
        assert not delivered(received, [dropped])


async def test_marks_are_written_in_batches(engine, settings, received, monkeypatch):
    # A wide window, so that the five commits surely fall into one.
    monkeypatch.setattr(publisher_mod, "MARK_INTERVAL", 2.0)
    async with AsyncExitStack() as stack:
        await open_publisher(
            stack, settings.rabbitmq_url, settings.namespace, settings.database_url
        )
        events = [e for _ in range(5) for e in await emit(engine)]
        await eventually(lambda: len(delivered(received, events)) == 5)
        assert await published_at(engine, events) == [None] * 5  # published, not marked yet
        await eventually(lambda: _all_marked(engine, events))
        # One UPDATE marked the five rows: now() is that statement's transaction's time.
        assert len(set(await published_at(engine, events))) == 1


async def test_a_new_process_publishes_what_a_killed_one_left_before_its_own_events(
    engine, settings, received
):
    """A process killed between commit and publish left its event unpublished (no publisher
    here: nothing published); the next process's first event must not overtake it, and it
    must not wait for the relay (none runs here)."""
    assert publisher_mod._publisher is None
    left = await emit(engine)
    async with AsyncExitStack() as stack:
        await open_publisher(
            stack, settings.rabbitmq_url, settings.namespace, settings.database_url
        )
        newer = await emit(engine)
        events = left + newer
        await eventually(lambda: len(delivered(received, events)) == 2)
        assert delivered(received, events) == [str(e.id) for e in events]
        await eventually(lambda: _all_marked(engine, events))


async def test_what_the_process_did_not_publish_the_relay_sends_after_the_grace(
    engine, broker, settings, received
):
    """The process died between commit and publish (no publisher: nothing published)."""
    assert publisher_mod._publisher is None
    channel = await broker.channel(publisher_confirms=True)
    exchange = await broker_mod.declare_exchanges(channel, settings.namespace)
    relay = OutboxRelay(
        auth_outbox, engine, exchange, settings.database_url, grace=timedelta(seconds=2)
    )
    events = await emit(engine)
    task = asyncio.create_task(relay.run())  # its first poll finds the row too young to send
    try:
        await eventually(lambda: delivered(received, events), timeout=15)
        # The relay marks once the broker confirmed: that can come after the delivery.
        await eventually(lambda: _all_marked(engine, events))
        (at,) = await published_at(engine, events)
        async with engine.connect() as conn:
            created = await conn.scalar(
                select(auth_outbox.table.c.created_at).where(auth_outbox.table.c.id == events[0].id)
            )
        assert at - created >= timedelta(seconds=2)
        assert delivered(received, events) == [str(events[0].id)]
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await channel.close()


async def emit_and_fail(
    engine, broker, settings, monkeypatch
) -> tuple[OutboxPublisher, list[Event]]:
    """An event whose eager publish the broker refused (the publisher's channel is gone)."""
    broken = await broker.channel(publisher_confirms=True)
    broken_exchange = await broker_mod.declare_exchanges(broken, settings.namespace)
    await broken.close()
    publisher = OutboxPublisher(broker, broken, broken_exchange, settings.database_url)
    monkeypatch.setattr(publisher_mod, "_publisher", publisher)
    failed = ("parley_events_publish_failed_total", {"type": "auth.account.created"})
    before = REGISTRY.get_sample_value(*failed) or 0
    events = await emit(engine)
    await eventually(lambda: (REGISTRY.get_sample_value(*failed) or 0) > before)
    return publisher, events


async def test_a_failed_eager_publish_is_left_to_the_relay(
    engine, broker, settings, received, monkeypatch
):
    """The broker refuses the publish (here: the publisher's channel is gone): the request's
    commit stands, the row stays unmarked, and the relay sends it once the grace is over."""
    publisher, events = await emit_and_fail(engine, broker, settings, monkeypatch)
    await publisher.aclose()
    assert await published_at(engine, events) == [None]
    # Had the publisher marked it, the relay would not send it and this would time out.

    channel = await broker.channel(publisher_confirms=True)
    exchange = await broker_mod.declare_exchanges(channel, settings.namespace)
    relay = OutboxRelay(
        auth_outbox, engine, exchange, settings.database_url, grace=timedelta(seconds=1)
    )
    task = asyncio.create_task(relay.run())
    try:
        await eventually(lambda: delivered(received, events), timeout=15)
        await eventually(lambda: _all_marked(engine, events))
        assert delivered(received, events) == [str(events[0].id)]
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await channel.close()


async def test_after_a_failed_publish_nothing_newer_overtakes_it(
    engine, broker, settings, received, monkeypatch
):
    """The broker refused A (an outage); it comes back before B and C commit. B and C are held
    until the relay sent A, so every consumer still sees A, B, C in that order."""
    monkeypatch.setattr(publisher_mod, "RESUME_POLL", 0.1)
    publisher, first = await emit_and_fail(engine, broker, settings, monkeypatch)

    channel = await broker.channel(publisher_confirms=True)
    publisher.exchange = await broker_mod.declare_exchanges(channel, settings.namespace)
    later = await emit(engine, count=2)  # the broker is back: these would go out at once
    events = first + later
    relay = OutboxRelay(
        auth_outbox, engine, publisher.exchange, settings.database_url, grace=timedelta(seconds=1)
    )
    task = asyncio.create_task(relay.run())
    try:
        await eventually(lambda: len(set(delivered(received, events))) == 3, timeout=15)
        arrived = list(dict.fromkeys(delivered(received, events)))  # a repeat is dropped
        assert arrived == [str(e.id) for e in events]
        await eventually(lambda: _all_marked(engine, events))
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await publisher.aclose()
        await channel.close()
