"""Idempotent consumers: the event id is recorded in the same transaction as the effect.

An event about a visitor the service has erased (GDPR) is recorded and otherwise skipped."""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import orjson
from aio_pika.abc import AbstractIncomingMessage
from sqlalchemy import Table, Uuid, any_, bindparam, select, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from parley_common import telemetry
from parley_common.errors import dependency_unavailable
from parley_common.events.catalogue import spec_for
from parley_common.events.envelope import Event
from parley_common.logging import request_id_var
from parley_common.metrics import CONSUMER_LAG, EVENTS_CONSUMED, EVENTS_FAILED
from parley_common.tasks import stop_tasks

log = logging.getLogger("parley.consumer")

Handler = Callable[[AsyncSession, Event], Awaitable[None]]

# An event whose handler finds the database unreachable is retried in place this many times,
# this far apart (a PostgreSQL restart), before it is nacked like any failure.
OUTAGE_RETRIES = 60
OUTAGE_RETRY_SECONDS = 1.0


@dataclass(frozen=True)
class Consumer:
    """One durable queue (``<namespace>.<service>.<purpose>``) and its handlers by event type.

    ``bindings``: for an event type whose routing key carries words of the event (the
    catalogue's ``routing``), the patterns this queue binds instead of all of that type, so
    events the handler would do nothing with never reach it; ``()``: none (the service binds
    the queue itself, as it learns what it needs).
    """

    purpose: str
    handlers: dict[str, Handler]
    prefetch: int = 32
    bindings: dict[str, tuple[str, ...]] = field(default_factory=dict)

    def routing_patterns(self) -> list[str]:
        patterns: list[str] = []
        for event_type in self.handlers:
            if event_type in self.bindings:
                patterns += self.bindings[event_type]
            else:
                patterns.append(spec_for(event_type).binding())
        return patterns


def visitor_of(event: Event) -> uuid.UUID | None:
    """The visitor an event is about (``data.visitor_id``), unless it is an erasure's own."""
    raw = event.data.get("visitor_id")
    if raw is None or ".erasure." in event.type:
        return None
    try:
        return uuid.UUID(str(raw))
    except ValueError:
        return None


async def erased_among(
    session: AsyncSession, erased: Table | None, events: list[Event]
) -> set[uuid.UUID]:
    """Which of the events' visitors this service erased (one query; none if no event names
    a visitor). Their events are recorded as handled and do nothing: an event already in
    flight when the erasure ran must not bring the visitor's personal data back."""
    ids = {v for e in events if (v := visitor_of(e)) is not None}
    if erased is None or not ids:
        return set()
    column = erased.c.visitor_id
    found = await session.scalars(
        select(column).where(column == any_(bindparam("ids", type_=ARRAY(Uuid)))),
        {"ids": list(ids)},
    )
    return set(found.all())


async def handle_once(
    session_factory: async_sessionmaker[AsyncSession],
    processed: Table,
    consumer_name: str,
    handler: Handler,
    event: Event,
    erased: Table | None = None,
) -> bool:
    """Run ``handler`` unless this consumer already handled ``event``; True if it ran."""
    async with session_factory() as session, session.begin():
        claimed = await session.execute(
            pg_insert(processed)
            .values(consumer=consumer_name, event_id=event.id)
            .on_conflict_do_nothing()
            .returning(processed.c.event_id)
        )
        if claimed.first() is None or await erased_among(session, erased, [event]):
            return False
        await handler(session, event)
    return True


def _name(table: Table) -> str:
    return f'"{table.schema}".{table.name}' if table.schema else table.name


class BatchingHandler:
    """The callback for a consumer's queue: handles deliveries in batches, each batch in one
    transaction (its event ids recorded with one INSERT), then acks them.

    A batch costs one session, one BEGIN/COMMIT and one idempotency insert instead of one of
    each per event. If any handler in a batch raises, the batch is rolled back and its events
    are retried one by one, so only the failing event is nacked (and dead-lettered at the
    queue's delivery limit). Up to ``concurrency`` batches run at once.
    """

    def __init__(
        self,
        session_factory: async_sessionmaker[AsyncSession],
        processed: Table,
        consumer_name: str,
        consumer: Consumer,
        *,
        max_batch: int = 64,
        concurrency: int = 4,
        erased: Table | None = None,
    ) -> None:
        self.session_factory = session_factory
        self.processed = processed
        self.erased = erased
        self.name = consumer_name
        self.consumer = consumer
        self.max_batch = max_batch
        self.concurrency = concurrency
        self._pending: asyncio.Queue[AbstractIncomingMessage] = asyncio.Queue()
        # One statement text for every batch size: prepared once by the driver. It claims the
        # batch's event ids and, in the same round trip, finds its erased visitors: rows
        # (false, claimed event id) and (true, erased visitor id).
        erased_rows = (
            f"UNION ALL SELECT true, visitor_id FROM {_name(erased)} "  # noqa: S608 (a name)
            "WHERE visitor_id = ANY(CAST(:visitors AS uuid[]))"
            if erased is not None
            else ""
        )
        self._claim = text(
            f"WITH claimed AS (INSERT INTO {_name(processed)} (consumer, event_id) "  # noqa: S608
            "SELECT :consumer, unnest(CAST(:ids AS uuid[])) "
            "ON CONFLICT DO NOTHING RETURNING event_id) "
            f"SELECT false, event_id FROM claimed {erased_rows}"
        )
        self._tasks: list[asyncio.Task[None]] = []
        self._closed = False

    async def __call__(self, message: AbstractIncomingMessage) -> None:
        if self._closed:
            return  # stopping: left unacked, the broker redelivers it when the channel closes
        if not self._tasks:
            self._tasks = [
                asyncio.create_task(self._run(), name=f"{self.name}-{i}")
                for i in range(self.concurrency)
            ]
        self._pending.put_nowait(message)

    async def aclose(self) -> None:
        self._closed = True
        await stop_tasks(self._tasks)
        self._tasks = []

    async def _run(self) -> None:
        while True:
            batch = [await self._pending.get()]
            while len(batch) < self.max_batch and not self._pending.empty():
                batch.append(self._pending.get_nowait())
            try:
                await self._handle(batch)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("%s: batch of %d failed unexpectedly", self.name, len(batch))

    async def _handle(self, batch: list[AbstractIncomingMessage]) -> None:
        work: list[tuple[AbstractIncomingMessage, Event, Handler]] = []
        for message in batch:
            try:
                event = Event.model_validate(orjson.loads(message.body))
            except Exception:
                log.error("%s: undecodable message %s dead-lettered", self.name, message.message_id)
                await message.reject(requeue=False)
                continue
            handler = self.consumer.handlers.get(event.type)
            if handler is None:
                await message.ack()
            else:
                work.append((message, event, handler))
        if not work:
            return
        try:
            await self._in_one_transaction(work)
        except Exception:
            log.warning(
                "%s: a batch of %d failed; retrying its events one by one", self.name, len(work)
            )
            for message, event, handler in work:
                await self._handle_alone(message, event, handler)
            return
        now = time.time()
        for message, event, _ in work:
            EVENTS_CONSUMED.labels(self.name, event.type).inc()
            CONSUMER_LAG.labels(self.name).observe(now - event.occurred_at.timestamp())
            await message.ack()

    async def _in_one_transaction(
        self, work: list[tuple[AbstractIncomingMessage, Event, Handler]]
    ) -> None:
        async with self.session_factory() as session, session.begin():
            # Through SQLAlchemy, so the transaction has begun before any handler runs (a
            # handler may then use the driver connection inside it: parley_common.db).
            params: dict[str, Any] = {"consumer": self.name, "ids": [e.id for _, e, _ in work]}
            if self.erased is not None:
                params["visitors"] = list({v for _, e, _ in work if (v := visitor_of(e))})
            rows = (await session.execute(self._claim, params)).all()
            claimed = {row[1] for row in rows if not row[0]}
            erased = {row[1] for row in rows if row[0]}
            for message, event, handler in work:
                if event.id not in claimed:
                    continue  # handled before (a redelivery), or twice in this batch
                claimed.discard(event.id)
                if erased and visitor_of(event) in erased:
                    continue  # about a visitor erased meanwhile: nothing to do
                token = request_id_var.set(event.request_id)
                try:
                    with self._span(message, event):
                        await handler(session, event)
                finally:
                    request_id_var.reset(token)

    def _span(self, message: AbstractIncomingMessage, event: Event) -> Any:
        if not telemetry.enabled():
            return telemetry.span("")
        parent = telemetry.message_traceparent(message.headers, event.traceparent)
        return telemetry.span(f"consume {event.type}", parent=parent, kind="CONSUMER")

    async def _handle_alone(
        self, message: AbstractIncomingMessage, event: Event, handler: Handler
    ) -> None:
        token = request_id_var.set(event.request_id)
        try:
            with self._span(message, event):
                await self._handle_through_outages(event, handler)
        except Exception:
            EVENTS_FAILED.labels(self.name, event.type).inc()
            log.exception(
                "%s failed on %s",
                self.name,
                event.type,
                extra={"event_id": str(event.id), "event_type": event.type},
            )
            # Requeued; the quorum queue's delivery limit dead-letters a poison message.
            await message.nack(requeue=True)
        else:
            EVENTS_CONSUMED.labels(self.name, event.type).inc()
            CONSUMER_LAG.labels(self.name).observe(time.time() - event.occurred_at.timestamp())
            await message.ack()
        finally:
            request_id_var.reset(token)

    async def _handle_through_outages(self, event: Event, handler: Handler) -> None:
        """While the database (or Redis) is unreachable, wait for it here: a nack would spend
        the event's delivery attempts, meant for poison messages, in a second and dead-letter
        a good event during a restart."""
        for attempt in range(OUTAGE_RETRIES + 1):
            try:
                await handle_once(
                    self.session_factory, self.processed, self.name, handler, event, self.erased
                )
                return
            except Exception as exc:
                if attempt == OUTAGE_RETRIES or not dependency_unavailable(exc):
                    raise
                log.warning("%s: %r; retrying event %s", self.name, exc, event.id)
                await asyncio.sleep(OUTAGE_RETRY_SECONDS)
