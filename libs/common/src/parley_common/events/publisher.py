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
import logging
import uuid
from collections import defaultdict
from contextlib import AsyncExitStack
from typing import Any

import aio_pika
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
# Marks are written at most this often, all the rows of those milliseconds in one UPDATE.
MARK_INTERVAL = 0.1
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
    ``timeout``: how long to wait for the broker's confirm before it counts as failed."""
    message = aio_pika.Message(
        orjson.dumps(body),
        content_type="application/json",
        delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
        message_id=str(body["id"]),
        type=event_type,
    )
    traceparent = body.get("traceparent")
    if traceparent is None:
        await exchange.publish(
            message, routing_key=routing_key(body), mandatory=True, timeout=timeout
        )
    else:
        with telemetry.span(f"publish {event_type}", parent=traceparent, kind="PRODUCER"):
            message.headers["traceparent"] = telemetry.traceparent()
            await exchange.publish(
                message, routing_key=routing_key(body), mandatory=True, timeout=timeout
            )
    EVENTS_PUBLISHED.labels(event_type).inc()


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
    """Publishes committed events in order on one confirm channel and marks them in batches,
    on its own PostgreSQL connection (``synchronous_commit`` off: a lost mark is a re-send)."""

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
        self._pending: list[Pending] = []
        self._wake = asyncio.Event()
        self._sender: asyncio.Task[None] | None = None
        self._conn: asyncpg.Connection | None = None

    def submit(self, events: list[Pending]) -> None:
        if len(self._pending) >= MAX_PENDING:
            return  # the broker is not keeping up: these wait for the relay
        self._pending += events
        self._wake.set()
        if self._sender is None or self._sender.done():
            self._sender = asyncio.create_task(self._run(), name="outbox-publisher")

    async def aclose(self) -> None:
        """Stop; what was not published yet is the relay's."""
        if self._sender is not None:
            self._sender.cancel()
            await asyncio.gather(self._sender, return_exceptions=True)
        if self._conn is not None:
            self._conn.terminate()

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        marks: dict[str, list[uuid.UUID]] = defaultdict(list)
        last_mark = loop.time()
        while True:
            if not self._pending:
                timeout = max(0.0, last_mark + MARK_INTERVAL - loop.time()) if marks else None
                self._wake.clear()
                try:
                    await asyncio.wait_for(self._wake.wait(), timeout)
                except TimeoutError:
                    pass
            batch, self._pending = self._pending, []
            if batch:
                for schema, event_id in await self._publish(batch):
                    marks[schema].append(event_id)
            if marks and loop.time() - last_mark >= MARK_INTERVAL:
                await self._mark(marks)
                marks = defaultdict(list)
                last_mark = loop.time()

    async def _publish(self, batch: list[Pending]) -> list[tuple[str, uuid.UUID]]:
        """Publish a batch in order (one channel keeps it); the events the broker confirmed."""
        results = await asyncio.gather(
            *(publish(self.exchange, kind, body, CONFIRM_TIMEOUT) for _, _, kind, body in batch),
            return_exceptions=True,
        )
        sent = []
        failure: BaseException | None = None
        for (schema, event_id, kind, _), result in zip(batch, results, strict=True):
            if isinstance(result, BaseException):
                EVENTS_PUBLISH_FAILED.labels(kind).inc()
                failure = result
            else:
                sent.append((schema, event_id))
        if failure is not None:  # one line per batch: a broker outage must not flood the log
            log.warning(
                "%d of %d events not published (the relay sends them): %r",
                len(batch) - len(sent),
                len(batch),
                failure,
            )
        return sent

    async def _mark(self, marks: dict[str, list[uuid.UUID]]) -> None:
        try:
            if self._conn is None or self._conn.is_closed():
                self._conn = await asyncpg.connect(
                    asyncpg_dsn(self.database_url),
                    command_timeout=10,
                    server_settings={"synchronous_commit": "off"},
                )
            for schema, ids in marks.items():
                await self._conn.execute(
                    f'UPDATE "{schema}".outbox SET published_at = now() '  # noqa: S608 (a name)
                    "WHERE id = ANY($1::uuid[]) AND published_at IS NULL",
                    ids,
                )
        except Exception:
            # Unmarked, they are sent again by the relay: duplicates the consumers drop.
            log.warning("marking %d published events failed", sum(map(len, marks.values())))
            if self._conn is not None:
                self._conn.terminate()
                self._conn = None


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
