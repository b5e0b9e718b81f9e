"""The outbox → RabbitMQ → consumer chain, against the real broker and database."""

from __future__ import annotations

import asyncio
import uuid
from contextlib import AsyncExitStack
from datetime import UTC, datetime, timedelta

import aio_pika
import pytest
from prometheus_client import REGISTRY
from sqlalchemy import func, select

from parley_auth.events import outbox as auth_outbox
from parley_chat.events import outbox as chat_outbox
from parley_common.db import create_session_factory
from parley_common.events import broker as broker_mod
from parley_common.events import consumer as consumer_mod
from parley_common.events.consumer import BatchingHandler, Consumer
from parley_common.events.envelope import Event
from parley_common.events.outbox import OutboxRelay, tombstone
from parley_common.events.publisher import open_publisher, publish
from parley_common.testing import eventually


@pytest.fixture
async def chain(engine, broker, settings):
    """auth's events published as a worker publishes them (eagerly, the relay behind), and a
    consumer in chat's schema recording what it handled."""
    handled: list[Event] = []

    async def on_account_created(session, event: Event) -> None:
        handled.append(event)

    async with AsyncExitStack() as stack:
        _, channel, exchange = await open_publisher(
            stack, settings.rabbitmq_url, settings.namespace, settings.database_url
        )
        relay = OutboxRelay(auth_outbox, engine, exchange, settings.database_url)
        relay_task = asyncio.create_task(relay.run())
        name = f"{settings.namespace}.chat.chain-test-{uuid.uuid4().hex[:6]}"
        queue = await broker_mod.declare_queue(
            channel, settings.namespace, name, ["auth.account.created"]
        )
        consumer = Consumer("chain-test", {"auth.account.created": on_account_created})
        handler = BatchingHandler(
            create_session_factory(engine), chat_outbox.processed, name, consumer
        )
        tag = await queue.consume(handler)
        yield handled, queue, exchange
        await queue.cancel(tag)
        await handler.aclose()
        await queue.delete(if_unused=False, if_empty=False)
        relay_task.cancel()
        await asyncio.gather(relay_task, return_exceptions=True)


async def _emit(engine, account_id: uuid.UUID, *, commit: bool) -> Event:
    factory = create_session_factory(engine)
    async with factory() as session:
        event = await auth_outbox.emit(
            session,
            "auth.account.created",
            account_id,
            {"name": "Shop", "widget_key": uuid.uuid4().hex, "plan": "free"},
        )
        if commit:
            await session.commit()
        else:
            await session.rollback()
    return event


async def test_committed_event_reaches_consumer_once(chain, engine):
    handled, _, _ = chain
    account_id = uuid.uuid4()
    event = await _emit(engine, account_id, commit=True)
    await eventually(lambda: any(e.id == event.id for e in handled))
    got = next(e for e in handled if e.id == event.id)
    assert got.account_id == account_id and got.data["name"] == "Shop"

    async def marked_sent() -> bool:  # in the publisher's next batch of marks
        async with engine.connect() as conn:
            sent = await conn.scalar(
                select(auth_outbox.table.c.published_at).where(auth_outbox.table.c.id == event.id)
            )
        return sent is not None

    await eventually(marked_sent)


async def test_relay_and_consumer_report_lag(chain, engine):
    handled, queue, _ = chain
    lag = ("parley_event_consumer_lag_seconds_count", {"consumer": queue.name})
    before = REGISTRY.get_sample_value(*lag) or 0
    event = await _emit(engine, uuid.uuid4(), commit=True)
    await eventually(lambda: any(e.id == event.id for e in handled))
    # Observed once the batch has committed, just after the handler ran.
    await eventually(lambda: REGISTRY.get_sample_value(*lag) == before + 1)
    # The relay has looked at auth's outbox: how long its oldest unsent row has waited.
    assert REGISTRY.get_sample_value("parley_outbox_lag_seconds", {"service": "auth"}) is not None


async def test_rolled_back_change_publishes_nothing(chain, engine):
    handled, _, _ = chain
    account_id = uuid.uuid4()
    await _emit(engine, account_id, commit=False)
    marker = await _emit(engine, uuid.uuid4(), commit=True)
    await eventually(lambda: any(e.id == marker.id for e in handled))
    assert not any(e.account_id == account_id for e in handled)
    async with engine.connect() as conn:
        rows = await conn.scalar(
            select(func.count())
            .select_from(auth_outbox.table)
            .where(auth_outbox.table.c.body["account_id"].astext == str(account_id))
        )
    assert rows == 0


async def test_redelivered_event_is_handled_once(chain, engine):
    handled, _, exchange = chain
    event = await _emit(engine, uuid.uuid4(), commit=True)
    await eventually(lambda: any(e.id == event.id for e in handled))
    # RabbitMQ redelivers (or a relay republishes) the same event: same id, no second effect.

    await exchange.publish(
        aio_pika.Message(event.model_dump_json().encode(), message_id=str(event.id)),
        routing_key=event.type,
        mandatory=True,
    )
    marker = await _emit(engine, uuid.uuid4(), commit=True)
    await eventually(lambda: any(e.id == marker.id for e in handled))
    assert sum(1 for e in handled if e.id == event.id) == 1


async def test_poison_event_is_dead_lettered_and_its_batch_mates_are_handled_once(
    engine, broker, settings
):
    attempts: list[uuid.UUID] = []
    effect = f"effect-{uuid.uuid4().hex[:6]}"

    async def fails_on_poison(session, event: Event) -> None:
        attempts.append(event.id)
        if event.data["name"] == "poison":
            raise RuntimeError("handler bug")
        # A database effect, committed or rolled back with the handler's transaction.
        await session.execute(
            chat_outbox.processed.insert().values(consumer=effect, event_id=event.id)
        )

    channel = await broker.channel(publisher_confirms=True)
    exchange = await broker_mod.declare_exchanges(channel, settings.namespace)
    name = f"{settings.namespace}.chat.poison-{uuid.uuid4().hex[:6]}"
    queue = await broker_mod.declare_queue(channel, settings.namespace, name, ["poison.#"])

    def event(label: str) -> Event:
        return Event(
            type="auth.account.created",
            account_id=uuid.uuid4(),
            data={"name": label, "widget_key": uuid.uuid4().hex, "plan": "free"},
        )

    # Published before anyone consumes, so they arrive together as one batch.
    events = [event("good"), event("poison"), event("good"), event("good")]
    for e in events:
        await exchange.publish(
            aio_pika.Message(e.model_dump_json().encode(), message_id=str(e.id)),
            routing_key="poison.test",
            mandatory=True,
        )
    handler = BatchingHandler(
        create_session_factory(engine),
        chat_outbox.processed,
        name,
        Consumer("poison", {"auth.account.created": fails_on_poison}),
    )
    await queue.consume(handler)
    try:
        poison = events[1]
        dead = await channel.get_queue(f"{settings.namespace}.dead-letter")

        async def dead_lettered() -> bool:
            while (message := await dead.get(fail=False, no_ack=False)) is not None:
                await message.ack()
                if message.message_id == str(poison.id):
                    return True
            return False

        await eventually(dead_lettered, timeout=20)
        # Every good event took effect exactly once, though its first batch was rolled back.
        async with engine.connect() as conn:
            effects = (
                await conn.scalars(
                    select(chat_outbox.processed.c.event_id).where(
                        chat_outbox.processed.c.consumer == effect
                    )
                )
            ).all()
        assert sorted(effects) == sorted(e.id for e in events if e is not poison)
        # The poison event: its deliveries up to the limit, never handled successfully.
        assert 2 <= attempts.count(poison.id) <= 2 * (broker_mod.DELIVERY_LIMIT + 1)
    finally:
        await handler.aclose()
        await queue.delete(if_unused=False, if_empty=False)
        await channel.close()


async def test_an_event_waits_out_a_database_outage_instead_of_being_dead_lettered(
    engine, broker, settings, monkeypatch
):
    """More failed attempts than the delivery limit allows, all because the database is
    unreachable: the event is retried in place, handled once, never dead-lettered."""
    monkeypatch.setattr(consumer_mod, "OUTAGE_RETRY_SECONDS", 0.01)
    outage = 3 * (broker_mod.DELIVERY_LIMIT + 1)
    attempts: list[uuid.UUID] = []

    async def during_outage(session, event: Event) -> None:
        attempts.append(event.id)
        if len(attempts) <= outage:
            raise ConnectionRefusedError(111, "Connect call failed")

    channel = await broker.channel(publisher_confirms=True)
    exchange = await broker_mod.declare_exchanges(channel, settings.namespace)
    name = f"{settings.namespace}.chat.outage-{uuid.uuid4().hex[:6]}"
    queue = await broker_mod.declare_queue(channel, settings.namespace, name, ["outage.#"])
    event = Event(
        type="auth.account.created",
        account_id=uuid.uuid4(),
        data={"name": "Shop", "widget_key": uuid.uuid4().hex, "plan": "free"},
    )
    await exchange.publish(
        aio_pika.Message(event.model_dump_json().encode(), message_id=str(event.id)),
        routing_key="outage.test",
        mandatory=True,
    )
    handler = BatchingHandler(
        create_session_factory(engine),
        chat_outbox.processed,
        name,
        Consumer("outage", {"auth.account.created": during_outage}),
    )
    await queue.consume(handler)
    try:

        async def handled() -> bool:
            async with engine.connect() as conn:
                found = await conn.scalar(
                    select(func.count()).where(
                        chat_outbox.processed.c.consumer == name,
                        chat_outbox.processed.c.event_id == event.id,
                    )
                )
            return found == 1

        await eventually(handled, timeout=20)
        assert len(attempts) == outage + 1
    finally:
        await handler.aclose()
        await queue.delete(if_unused=False, if_empty=False)
        await channel.close()


async def test_events_about_an_erased_visitor_are_recorded_and_skipped(engine, broker, settings):
    """A visitor in the service's erased_visitors: its events (in flight when the erasure ran)
    are recorded as handled and do nothing, in a batch beside other visitors' events and alone;
    an erasure's own events about it still run."""
    erased, kept = uuid.uuid4(), uuid.uuid4()
    factory = create_session_factory(engine)
    async with factory() as session, session.begin():
        await tombstone(session, chat_outbox, uuid.uuid4(), erased)
    ran: list[tuple[str, str]] = []

    async def effect(session, event: Event) -> None:
        ran.append((event.type, event.data["visitor_id"]))

    kinds = ("visitors.visitor.updated", "visitors.erasure.requested")
    consumer = Consumer("tombstones", dict.fromkeys(kinds, effect))
    events = [
        Event(type=kind, account_id=uuid.uuid4(), data={"visitor_id": str(visitor)})
        for kind, visitor in (
            (kinds[0], erased),
            (kinds[0], kept),
            (kinds[1], erased),
        )
    ]
    channel = await broker.channel(publisher_confirms=True)
    exchange = await broker_mod.declare_exchanges(channel, settings.namespace)
    name = f"{settings.namespace}.chat.tombstones-{uuid.uuid4().hex[:6]}"
    queue = await broker_mod.declare_queue(channel, settings.namespace, name, ["tomb.#"])
    for e in events:
        await exchange.publish(
            aio_pika.Message(e.model_dump_json().encode(), message_id=str(e.id)),
            routing_key="tomb.test",
            mandatory=True,
        )
    handler = BatchingHandler(
        factory, chat_outbox.processed, name, consumer, erased=chat_outbox.erased
    )
    await queue.consume(handler)
    try:

        async def all_recorded() -> bool:
            async with engine.connect() as conn:
                found = await conn.scalar(
                    select(func.count()).where(
                        chat_outbox.processed.c.consumer == name,
                        chat_outbox.processed.c.event_id.in_([e.id for e in events]),
                    )
                )
            return found == len(events)

        await eventually(all_recorded, timeout=20)
        assert sorted(ran) == sorted([(kinds[0], str(kept)), (kinds[1], str(erased))])
        # Alone (the path a failed batch's events take), the same.
        late = Event(type=kinds[0], account_id=uuid.uuid4(), data={"visitor_id": str(erased)})
        handled = await consumer_mod.handle_once(
            factory, chat_outbox.processed, name, effect, late, chat_outbox.erased
        )
        assert not handled and len(ran) == 2
    finally:
        await handler.aclose()
        await queue.delete(if_unused=False, if_empty=False)
        await channel.close()


class _DatabaseAway:
    """An engine whose every transaction fails, as when PostgreSQL is away."""

    attempts = 0

    def begin(self):
        self.attempts += 1
        raise OSError("database away")


async def test_a_failed_cleanup_does_not_stop_the_relay(engine, broker, settings):
    """The relay forgets old rows every 10 minutes; the database being away at that moment
    must not end it (it did: no event of the service was published again until a restart)."""
    away = _DatabaseAway()
    async with AsyncExitStack() as stack:
        channel = await broker.channel(publisher_confirms=True)
        stack.push_async_callback(channel.close)
        exchange = await broker_mod.declare_exchanges(channel, settings.namespace)
        # No grace: nothing publishes eagerly here, the relay sends the event as soon as it can.
        relay = OutboxRelay(
            auth_outbox, engine, exchange, settings.database_url, grace=timedelta(0)
        )
        relay.engine = away  # only the cleanup uses it
        relay._last_cleanup = datetime.min.replace(tzinfo=UTC)  # due now
        task = asyncio.create_task(relay.run())
        stack.callback(task.cancel)
        await eventually(lambda: away.attempts > 0)
        event = await _emit(engine, uuid.uuid4(), commit=True)

        async def published() -> bool:
            async with engine.connect() as conn:
                sent = await conn.scalar(
                    select(auth_outbox.table.c.published_at).where(
                        auth_outbox.table.c.id == event.id
                    )
                )
            return sent is not None

        await eventually(published)
        assert not task.done()


async def test_an_event_is_published_with_the_properties_consumers_read(broker, settings):
    """``publish`` builds the AMQP properties itself (not through aio-pika's Message): the
    same type, id, content type and persistence as before reach the queue."""
    event = Event(
        type="auth.account.created",
        account_id=uuid.uuid4(),
        data={"name": "Shop", "widget_key": uuid.uuid4().hex, "plan": "free"},
    )
    body = event.model_dump(mode="json")
    async with AsyncExitStack() as stack:
        _, channel, exchange = await open_publisher(
            stack, settings.rabbitmq_url, settings.namespace, settings.database_url
        )
        name = f"{settings.namespace}.chat.properties-test-{uuid.uuid4().hex[:6]}"
        queue = await broker_mod.declare_queue(
            channel, settings.namespace, name, ["auth.account.created"]
        )
        try:
            await publish(exchange, event.type, body, timeout=5)
            message = await queue.get(timeout=5)
            await message.ack()
        finally:
            await queue.delete(if_unused=False, if_empty=False)
    assert message.type == "auth.account.created"
    assert message.message_id == str(event.id)
    assert message.content_type == "application/json"
    assert message.delivery_mode == aio_pika.DeliveryMode.PERSISTENT
    assert message.priority == 0
    assert Event.model_validate_json(message.body) == event
