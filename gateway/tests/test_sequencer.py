"""The sequencer against the real broker and Redis, below the websocket."""

from __future__ import annotations

import uuid

import aio_pika
import orjson

from parley_common.events import broker as broker_mod
from parley_common.events.envelope import Event
from parley_common.testing import eventually
from parley_gateway.stream.config import Keys, get_stream_settings
from parley_gateway.stream.sequencer import SEQUENCE, Sequencer, parse


async def test_a_script_redis_does_not_know_is_loaded_and_the_batch_sequenced_once(
    redis, broker, settings
):
    """Redis restarted (or flushed its scripts) between two batches: the sequencer's EVALSHA
    finds no script; it loads it and sequences the batch, each event once, and acks it."""
    channel = await broker.channel()
    name = f"{settings.namespace}.gateway.noscript-{uuid.uuid4().hex[:6]}"
    queue = await broker_mod.declare_queue(channel, settings.namespace, name, [])
    account = uuid.uuid4()
    events = [Event(type="chat.message.created", account_id=account, data={"n": n}) for n in (1, 2)]
    for event in events:
        await channel.default_exchange.publish(
            aio_pika.Message(event.model_dump_json().encode(), message_id=str(event.id)), name
        )
    messages = []

    async def both_arrived() -> bool:
        message = await queue.get(fail=False, no_ack=False)
        if message is not None:
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
