"""Eager publishing: the process that commits outbox rows publishes their events right after.

``Outbox.emit`` (and a hot statement through ``Outbox.written``) keeps each event in its
session's ``info``; once the session commits, the events are handed to the process's
publisher, which publishes them in commit-and-emit order on one confirm channel, then marks
them published in batches. A publish that fails (the broker away, a nack, no confirm within
``CONFIRM_TIMEOUT``) leaves the row unmarked and a process that dies before publishing leaves
it unmarked too: the relay (``OutboxRelay``) sends every row left unmarked for ``GRACE``.
An event sent twice (its mark lost, the relay overtaking a slow publish) is harmless: every
consumer records the event ids it handled (``processed_events``, the sequencer's ``seen`` key).

The request never waits on the broker: ``submit`` only queues.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import uuid
from collections import defaultdict
from contextlib import AsyncExitStack
from typing import Any

import aiormq
import asyncpg
import orjson
from aio_pika.abc import AbstractChannel, AbstractExchange, AbstractRobustConnection
from sqlalchemy import event
from sqlalchemy.orm import Session

from parley_common import telemetry
from parley_common.events import broker
from parley_common.events.catalogue import routing_key
from parley_common.metrics import EVENTS_PUBLISH_FAILED, EVENTS_PUBLISHED
from parley_common.settings import Settings

log = logging.getLogger("parley.outbox")

# How long a batch of publishes waits for its confirms before they count as failed (then the
# relay sends them after GRACE; a confirm that comes later only makes a harmless duplicate).
CONFIRM_TIMEOUT = 5.0
# How long closing waits for the publishes in flight and their mark.
CLOSE_WAIT = 2.0
# Marks are written at most this often, all the rows of those milliseconds in one UPDATE.
MARK_INTERVAL = 0.1
# How often a paused publisher looks whether the relay has sent what was left (see
# ``OutboxPublisher._resume_in_order``).
RESUME_POLL = 0.5
# Past this many events waiting (a broker that does not answer), new ones are left to the relay.
MAX_PENDING = 10_000

# (schema, event id, type, body)
Pending = tuple[str, uuid.UUID, str, dict[str, Any]]
_SESSION_KEY = "parley_outbox_events"


def asyncpg_dsn(database_url: str) -> str:
    return database_url.replace("postgresql+asyncpg://", "postgresql://", 1)


async def publish(
    exchange: AbstractExchange,
    event_type: str,
    body: dict[str, Any],
    timeout: float | None = None,
) -> None:
    """Publish one event with publisher confirms and ``mandatory`` (the relay uses it too);
    ``timeout``: how long to wait for the broker's confirm before it counts as failed.

    The properties are built as pamqp's ``Basic.Properties`` (the frames aio-pika's
    ``Message`` would have made, byte for byte): an ``aio_pika.Message`` costs ~20 us per event
    in its attribute guards, a tenth of chat's publish (bench/README.md, "chat's CPU")."""
    headers: dict[str, Any] = {}
    properties = aiormq.spec.Basic.Properties(
        content_type="application/json",
        delivery_mode=2,  # persistent
        priority=0,
        headers=headers,
        message_id=str(body["id"]),
        message_type=event_type,
    )
    traceparent = body.get("traceparent")
    if traceparent is None:
        await _publish(exchange, orjson.dumps(body), properties, routing_key(body), timeout)
    else:
        with telemetry.span(f"publish {event_type}", parent=traceparent, kind="PRODUCER"):
            headers["traceparent"] = telemetry.traceparent()
            await _publish(exchange, orjson.dumps(body), properties, routing_key(body), timeout)
    _published(event_type).inc()


@functools.cache
def _published(event_type: str) -> Any:
    """The counter's child of an event type: ``labels`` looks it up under a lock each call."""
    return EVENTS_PUBLISHED.labels(event_type)


async def _publish(
    exchange: AbstractExchange,
    body: bytes,
    properties: aiormq.spec.Basic.Properties,
    key: str,
    timeout: float | None,
) -> None:
    """``exchange.publish`` without waiting for the frames to be written: aio-pika's publish
    holds the channel's lock until aiormq's writer task has written them, so publishes on one
    channel go one per event-loop turn. In a busy API process (a turn takes milliseconds
    under load) that capped chat's publishes below its intake and delivery fell seconds behind
    (bench/README.md, "Eager publish"). Order is kept: the lock and the write queue are FIFO.
    The confirm is still awaited; a closed channel fails at once, as with aio-pika's."""
    channel: Any = exchange.channel  # type: ignore[attr-defined]  # aio_pika.Exchange's
    if channel.is_closed:
        raise aiormq.exceptions.ChannelInvalidStateError(f"{channel!r} closed")
    underlay = await channel.get_underlay_channel()
    await underlay.basic_publish(
        body,
        exchange=exchange.name,
        routing_key=key,
        properties=properties,
        mandatory=True,
        timeout=timeout,
        wait=False,
    )


def written(
    session: Any, schema: str, event_id: uuid.UUID, event_type: str, body: dict[str, Any]
) -> None:
    """Remember an event the session wrote to ``schema``'s outbox: published after commit."""
    session.info.setdefault(_SESSION_KEY, []).append((schema, event_id, event_type, body))


def committed(session: Any) -> None:
    """Hand the session's events to the process's publisher (none: the relay sends them)."""
    events = session.info.pop(_SESSION_KEY, None)
    if events and _publisher is not None:
        _publisher.submit(events)


# SQLAlchemy's commit of any session (a request's, a consumer's batch, a job's
# ``session.begin()``) hands its events over; a rollback forgets them. The sync Session's
# events fire for AsyncSession too. ``db.commit`` calls ``committed`` itself for a session its
# last_write statement finished (nothing is committed through SQLAlchemy then).
event.listen(Session, "after_commit", committed)
event.listen(Session, "after_rollback", lambda session: session.info.pop(_SESSION_KEY, None))


class OutboxPublisher:
    """Publishes each committed event as soon as it is handed over, in order on one confirm
    channel (publishes are not held back waiting for earlier confirms), and marks the confirmed
    ones in batches, on its own PostgreSQL connection (``synchronous_commit`` off: a lost mark
    is a re-send)."""

    def __init__(
        self,
        connection: AbstractRobustConnection,
        channel: AbstractChannel,
        exchange: AbstractExchange,
        database_url: str,
    ) -> None:
        self.connection = connection
        self.channel = channel
        self.exchange = exchange
        self.database_url = database_url
        self._sending: set[asyncio.Task[None]] = set()
        self._marks: dict[str, list[uuid.UUID]] = defaultdict(list)
        self._marker: asyncio.Task[None] | None = None
        self._db = asyncio.Lock()  # one statement at a time on the connection
        self._conn: asyncpg.Connection | None = None
        self._failure_logged = 0.0
        # Paused after a failed publish: the events handed over since, in order (None: not
        # paused). See ``_resume_in_order``.
        self._held: list[Pending] | None = None
        self._resumer: asyncio.Task[None] | None = None
        self._caught_up: set[str] = set()  # schemas whose earlier leftovers went first

    def submit(self, events: list[Pending]) -> None:
        fresh = {schema for schema, *_ in events} - self._caught_up
        if fresh and self._held is None:
            self._caught_up |= fresh
            self._held = []
            self._resumer = asyncio.create_task(self._catch_up(fresh))
        if self._held is not None:
            if len(self._held) < MAX_PENDING:
                self._held += events
            return
        if len(self._sending) >= MAX_PENDING:
            return  # the broker is not keeping up: these wait for the relay
        for pending in events:
            # Tasks start in creation order, as the relay's gathered publishes do: the channel
            # writes the frames in that order.
            task = asyncio.create_task(self._send(*pending))
            self._sending.add(task)
            task.add_done_callback(self._sending.discard)

    async def aclose(self) -> None:
        """Stop: the publishes in flight get up to CLOSE_WAIT to be confirmed and marked (a
        command that commits and exits, a graceful shutdown); what is left is the relay's."""
        if self._sending:
            await asyncio.wait(set(self._sending), timeout=CLOSE_WAIT)
        if self._marker is not None:
            await asyncio.wait({self._marker}, timeout=CLOSE_WAIT)
        tasks = [*self._sending, *(t for t in (self._marker, self._resumer) if t)]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if self._conn is not None:
            self._conn.terminate()

    async def _send(
        self, schema: str, event_id: uuid.UUID, event_type: str, body: dict[str, Any]
    ) -> None:
        try:
            await publish(self.exchange, event_type, body, CONFIRM_TIMEOUT)
        except Exception as exc:
            EVENTS_PUBLISH_FAILED.labels(event_type).inc()
            self._pause(schema)
            now = asyncio.get_running_loop().time()
            if now - self._failure_logged > 1:  # a broker outage must not flood the log
                self._failure_logged = now
                log.warning("events not published (the relay sends them): %r", exc)
            return
        self._marks[schema].append(event_id)
        if self._marker is None:
            self._marker = asyncio.create_task(self._mark_soon())

    def _pause(self, schema: str) -> None:
        if self._held is None:
            self._held = []
            self._resumer = asyncio.create_task(self._resume_in_order(schema))

    async def _resume_in_order(self, schema: str) -> None:
        """After a failed publish, keep the order of the events: the failed one goes out with
        the relay (after its grace), so nothing newer may be published before it. Hold what is
        handed over; once no row committed before the pause is left unpublished (the relay sent
        them, in order), publish what was held, in order, and publish eagerly again. A held
        event the relay sent too reaches the consumers twice, and they drop the second."""
        horizon: int | None = None
        while True:
            async with self._db:
                try:
                    conn = await self._connection()
                    if horizon is None:
                        horizon = await conn.fetchval(
                            f'SELECT coalesce(max(position), 0) FROM "{schema}".outbox'  # noqa: S608
                        )
                    left = await conn.fetchval(
                        f'SELECT EXISTS (SELECT FROM "{schema}".outbox '  # noqa: S608 (a name)
                        "WHERE published_at IS NULL AND position <= $1)",
                        horizon,
                    )
                except Exception:
                    log.warning("the outbox could not be read; trying again", exc_info=True)
                    self._drop_connection()
                    left = True
            if not left:
                break
            await asyncio.sleep(RESUME_POLL)
        held, self._held, self._resumer = self._held or [], None, None
        self.submit(held)

    async def _catch_up(self, schemas: set[str]) -> None:
        """Before a process's first events of a schema: publish what is still unpublished there,
        oldest first. A process killed between commit and publish left those rows, and the
        relay would send them only after its grace, behind this process's newer events (the
        chaos test's restarted chat did that). Rows another live process is publishing at this
        moment go out twice: the consumers drop the second. Unreadable: left to the relay."""
        left: list[Pending] = []
        async with self._db:
            try:
                conn = await self._connection()
                for schema in sorted(schemas):
                    rows = await conn.fetch(
                        f'SELECT id, type, body::text FROM "{schema}".outbox '  # noqa: S608 (a name)
                        "WHERE published_at IS NULL ORDER BY position LIMIT $1",
                        MAX_PENDING,
                    )
                    left += [(schema, r["id"], r["type"], orjson.loads(r["body"])) for r in rows]
            except Exception:
                log.warning("the outbox could not be read; the relay sends what was left")
                self._drop_connection()
        read = {event_id for _, event_id, _, _ in left}
        held, self._held, self._resumer = self._held or [], None, None
        self.submit(left + [p for p in held if p[1] not in read])

    async def _connection(self) -> asyncpg.Connection:
        if self._conn is None or self._conn.is_closed():
            self._conn = await asyncpg.connect(
                asyncpg_dsn(self.database_url),
                command_timeout=10,
                server_settings={"synchronous_commit": "off"},
            )
        return self._conn

    def _drop_connection(self) -> None:
        if self._conn is not None:
            self._conn.terminate()
            self._conn = None

    async def _mark_soon(self) -> None:
        """Mark what was confirmed in the next MARK_INTERVAL, in one UPDATE per schema."""
        await asyncio.sleep(MARK_INTERVAL)
        marks, self._marks, self._marker = self._marks, defaultdict(list), None
        async with self._db:
            try:
                conn = await self._connection()
                for schema, ids in marks.items():
                    await conn.execute(
                        f'UPDATE "{schema}".outbox SET published_at = now() '  # noqa: S608 (a name)
                        "WHERE id = ANY($1::uuid[]) AND published_at IS NULL",
                        ids,
                    )
            except Exception:
                # Unmarked, they are sent again by the relay: duplicates the consumers drop.
                log.warning("marking %d published events failed", sum(map(len, marks.values())))
                self._drop_connection()


_publisher: OutboxPublisher | None = None


async def open_publisher(
    stack: AsyncExitStack, rabbitmq_url: str, namespace: str, database_url: str
) -> tuple[AbstractRobustConnection, AbstractChannel, AbstractExchange]:
    """The process's broker connection, confirm channel and exchange, and its publisher on
    them; the ones already open when called again (``--with-worker``: the API opened them)."""
    global _publisher
    if _publisher is not None:
        return _publisher.connection, _publisher.channel, _publisher.exchange
    connection = await broker.connect(rabbitmq_url)
    stack.push_async_callback(connection.close)
    channel = await connection.channel(publisher_confirms=True)
    exchange = await broker.declare_exchanges(channel, namespace)
    _publisher = OutboxPublisher(connection, channel, exchange, database_url)

    async def close() -> None:
        global _publisher
        if _publisher is not None:
            await _publisher.aclose()
        _publisher = None

    stack.push_async_callback(close)
    return connection, channel, exchange


async def publish_what_commits(stack: AsyncExitStack, settings: Settings) -> None:
    """For a process that commits events (a service's API, chat's inbound mail): publish them
    itself. Without a broker at start, the relay sends them (after its grace)."""
    try:
        await open_publisher(
            stack, settings.rabbitmq_url, settings.namespace, settings.database_url
        )
    except Exception as exc:
        log.warning("no broker at start (%r): events are left to the outbox relay", exc)
