"""The sequencer against the real broker and Redis, below the websocket."""

from __future__ import annotations

import asyncio
import uuid
from types import SimpleNamespace

import aio_pika
import orjson
from aiormq import spec

from parley_common.cli import remove_namespace
from parley_common.events import broker as broker_mod
from parley_common.events.envelope import Event
from parley_common.testing import close_connections, eventually
from parley_gateway.stream.config import Keys, get_stream_settings
from parley_gateway.stream.sequencer import SEQUENCE, Sequencer, parse, run_sequencer


async def test_a_script_redis_does_not_know_is_loaded_and_the_batch_sequenced_once(
    redis, broker, settings
):
    """Redis restarted (or flushed its scripts) between two batches: the sequencer's EVALSHA
    finds no script; it loads it and sequences the batch, each event once, and acks it."""
    channel = await broker.channel()
    name = f"{settings.namespace}.gateway.noscript-{uuid.uuid4().hex[:6]}"
    await broker_mod.declare_queue(channel, settings.namespace, name, [])
    account = uuid.uuid4()
    events = [Event(type="chat.message.created", account_id=account, data={"n": n}) for n in (1, 2)]
    for event in events:
        await channel.default_exchange.publish(
            aio_pika.Message(event.model_dump_json().encode(), message_id=str(event.id)), name
        )
    messages = []

    underlay = await channel.get_underlay_channel()

    async def both_arrived() -> bool:
        message = await underlay.basic_get(name, no_ack=False)
        if isinstance(message.delivery, spec.Basic.GetOk):
            messages.append(message)
        return len(messages) == 2

    sequencer = Sequencer(redis, settings.namespace, get_stream_settings())
    # A script text Redis has never seen stands for one it lost.
    sequencer.script = redis.register_script(f"{SEQUENCE}\n-- {uuid.uuid4()}")
    try:
        await eventually(both_arrived)
        await sequencer.process(await parse(messages))
        log = await redis.xrange(Keys(settings.namespace).log(str(account)))
        frames = [orjson.loads(fields[b"f"]) for _, fields in log]
        assert [(f["seq"], f["id"]) for f in frames] == [
            (n, str(e.id)) for n, e in enumerate(events, 1)
        ]
        # Acked: nothing comes back when the channel closes.
        await channel.close()
        channel = await broker.channel()
        assert await (await channel.get_queue(name)).get(fail=False) is None
    finally:
        await channel.queue_delete(name)
        await channel.close()


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
