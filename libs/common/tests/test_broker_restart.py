"""Nothing is lost when the broker drops our connection: what the process could not publish
the relay sends once the connection is back, consumers return."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta

from parley_auth.events import outbox as auth_outbox
from parley_chat.events import outbox as chat_outbox
from parley_common.db import create_session_factory
from parley_common.events import broker as broker_mod
from parley_common.events import publisher as publisher_mod
from parley_common.events.consumer import BatchingHandler, Consumer
from parley_common.events.envelope import Event
from parley_common.events.outbox import OutboxRelay
from parley_common.events.publisher import OutboxPublisher
from parley_common.testing import close_connections, eventually


async def emit(engine, account_id: uuid.UUID) -> Event:
    async with create_session_factory(engine)() as session:
        event = await auth_outbox.emit(
            session,
            "auth.account.created",
            account_id,
            {"name": "Shop", "widget_key": uuid.uuid4().hex, "plan": "free"},
        )
        await session.commit()
    return event


async def test_relay_and_consumer_survive_a_dropped_connection(
    engine, settings, monkeypatch
) -> None:
    name = f"restart-test-{uuid.uuid4().hex[:8]}"
    connection = await broker_mod.connect(settings.rabbitmq_url, name=name)
    handled: list[Event] = []

    async def on_account_created(session, event: Event) -> None:
        handled.append(event)

    channel = await connection.channel(publisher_confirms=True)
    exchange = await broker_mod.declare_exchanges(channel, settings.namespace)
    # The process publishes on this connection, as a worker does (``open_publisher``).
    publisher = OutboxPublisher(connection, channel, exchange, settings.database_url)
    monkeypatch.setattr(publisher_mod, "_publisher", publisher)
    relay = OutboxRelay(
        auth_outbox, engine, exchange, settings.database_url, grace=timedelta(seconds=1)
    )
    relay_task = asyncio.create_task(relay.run())
    consumer_channel = await connection.channel()
    queue_name = f"{settings.namespace}.chat.{name}"
    queue = await broker_mod.declare_queue(
        consumer_channel, settings.namespace, queue_name, ["auth.account.created"]
    )
    handler = BatchingHandler(
        create_session_factory(engine),
        chat_outbox.processed,
        queue_name,
        Consumer("restart", {"auth.account.created": on_account_created}),
    )
    await queue.consume(handler)
    try:
        first = await emit(engine, uuid.uuid4())
        await eventually(lambda: any(e.id == first.id for e in handled))

        assert close_connections(name) >= 1
        # Events written while the connection is down are published once it is back.
        during = [await emit(engine, uuid.uuid4()) for _ in range(5)]
        await eventually(lambda: {e.id for e in during} <= {e.id for e in handled}, timeout=30)
        assert len([e for e in handled if e.id in {d.id for d in during}]) == 5
    finally:
        await handler.aclose()
        await publisher.aclose()
        relay_task.cancel()
        await asyncio.gather(relay_task, return_exceptions=True)
        await queue.delete(if_unused=False, if_empty=False)
        await connection.close()
