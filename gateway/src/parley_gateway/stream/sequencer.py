"""The sequencer: numbers every streamable event once per account, in Redis, and publishes it.

One competing consumer per deployment (``parley worker gateway``) reads the gateway's stream
queue. For each event one Lua script, atomically: drops a redelivered event id, takes the
account's next ``seq``, appends the frame to the account's capped replay log and publishes
it on the account channel. Messages are taken in batches and their scripts pipelined in one
round trip on a Redis connection of the sequencer's own; a message is acked only after Redis
accepted its script, and acks are gathered (``Acks``) into one frame per ``ACK_SECONDS``.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import orjson
from aiormq.abc import DeliveredMessage
from aiormq.exceptions import AMQPError, ChannelInvalidStateError
from redis.asyncio import Redis
from redis.exceptions import NoScriptError, RedisError

from parley_common import telemetry
from parley_common.events import broker
from parley_common.redis import DedicatedConnection
from parley_common.revocation import Revocations
from parley_common.stream_frames import EventBody
from parley_gateway.stream.audience import (
    AGENT_REMOVED,
    API_KEY_REVOKED,
    SESSION_REVOKED,
    is_streamed,
)
from parley_gateway.stream.config import Keys, StreamSettings, get_stream_settings

if TYPE_CHECKING:
    from parley_common.worker import WorkerContext

log = logging.getLogger("parley.stream.sequencer")

QUEUE_PURPOSE = "stream"

# KEYS: seen, meta, log, the mark of the event's visitor's erasure, the conversation's owner.
# ARGV: frame body (the JSON object without its opening brace), new epoch, log max length, seen
# ttl, log ttl, meta ttl, channel, now (ms), the conversation's visitor ('' for none), its ttl.
# The owner is side state (typing checks it), recorded first like the rest of it. An event about
# an erased visitor (in flight during the erasure) is dropped.
SEQUENCE = """
if ARGV[9] ~= '' then redis.call('SET', KEYS[5], ARGV[9], 'EX', ARGV[10]) end
if redis.call('EXISTS', KEYS[4]) == 1 then return 0 end
if not redis.call('SET', KEYS[1], '1', 'NX', 'EX', ARGV[4]) then return 0 end
local epoch = redis.call('HGET', KEYS[2], 'epoch')
if not epoch then
  epoch = ARGV[2]
  redis.call('HSET', KEYS[2], 'epoch', epoch)
  redis.call('DEL', KEYS[3])
end
local seq = redis.call('HINCRBY', KEYS[2], 'seq', 1)
local frame = '{"type":"event","seq":' .. seq .. ',"epoch":"' .. epoch .. '",' .. ARGV[1]
redis.call('XADD', KEYS[3], 'MAXLEN', '~', ARGV[3], seq .. '-0', 'f', frame, 't', ARGV[8])
redis.call('EXPIRE', KEYS[3], ARGV[5])
redis.call('EXPIRE', KEYS[2], ARGV[6])
redis.call('PUBLISH', ARGV[7], frame)
return seq
"""

CONVERSATION_TTL = 30 * 24 * 3600
# How long an erased visitor's late events are dropped (an event held up longer than this, in
# a service that was down, is streamed; every service's own data stays erased).
ERASED_TTL = 7 * 24 * 3600
ERASURE_REQUESTED = "visitors.erasure.requested"
REQUIRED = frozenset({"id", "type", "account_id"})
# How long an ack may wait to be sent with later ones. An ack frame per batch (one event at
# 100/s) cost the sequencer 0.1-0.2 ms per event and RabbitMQ up to a third of its share
# (bench/README.md, issue 12); an ack sent late only means a crash redelivers those events,
# and their scripts drop them as seen.
ACK_SECONDS = 0.05


def new_epoch() -> str:
    return secrets.token_hex(8)


def allowed_domains(event_type: str, data: dict[str, Any]) -> list[str] | None:
    """The account's allowed widget domains when this event states them, else None."""
    settings = data.get("settings") or {}
    if event_type == "auth.account.created":
        general = settings.get("general") or {}
    elif event_type == "auth.settings.updated" and data.get("section") == "general":
        general = settings
    else:
        return None
    domains = general.get("allowed_domains")
    return [str(d).lower() for d in domains] if isinstance(domains, list) else None


class Commands(list[tuple[Any, ...]]):
    """One batch's Redis commands in order: what ``stage`` (and ``Revocations``) queue."""

    def execute_command(self, *args: Any) -> None:
        self.append(args)

    def set(self, name: str, value: Any, ex: int | None = None) -> None:
        self.append(("SET", name, value) if ex is None else ("SET", name, value, "EX", ex))

    def publish(self, channel: str, message: Any) -> None:
        self.append(("PUBLISH", channel, message))


class Acks:
    """Acks for the messages Redis accepted, gathered into one ``multiple`` ack frame.

    Delivery tags rise on a channel, so acking the newest one acks every message before it that
    is still unacked (a nacked or rejected one no longer is). Due ``ACK_SECONDS`` after the
    first waiting one (a timer calls ``wake``) or when ``limit`` wait; the one task that sends
    them (the run loop) also flushes before a nack and on shutdown, so acks keep their order.
    """

    def __init__(self, limit: int, wake: Callable[[], None]) -> None:
        self.limit = limit
        self.wake = wake
        self.last: DeliveredMessage | None = None
        self.waiting = 0
        self.ripe = False
        self.timer: asyncio.TimerHandle | None = None

    def add(self, message: DeliveredMessage) -> None:
        if self.last is not None and message.channel is not self.last.channel:
            self._clear()  # its channel closed: the broker redelivers those
        if self.last is None:
            self.timer = asyncio.get_running_loop().call_later(ACK_SECONDS, self._ripen)
        self.last = message
        self.waiting += 1

    def _ripen(self) -> None:
        self.ripe = True
        self.wake()

    def due(self) -> bool:
        return self.last is not None and (self.ripe or self.waiting >= self.limit)

    def _clear(self) -> None:
        if self.timer is not None:
            self.timer.cancel()
        self.timer, self.last, self.waiting, self.ripe = None, None, 0, False

    async def flush(self) -> None:
        last = self.last
        self._clear()
        if last is None:
            return
        try:
            await last.channel.basic_ack(tag(last), multiple=True)
        except (AMQPError, ChannelInvalidStateError, OSError) as exc:
            # The channel is gone: the broker redelivers its unacked messages, and their
            # scripts drop them as seen.
            log.warning("acking sequenced events failed (%r); they are redelivered", exc)


class Sequencer:
    def __init__(
        self,
        redis: Redis,
        namespace: str,
        settings: StreamSettings,
        wake: Callable[[], None] = lambda: None,
    ) -> None:
        """``wake``: called when acks fall due while no message is being processed."""
        self.redis = redis
        self.keys = Keys(namespace)
        self.settings = settings
        # Auth records these itself after its commit; replaying them here makes them durable.
        self.revocations = Revocations(redis, settings)
        self.script = redis.register_script(SEQUENCE)
        self.connection = DedicatedConnection(redis, f"{namespace}-sequencer")
        self.acks = Acks(max(1, settings.stream_prefetch // 2), wake)

    async def aclose(self) -> None:
        await self.acks.flush()
        await self.connection.aclose()

    def stage(
        self, pipe: Commands, envelope: dict[str, Any], epoch: str, traceparent: str | None = None
    ) -> int:
        """Queue the Redis commands for one event on ``pipe``; return how many were queued.
        ``epoch`` is taken by the event's account only if it has none yet."""
        event_type = str(envelope["type"])
        account = str(envelope["account_id"])
        data: dict[str, Any] = envelope.get("data") or {}
        s, k = self.settings, self.keys
        queued = 0
        # Side state first: once a frame is seen, what it implies is already in Redis.
        if event_type == SESSION_REVOKED and data.get("session_id"):
            self.revocations.stage_session_ended(pipe, str(data["session_id"]))
            self._close_session(pipe, account, str(data["session_id"]))
            queued += 2
        if event_type == API_KEY_REVOKED and data.get("api_key_id"):
            # A key's streams carry the key's id as their session.
            self._close_session(pipe, account, str(data["api_key_id"]))
            queued += 1
        if event_type == AGENT_REMOVED and data.get("agent_id"):
            self.revocations.stage_agent(pipe, str(data["agent_id"]), None)
            queued += 1
        streamed = is_streamed(event_type)
        # The conversation's owner: set by the script of a streamed event, else here.
        conversation = k.conversation(account, str(data.get("conversation_id") or ""))
        owner = (
            str(data["visitor_id"])
            if data.get("conversation_id") and data.get("visitor_id")
            else ""
        )
        if owner and not streamed:
            pipe.set(conversation, owner, ex=CONVERSATION_TTL)
            queued += 1
        domains = allowed_domains(event_type, data)
        if domains is not None:
            pipe.set(k.domains(account), orjson.dumps(domains))
            queued += 1
        if streamed:
            frame: dict[str, Any] = dict(
                EventBody(
                    event=event_type,
                    account_id=account,
                    occurred_at=envelope.get("occurred_at"),
                    id=str(envelope["id"]),
                    data=data,
                )
            )
            if traceparent is not None:
                # Only while tracing is on: the gateway delivering the frame continues it.
                with telemetry.span(f"sequence {event_type}", parent=traceparent):
                    frame["traceparent"] = telemetry.traceparent()
            body = orjson.dumps(frame)
            # EVALSHA, not the script object (which runs SCRIPT EXISTS first): ``process``
            # loads the script when Redis lost it.
            pipe.execute_command(
                "EVALSHA",
                self.script.sha,
                5,
                k.seen(account, str(envelope["id"])),
                k.meta(account),
                k.log(account),
                k.erased(account, str(data.get("visitor_id"))),
                conversation,
                body[1:],
                epoch,
                s.stream_window_count,
                s.stream_dedupe_seconds,
                s.stream_window_seconds,
                s.stream_meta_seconds,
                k.channel(account),
                int(time.time() * 1000),
                owner,
                CONVERSATION_TTL,
            )
            queued += 1
        return queued

    def _close_session(self, pipe: Commands, account: str, session_id: str) -> None:
        """Every gateway closes the sockets of this session (or API key) at once."""
        control = {"type": "control", "close": "session", "session_id": session_id}
        pipe.publish(self.keys.channel(account), orjson.dumps(control))

    async def forget_visitor(self, account: str, visitor_id: str) -> None:
        """GDPR erasure: drop the account's replayable frames that mention the visitor, and
        sequence no later event about it."""
        await self.redis.set(self.keys.erased(account, visitor_id), b"1", ex=ERASED_TTL)
        log_key = self.keys.log(account)
        entries: list[Any] = await self.redis.xrange(log_key) or []
        doomed = [entry_id for entry_id, fields in entries if visitor_id.encode() in fields[b"f"]]
        if doomed:
            await self.redis.xdel(log_key, *doomed)

    async def _execute(
        self, batch: list[tuple[DeliveredMessage, dict[str, Any]]]
    ) -> tuple[list[int], list[Any]]:
        """The batch's commands in one pipelined round trip: per event, how many commands it
        queued, and every command's result (an error as an exception object)."""
        counts: list[int] = []
        commands = Commands()
        # One fresh epoch for the batch: only an account without one takes it.
        epoch = new_epoch()
        for message, envelope in batch:
            traceparent = None
            if telemetry.enabled():
                traceparent = telemetry.message_traceparent(
                    message.header.properties.headers, envelope.get("traceparent")
                )
            counts.append(self.stage(commands, envelope, epoch, traceparent))
        results = await self.connection.execute(commands) if commands else []
        return counts, results

    async def process(self, batch: list[tuple[DeliveredMessage, dict[str, Any]]]) -> None:
        """Sequence a batch in one pipelined round trip; what Redis accepted goes to ``acks``."""
        for _, envelope in batch:
            if envelope["type"] == ERASURE_REQUESTED:
                data = envelope.get("data") or {}
                await self.forget_visitor(str(envelope["account_id"]), str(data.get("visitor_id")))
        counts, results = await self._execute(batch)
        if any(isinstance(r, NoScriptError) for r in results):
            # Redis restarted or flushed its scripts: nothing of the batch's scripts ran, and
            # everything else in it is idempotent; load the script and run the batch again.
            await self.redis.script_load(self.script.script)
            counts, results = await self._execute(batch)
        position = 0
        failed: list[DeliveredMessage] = []
        for (message, _), count in zip(batch, counts, strict=True):
            errors = [r for r in results[position : position + count] if isinstance(r, Exception)]
            position += count
            if errors:
                log.error("sequencing %s failed: %r", message.routing_key, errors)
                failed.append(message)
        if not failed:
            for message, _ in batch:
                self.acks.add(message)
            return
        await self.acks.flush()
        await asyncio.gather(
            *(
                m.channel.basic_nack(tag(m), requeue=True)
                if m in failed
                else m.channel.basic_ack(tag(m))
                for m, _ in batch
            )
        )


def tag(message: DeliveredMessage) -> int:
    """The delivery tag of a consumed (or got) message."""
    assert message.delivery_tag is not None
    return message.delivery_tag


async def parse(
    messages: list[DeliveredMessage],
) -> list[tuple[DeliveredMessage, dict[str, Any]]]:
    """Envelopes of the batch; a malformed message goes to the dead-letter queue."""
    parsed = []
    for message in messages:
        try:
            envelope = orjson.loads(message.body)
            if not isinstance(envelope, dict) or not REQUIRED <= envelope.keys():
                raise ValueError("not an event envelope")
        except (orjson.JSONDecodeError, ValueError):
            log.warning("dead-lettering malformed event %s", message.header.properties.message_id)
            await message.channel.basic_reject(tag(message), requeue=False)
            continue
        parsed.append((message, envelope))
    return parsed


async def run_sequencer(ctx: WorkerContext) -> None:
    """Background job of ``parley worker gateway``: consume the stream queue until cancelled."""
    settings = get_stream_settings()
    namespace = ctx.settings.namespace
    channel = await ctx.connection.channel()
    await channel.set_qos(prefetch_count=settings.stream_prefetch)
    queue = await broker.declare_queue(
        channel, namespace, broker.queue_name(namespace, "gateway", QUEUE_PURPOSE), ["#"]
    )
    inbox: list[DeliveredMessage] = []
    wake = asyncio.Event()
    sequencer = Sequencer(ctx.redis, namespace, settings, wake.set)

    async def receive(message: DeliveredMessage) -> None:
        inbox.append(message)
        wake.set()

    async def consume(*_: Any) -> None:
        # On the AMQP channel itself: aio-pika's ``queue.consume`` wraps each message in an
        # IncomingMessage and one more task (bench/README.md). Its robust channel does not
        # know this consumer, so the consumer is started again whenever the channel reopens.
        underlay = await channel.get_underlay_channel()
        await underlay.basic_consume(queue.name, receive)

    channel.reopen_callbacks.add(consume)
    await consume()
    try:
        while True:
            await wake.wait()
            wake.clear()
            # Natural batching: whatever arrived while the last round trip was in flight.
            while True:
                if sequencer.acks.due():
                    await sequencer.acks.flush()
                if not inbox:
                    break
                batch = inbox[: settings.stream_batch]
                del inbox[: settings.stream_batch]
                await _process_with_retry(sequencer, await parse(batch))
    finally:
        channel.reopen_callbacks.discard(consume)
        await sequencer.aclose()
        await channel.close()  # cancels the consumer; what was not acked is redelivered


async def _process_with_retry(
    sequencer: Sequencer, batch: list[tuple[DeliveredMessage, dict[str, Any]]]
) -> None:
    """Redis being away stalls the stream (messages stay unacked) rather than losing events."""
    delay = 0.2
    while True:
        try:
            await sequencer.process(batch)
            return
        except (RedisError, OSError) as exc:
            log.warning("redis unavailable (%r); retrying in %.1fs", exc, delay)
        await asyncio.sleep(delay)
        delay = min(delay * 2, 5.0)
