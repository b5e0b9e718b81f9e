"""The sequencer against the real broker and Redis, below the websocket."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from types import SimpleNamespace
from typing import Any

import aio_pika
import orjson
from aiormq import spec

from parley_common.cli import remove_namespace
from parley_common.events import broker as broker_mod
from parley_common.events.envelope import Event
from parley_common.testing import close_connections, eventually
from parley_gateway.stream.config import Keys, get_stream_settings
from parley_gateway.stream.sequencer import (
    SEQUENCE,
    Sequencer,
    _process_with_retry,
    parse,
    run_sequencer,
)


async def _got(channel, name: str, account: uuid.UUID, count: int) -> list[Any]:
    """Publish ``count`` events of ``account`` to the queue ``name`` and get them, unacked."""
    events = [
        Event(type="chat.message.created", account_id=account, data={"n": n}) for n in range(count)
    ]
    for event in events:
        await channel.default_exchange.publish(
            aio_pika.Message(event.model_dump_json().encode(), message_id=str(event.id)), name
        )
    underlay = await channel.get_underlay_channel()
    messages = []

    async def all_arrived() -> bool:
        message = await underlay.basic_get(name, no_ack=False)
        if isinstance(message.delivery, spec.Basic.GetOk):
            messages.append(message)
        return len(messages) == count

    await eventually(all_arrived)
    return messages


async def _sequenced(redis, namespace: str, account: uuid.UUID) -> list[tuple[int, str]]:
    log = await redis.xrange(Keys(namespace).log(str(account)))
    return [(f["seq"], f["id"]) for f in (orjson.loads(fields[b"f"]) for _, fields in log)]


def _ids(messages: list[Any]) -> list[tuple[int, str]]:
    return [(n, orjson.loads(m.body)["id"]) for n, m in enumerate(messages, 1)]


@contextlib.asynccontextmanager
async def _private_queue(broker, settings, purpose: str) -> AsyncIterator[tuple[Any, str]]:
    channel = await broker.channel()
    name = f"{settings.namespace}.gateway.{purpose}-{uuid.uuid4().hex[:6]}"
    await broker_mod.declare_queue(channel, settings.namespace, name, [])
    try:
        yield channel, name
    finally:
        channel = await broker.channel()
        await channel.queue_delete(name)
        await channel.close()


async def _nothing_left(broker, name: str) -> bool:
    """Everything got was acked: closing the channel that got it redelivered nothing."""
    channel = await broker.channel()
    try:
        return await (await channel.get_queue(name)).get(fail=False) is None
    finally:
        await channel.close()


async def test_a_script_redis_does_not_know_is_loaded_and_the_batch_sequenced_once(
    redis, broker, settings
):
    """Redis restarted (or flushed its scripts) between two batches: the sequencer's EVALSHA
    finds no script; it loads it and sequences the batch, each event once, and acks it."""
    account = uuid.uuid4()
    async with _private_queue(broker, settings, "noscript") as (channel, name):
        messages = await _got(channel, name, account, 2)
        sequencer = Sequencer(redis, settings.namespace, get_stream_settings())
        # A script text Redis has never seen stands for one it lost.
        sequencer.script = redis.register_script(f"{SEQUENCE}\n-- {uuid.uuid4()}")
        await sequencer.process(await parse(messages))
        await sequencer.aclose()
        assert await _sequenced(redis, settings.namespace, account) == _ids(messages)
        await channel.close()
        assert await _nothing_left(broker, name)


async def test_acks_of_several_batches_go_in_one_frame_when_they_fall_due(redis, broker, settings):
    """Sequenced batches are not acked one by one: their acks wait until ACK_SECONDS after the
    first (the timer wakes the run loop), then one frame acks them all, and nothing of them is
    redelivered."""
    account = uuid.uuid4()
    async with _private_queue(broker, settings, "acks") as (channel, name):
        messages = await _got(channel, name, account, 3)
        underlay = await channel.get_underlay_channel()
        sent: list[tuple[int, bool]] = []
        real_ack = underlay.basic_ack

        async def recorded_ack(delivery_tag: int, multiple: bool = False) -> None:
            sent.append((delivery_tag, multiple))
            await real_ack(delivery_tag, multiple=multiple)

        underlay.basic_ack = recorded_ack  # type: ignore[method-assign]
        due = asyncio.Event()
        sequencer = Sequencer(redis, settings.namespace, get_stream_settings(), due.set)
        try:
            for message in messages:
                await sequencer.process(await parse([message]))
            assert sent == []
            await asyncio.wait_for(due.wait(), 10)
            assert sequencer.acks.due()
            await sequencer.acks.flush()
            assert sent == [(messages[-1].delivery_tag, True)]
        finally:
            await sequencer.aclose()
        assert await _sequenced(redis, settings.namespace, account) == _ids(messages)
        await channel.close()
        assert await _nothing_left(broker, name)


async def test_a_dropped_redis_connection_is_reopened_and_the_batch_sequenced_once(
    redis, broker, settings
):
    """The sequencer's own Redis connection is killed between two batches: the next batch
    fails, is retried on a new connection and sequenced, each event once and in order."""
    account = uuid.uuid4()
    async with _private_queue(broker, settings, "redis-drop") as (channel, name):
        messages = await _got(channel, name, account, 2)
        sequencer = Sequencer(redis, settings.namespace, get_stream_settings())
        try:
            await _process_with_retry(sequencer, await parse(messages[:1]))
            own = f"{settings.namespace}-sequencer"
            clients = (await redis.execute_command("CLIENT", "LIST")).decode().splitlines()
            ids = [c.split()[0].split("=")[1] for c in clients if f" name={own} " in c]
            assert len(ids) == 1
            await redis.execute_command("CLIENT", "KILL", "ID", ids[0])
            await _process_with_retry(sequencer, await parse(messages[1:]))
        finally:
            await sequencer.aclose()
        assert await _sequenced(redis, settings.namespace, account) == _ids(messages)
        await channel.close()
        assert await _nothing_left(broker, name)


async def test_the_sequencer_consumes_again_after_the_broker_dropped_its_connection(
    redis, settings
):
    """It consumes on the AMQP channel itself, which aio-pika's robust channel does not
    restore: after the connection is dropped and reopened, later events are still sequenced."""
    # Its own namespace: the stream queue then has no other sequencer to take the events.
    own = settings.model_copy(update={"namespace": f"{settings.namespace}r{uuid.uuid4().hex[:6]}"})
    ns, name = own.namespace, f"sequencer-restart-{uuid.uuid4().hex[:8]}"
    connection = await broker_mod.connect(own.rabbitmq_url, name=name)
    publisher = await broker_mod.connect(own.rabbitmq_url, name=f"publisher-{uuid.uuid4().hex[:8]}")
    ctx = SimpleNamespace(settings=own, connection=connection, redis=redis)
    sequencer = asyncio.create_task(run_sequencer(ctx))  # type: ignore[arg-type]
    account = uuid.uuid4()
    log_key = Keys(ns).log(str(account))
    try:
        channel = await publisher.channel(publisher_confirms=True)
        exchange = await broker_mod.declare_exchanges(channel, ns)
        await broker_mod.declare_queue(
            channel, ns, broker_mod.queue_name(ns, "gateway", "stream"), ["#"]
        )
        sent = []

        async def publish() -> None:
            event = Event(type="chat.message.created", account_id=account, data={"n": len(sent)})
            body = event.model_dump_json().encode()
            await exchange.publish(aio_pika.Message(body), routing_key=event.type)
            sent.append(str(event.id))

        async def sequenced() -> list[str]:
            return [orjson.loads(f[b"f"])["id"] for _, f in await redis.xrange(log_key)]

        await publish()
        assert await eventually(sequenced) == sent
        assert close_connections(name) >= 1
        await publish()
        await eventually(lambda: connection.connected.is_set(), timeout=30)
        await eventually(lambda: _equal(sequenced(), sent), timeout=30)
    finally:
        sequencer.cancel()
        await asyncio.gather(sequencer, return_exceptions=True)
        await connection.close()
        await publisher.close()
        await remove_namespace(own, database=False)


async def _equal(value, expected) -> bool:
    return await value == expected
