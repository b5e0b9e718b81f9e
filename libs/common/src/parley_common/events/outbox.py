"""The transactional outbox: events are rows written with the change.

A change and its events commit together or not at all. The committing process publishes
them right after the commit (``events.publisher``); the relay here is the safety net: it
publishes, with publisher confirms and ``mandatory``, the rows still unmarked ``GRACE`` after
they were written, and marks them sent. A broker outage delays events; it never loses them.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import orjson
from aio_pika.abc import AbstractExchange
from pydantic import BaseModel
from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Index,
    MetaData,
    String,
    Table,
    Text,
    Uuid,
    cast,
    delete,
    func,
    insert,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from parley_common import telemetry
from parley_common.events.catalogue import spec_for
from parley_common.events.envelope import Event
from parley_common.events.publisher import CONFIRM_TIMEOUT, asyncpg_dsn, publish, written
from parley_common.logging import request_id_var
from parley_common.metrics import EVENTS_PUBLISH_FAILED, OUTBOX_LAG

log = logging.getLogger("parley.outbox")

BATCH_SIZE = 500
POLL_SECONDS = 1.0  # the shortest pause between polls, and after a failed batch
# The relay leaves a row this long to the process that wrote it (its publish and its batched
# mark take well under a second, a publish waits at most CONFIRM_TIMEOUT): sooner, it would
# send most events a second time; later, an event whose eager publish failed (the broker
# away, the process gone between commit and publish) waits longer.
GRACE = timedelta(seconds=CONFIRM_TIMEOUT + 1)
KEEP_SENT = timedelta(days=1)


def event_tables(metadata: MetaData) -> tuple[Table, Table]:
    """The outbox and processed-events tables, in the service's own schema."""
    outbox = Table(
        "outbox",
        metadata,
        Column("position", BigInteger, primary_key=True, autoincrement=True),
        Column("id", Uuid, nullable=False, unique=True),
        Column("type", String(200), nullable=False),
        Column("body", JSONB, nullable=False),
        Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
        Column("published_at", DateTime(timezone=True)),
        Index("ix_outbox_unpublished", "position", postgresql_where=text("published_at IS NULL")),
    )
    processed = Table(
        "processed_events",
        metadata,
        Column("consumer", String(200), primary_key=True),
        Column("event_id", Uuid, primary_key=True),
        Column("processed_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    )
    return outbox, processed


def erased_visitors_table(metadata: MetaData) -> Table:
    """GDPR erasure tombstones: the visitors this service erased, written in the erasure's
    transaction. The service's consumers skip any later event about one of them (an event
    already in flight when the erasure ran), so no personal data comes back."""
    return Table(
        "erased_visitors",
        metadata,
        Column("visitor_id", Uuid, primary_key=True),
        Column("account_id", Uuid, nullable=False),
        Column("erased_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    )


def create_erased_visitors_table(op: Any, schema: str) -> None:
    erased_visitors_table(MetaData(schema=schema)).create(op.get_bind())


def notify_channel(schema: str) -> str:
    return f"parley_outbox_{schema}"


def create_event_tables(op: Any, schema: str) -> None:
    """For a service's first Alembic migration: the event tables and the NOTIFY trigger (which
    woke the relay on every insert; ``drop_notify_trigger`` removes it)."""
    outbox, processed = event_tables(MetaData(schema=schema))
    bind = op.get_bind()
    outbox.create(bind)
    processed.create(bind)
    create_notify_trigger(op, schema)


def drop_notify_trigger(op: Any, schema: str) -> None:
    """Events are published by the process that commits them and the relay polls for what it
    left: no insert needs to wake the relay any more (a wake that finds nothing is pure cost)."""
    op.execute(f"DROP TRIGGER outbox_notify ON {schema}.outbox")
    op.execute(f"DROP FUNCTION {schema}.outbox_notify()")


def create_notify_trigger(op: Any, schema: str) -> None:
    op.execute(f"""
        CREATE FUNCTION {schema}.outbox_notify() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN PERFORM pg_notify('{notify_channel(schema)}', ''); RETURN NULL; END $$;
    """)
    op.execute(f"""
        CREATE TRIGGER outbox_notify AFTER INSERT ON {schema}.outbox
        FOR EACH STATEMENT EXECUTE FUNCTION {schema}.outbox_notify();
    """)


class Outbox:
    """A service's outbox: ``await outbox.emit(session, "chat.message.created", ...)``."""

    def __init__(self, metadata: MetaData) -> None:
        self.schema = metadata.schema or "public"
        self.table, self.processed = event_tables(metadata)
        self.erased = erased_visitors_table(metadata)

    async def emit(
        self,
        session: AsyncSession,
        event_type: str,
        account_id: uuid.UUID,
        data: BaseModel | dict[str, Any],
    ) -> Event:
        """Write an event in the session's transaction. It is published after commit."""
        event = self.event(event_type, account_id, data)
        body = orjson.loads(event.model_dump_json())
        await session.execute(insert(self.table).values(id=event.id, type=event.type, body=body))
        self.written(session, event.id, event.type, body)
        return event

    def written(
        self, session: AsyncSession, event_id: uuid.UUID, event_type: str, body: dict[str, Any]
    ) -> None:
        """An event the session wrote to this outbox (``emit``, or a statement that inserts
        its row itself, with the body as stored): published once the session commits."""
        written(session, self.schema, event_id, event_type, body)

    def event(
        self, event_type: str, account_id: uuid.UUID, data: BaseModel | dict[str, Any]
    ) -> Event:
        """The envelope ``emit`` writes, payload validated, without writing it: for a statement
        that inserts its outbox row itself (chat's message path, one round trip)."""
        spec = spec_for(event_type)
        if spec.producer != self.schema:
            raise ValueError(f"{self.schema} cannot emit {event_type}")
        payload = (
            data
            if isinstance(data, spec.payload)
            else spec.payload.model_validate(
                data.model_dump() if isinstance(data, BaseModel) else data
            )
        )
        return Event(
            type=event_type,
            account_id=account_id,
            request_id=request_id_var.get(),
            traceparent=telemetry.traceparent(),
            data=payload.model_dump(mode="json", exclude_none=False),
        )


async def tombstone(
    session: AsyncSession, outbox: Outbox, account_id: uuid.UUID, visitor_id: uuid.UUID
) -> None:
    """GDPR erasure: remember the erased visitor (see ``erased_visitors_table``)."""
    await session.execute(
        pg_insert(outbox.erased)
        .values(visitor_id=visitor_id, account_id=account_id)
        .on_conflict_do_nothing()
    )


async def forget(session: AsyncSession, outbox: Outbox, needle: str) -> None:
    """GDPR erasure: drop the events whose body mentions ``needle`` (a visitor id), published
    or not: an event about an erased visitor is not delivered later either."""
    table = outbox.table
    await session.execute(delete(table).where(func.strpos(cast(table.c.body, Text), needle) > 0))


def _discard(conn: asyncpg.Connection | None) -> None:
    if conn is not None and not conn.is_closed():
        conn.terminate()


class OutboxRelay:
    """The safety net: publishes, in order, the committed rows nobody marked published within
    ``GRACE`` (an eager publish that failed, a process gone between commit and publish, a
    writer without a publisher), batch by batch, with publisher confirms.

    It polls every ``grace / 2`` (``POLL_SECONDS`` at least) on its own asyncpg connection: a
    row is at most half its grace late, and a relay at rest costs a query every 3 s, not
    every second, three round trips per
    batch, prepared once: BEGIN and the claim (``FOR UPDATE SKIP LOCKED``, so several relays
    share the work), then, once RabbitMQ confirmed the batch, the mark and COMMIT in one
    simple query. A poll that finds nothing costs one claim on the partial index of unsent rows.
    """

    def __init__(
        self,
        outbox: Outbox,
        engine: AsyncEngine,
        exchange: AbstractExchange,
        database_url: str,
        grace: timedelta = GRACE,
    ) -> None:
        self.outbox = outbox
        self.engine = engine
        self.exchange = exchange
        self.database_url = database_url
        self.grace = grace
        self.poll_seconds = max(POLL_SECONDS, grace.total_seconds() / 2)
        self._last_cleanup = datetime.now(UTC)
        table = f'"{outbox.schema}".outbox'
        self._claim = (
            f"SELECT position, type, body::text, created_at FROM {table} "  # noqa: S608 (a name)
            "WHERE published_at IS NULL AND created_at < now() - CAST($2 AS interval) "
            "ORDER BY position LIMIT $1 FOR UPDATE SKIP LOCKED"
        )
        self._mark = f"UPDATE {table} SET published_at = now() WHERE position IN (%s); COMMIT"  # noqa: S608

    async def run(self) -> None:
        conn: asyncpg.Connection | None = None
        try:
            while True:
                try:
                    if conn is None or conn.is_closed():
                        # command_timeout: a half-open connection (a failover without a reset)
                        # fails the batch instead of stalling the relay for good.
                        conn = await asyncpg.connect(
                            asyncpg_dsn(self.database_url), command_timeout=30
                        )
                    published = await self.publish_batch(conn)
                except Exception:
                    log.exception("outbox relay batch failed; retrying")
                    _discard(conn)
                    conn = None
                    await asyncio.sleep(POLL_SECONDS)
                    continue
                if published >= BATCH_SIZE:
                    continue
                await asyncio.sleep(self.poll_seconds)
                await self._cleanup()
        finally:
            _discard(conn)

    async def publish_batch(self, conn: asyncpg.Connection) -> int:
        """Publish up to BATCH_SIZE rows unsent for ``grace``; returns how many were published."""
        await conn.execute("BEGIN")
        try:
            rows = await conn.fetch(self._claim, BATCH_SIZE, self.grace)
            lag = OUTBOX_LAG.labels(self.outbox.schema)
            if not rows:
                lag.set(0)
                await conn.execute("COMMIT")
                return 0
            lag.set(max(0.0, (datetime.now(UTC) - rows[0]["created_at"]).total_seconds()))
            results = await asyncio.gather(
                *(publish(self.exchange, row["type"], orjson.loads(row["body"])) for row in rows),
                return_exceptions=True,
            )
            sent: list[int] = []
            for row, result in zip(rows, results, strict=True):
                if isinstance(result, BaseException):
                    EVENTS_PUBLISH_FAILED.labels(row["type"]).inc()
                    log.warning("publishing %s failed: %r", row["type"], result)
                else:
                    sent.append(int(row["position"]))
            if not sent:
                await conn.execute("COMMIT")
                return 0
            # Positions are integers read from the table: safe as literals in one simple
            # query, which marks and commits in a single round trip.
            await conn.execute(self._mark % ",".join(map(str, sent)))
            return len(sent)
        except BaseException:
            _discard(conn)  # the transaction dies with it; a new connection next time
            raise

    async def _cleanup(self) -> None:
        """Forget rows sent more than KEEP_SENT ago, every 10 minutes. A failure (the database
        away at that moment) is logged and tried again next time: it must not end the relay."""
        now = datetime.now(UTC)
        if now - self._last_cleanup < timedelta(minutes=10):
            return
        self._last_cleanup = now
        table = self.outbox.table
        try:
            async with self.engine.begin() as conn:
                await conn.execute(table.delete().where(table.c.published_at < now - KEEP_SENT))
        except Exception:
            log.warning("outbox cleanup failed; trying again in 10 minutes", exc_info=True)
