"""SQL for messages and read markers (SQLAlchemy Core; every query by account)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import (
    func,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from parley_chat.events import outbox
from parley_chat.models import Conversation, Message, ReadMarker, Visitor
from parley_common.db import DriverStatement, driver_fetchrow, driver_statement, row_as
from parley_common.events.envelope import Event

conversations = Conversation.__table__
messages = Message.__table__
markers = ReadMarker.__table__
visitors = Visitor.__table__

MESSAGE_COLUMNS = (
    messages.c.id,
    messages.c.seq,
    messages.c.conversation_id,
    messages.c.author_type,
    messages.c.author_id,
    messages.c.author_name,
    messages.c.text,
    messages.c.channel,
    messages.c.client_message_id,
    messages.c.attachments,
    messages.c.internal,
    messages.c.created_at,
    messages.c.delivery,
)


@dataclass(frozen=True, slots=True)
class MessageRow:
    """A message as the API shows it (``MESSAGE_COLUMNS``)."""

    id: uuid.UUID
    seq: int
    conversation_id: uuid.UUID
    author_type: str
    author_id: uuid.UUID | None
    author_name: str | None
    text: str
    channel: str
    client_message_id: str | None
    attachments: list[dict[str, Any]]
    internal: bool
    created_at: datetime
    delivery: dict[str, Any] | None


# One round trip for a new message: the insert (a repeated client_message_id inserts nothing,
# and then nothing else happens), the conversation's summary, and the outbox row of
# chat.message.created (returned as stored, to be published after commit: events.publisher),
# whose seq is set from the inserted row and previous_author_type from
# the conversation as it was (read under the row lock the update takes anyway, so two
# concurrent messages each see the other's turn in order). ``target`` selects the conversation
# (locked) as ``prev``: its id, last author type, and the message's author and visitor names.
# Only table names (from the models) are formatted in; every value is a bound parameter.
def _append_statement(target: str) -> DriverStatement:
    return driver_statement(f"""
WITH prev AS (
    {target}
), ins AS (
    INSERT INTO {messages.fullname} AS m (id, account_id, conversation_id, author_type,
        author_id, author_name, text, channel, client_message_id, attachments, internal,
        created_at, delivery)
    SELECT :id, :account_id, prev.id, :author_type, :author_id, prev.author_name, :text,
        :channel, :client_message_id, CAST(:attachments AS jsonb), :internal, :created_at,
        CAST(:delivery AS jsonb)
    FROM prev
    ON CONFLICT (account_id, author_id, client_message_id)
        WHERE client_message_id IS NOT NULL DO NOTHING
    RETURNING m.seq
), touched AS (
    UPDATE {conversations.fullname} AS c SET
        last_seq = greatest(c.last_seq, ins.seq),
        last_message_preview = :preview,
        last_message_author_type = :last_author_type,
        last_message_at = :at,
        last_activity_at = :at,
        first_visitor_message_at = CASE WHEN :by_visitor
            THEN coalesce(c.first_visitor_message_at, :at) ELSE c.first_visitor_message_at END,
        first_agent_reply_at = CASE WHEN :by_agent
            THEN coalesce(c.first_agent_reply_at, :at) ELSE c.first_agent_reply_at END,
        status = CASE WHEN :reopen THEN 'open' ELSE c.status END,
        resolved_at = CASE WHEN :reopen THEN NULL ELSE c.resolved_at END,
        resolved_by = CASE WHEN :reopen THEN NULL ELSE c.resolved_by END
    FROM ins, prev
    WHERE c.account_id = :account_id AND c.id = prev.id
), event AS (
    INSERT INTO {outbox.table.fullname} (id, type, body)
    SELECT :event_id, :event_type, jsonb_set(
        CAST(:event_body AS jsonb), '{{data}}',
        (CAST(:event_body AS jsonb) -> 'data') || jsonb_build_object(
            'seq', ins.seq,
            'conversation_id', prev.id,
            'author_name', prev.author_name,
            'visitor_name', prev.visitor_name,
            'previous_author_type', prev.last_message_author_type))
    FROM ins, prev
    RETURNING CAST(body AS text) AS body
)
SELECT ins.seq, prev.id, prev.author_name, event.body FROM ins, prev, event
""")  # noqa: S608


# Into the conversation the caller chose; the names are the caller's.
_APPEND_MESSAGE = _append_statement(f"""
    SELECT c.id, c.last_message_author_type, CAST(:author_name AS text) AS author_name,
        CAST(:visitor_name AS text) AS visitor_name
    FROM {conversations.fullname} AS c
    WHERE c.account_id = :account_id AND c.id = :conversation_id
    FOR UPDATE OF c""")  # noqa: S608

# A visitor's message into their open conversation, named as
# ``projections.visitor_display_name`` names them: no row (and nothing written) when they
# have no open conversation or are blocked, which the caller then handles.
_APPEND_VISITOR_MESSAGE = _append_statement(f"""
    SELECT c.id, c.last_message_author_type, who.name AS author_name, who.name AS visitor_name
    FROM {conversations.fullname} AS c
    LEFT JOIN {visitors.fullname} AS k
        ON k.account_id = :account_id AND k.visitor_id = :visitor_id
    CROSS JOIN LATERAL (SELECT coalesce(nullif(k.name, ''), nullif(k.label, ''),
        nullif(k.email, ''), 'Visitor') AS name) AS who
    WHERE c.account_id = :account_id AND c.visitor_id = :visitor_id AND c.status = 'open'
        AND NOT coalesce(k.blocked, false)
    FOR UPDATE OF c""")  # noqa: S608


@dataclass(frozen=True, slots=True)
class Appended:
    seq: int
    conversation_id: uuid.UUID
    author_name: str | None


async def append_message(
    session: AsyncSession,
    values: dict[str, Any],
    *,
    at: datetime,
    reopen: bool,
    event: Event,
    visitor_name: str | None = None,
    into_open: bool = False,
    last_write: bool = False,
) -> Appended | None:
    """Insert a message, update its conversation and write its event (whose ``data`` gets the
    message's seq, conversation and names); None (and nothing changed) when the author's
    client_message_id was seen before. ``into_open``: a visitor's message into their open
    conversation, ``values``' conversation and author name unused; None also when they have
    none or are blocked. Run on the driver connection (the product's hottest statement:
    bench/chat_message_path.py); ``last_write``: see ``db.driver_fetchrow``."""
    author_type = values["author_type"]
    internal = bool(values.get("internal"))
    params = {
        **values,
        "internal": internal,
        "attachments": orjson.dumps(values.get("attachments") or []).decode(),
        "delivery": orjson.dumps(values["delivery"]).decode() if values.get("delivery") else None,
        "preview": (values["text"] or "[attachment]")[:200],
        "last_author_type": author_type,
        "at": at,
        "by_visitor": author_type == "visitor",
        # A note answers nobody: it is not the agent's first reply.
        "by_agent": author_type == "agent" and not internal,
        "reopen": reopen,
        "visitor_name": visitor_name,
        "event_id": event.id,
        "event_type": event.type,
        "event_body": event.model_dump_json(),
    }
    statement = _APPEND_VISITOR_MESSAGE if into_open else _APPEND_MESSAGE
    row = await driver_fetchrow(session, statement, last_write=last_write, **params)
    if row is None:
        return None
    outbox.written(session, event.id, event.type, orjson.loads(row[3]))
    return Appended(int(row[0]), row[1], row[2])


async def message_by_client_id(
    session: AsyncSession, account_id: uuid.UUID, author_id: uuid.UUID, client_message_id: str
) -> MessageRow | None:
    stmt = select(*MESSAGE_COLUMNS).where(
        messages.c.account_id == account_id,
        messages.c.author_id == author_id,
        messages.c.client_message_id == client_message_id,
    )
    return row_as(MessageRow, (await session.execute(stmt)).first())


async def set_delivery(
    session: AsyncSession, account_id: uuid.UUID, message_id: uuid.UUID, delivery: dict[str, Any]
) -> None:
    await session.execute(
        update(messages)
        .where(messages.c.account_id == account_id, messages.c.id == message_id)
        .values(delivery=delivery)
    )


async def get_message(
    session: AsyncSession, account_id: uuid.UUID, message_id: uuid.UUID
) -> MessageRow | None:
    stmt = select(*MESSAGE_COLUMNS).where(
        messages.c.account_id == account_id, messages.c.id == message_id
    )
    return row_as(MessageRow, (await session.execute(stmt)).first())


async def list_messages(
    session: AsyncSession,
    account_id: uuid.UUID,
    conversation_id: uuid.UUID,
    *,
    before: int | None,
    after: int | None,
    limit: int,
    with_notes: bool = True,
) -> list[MessageRow]:
    """Newest first below ``before`` (history); oldest first above ``after`` (catch up).
    ``with_notes=False``: what the visitor may see (no internal notes)."""
    stmt = select(*MESSAGE_COLUMNS).where(
        messages.c.account_id == account_id, messages.c.conversation_id == conversation_id
    )
    if not with_notes:
        stmt = stmt.where(messages.c.internal.is_(False))
    if after is not None:
        stmt = stmt.where(messages.c.seq > after).order_by(messages.c.seq.asc())
    else:
        if before is not None:
            stmt = stmt.where(messages.c.seq < before)
        stmt = stmt.order_by(messages.c.seq.desc())
    return [MessageRow(**row._mapping) for row in await session.execute(stmt.limit(limit))]


async def visible_messages(
    session: AsyncSession, account_id: uuid.UUID, conversation_id: uuid.UUID
) -> list[MessageRow]:
    """Every message the visitor saw, oldest first (internal notes left out): transcripts."""
    stmt = (
        select(*MESSAGE_COLUMNS)
        .where(
            messages.c.account_id == account_id,
            messages.c.conversation_id == conversation_id,
            messages.c.internal.is_(False),
        )
        .order_by(messages.c.seq.asc())
    )
    return [MessageRow(**row._mapping) for row in await session.execute(stmt)]


async def set_read_marker(
    session: AsyncSession,
    *,
    account_id: uuid.UUID,
    conversation_id: uuid.UUID,
    agent_id: uuid.UUID,
    last_read_seq: int | None = None,
    marked_unread: bool | None = None,
) -> None:
    values: dict[str, Any] = {}
    if last_read_seq is not None:
        values["last_read_seq"] = func.greatest(markers.c.last_read_seq, last_read_seq)
    if marked_unread is not None:
        values["marked_unread"] = marked_unread
    insert_values = {
        "account_id": account_id,
        "conversation_id": conversation_id,
        "agent_id": agent_id,
        "last_read_seq": last_read_seq or 0,
        "marked_unread": bool(marked_unread),
    }
    stmt = (
        pg_insert(markers)
        .values(**insert_values)
        .on_conflict_do_update(index_elements=["conversation_id", "agent_id"], set_=values)
    )
    await session.execute(stmt)
