"""SQL for conversations (SQLAlchemy Core; every query by account): the visitor's current one,
opening and changing them, and the agent's view — lists and details joined with the visitor,
the assignee and the agent's own unread count."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import and_, case, func, or_, select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from parley_chat.models import Account, Agent, Conversation, Message, ReadMarker, Visitor
from parley_common.db import driver_fetchrow, driver_statement, row_as

conversations = Conversation.__table__
messages = Message.__table__
markers = ReadMarker.__table__
agents = Agent.__table__
visitors = Visitor.__table__


@dataclass(frozen=True, slots=True)
class ConversationRow:
    """A row of chat.conversations."""

    id: uuid.UUID
    account_id: uuid.UUID
    visitor_id: uuid.UUID
    status: str
    channel: str
    started_by: str
    assignee_id: uuid.UUID | None
    agent_ids: list[uuid.UUID]
    last_seq: int
    last_message_preview: str | None
    last_message_author_type: str | None
    last_message_at: datetime | None
    last_activity_at: datetime
    created_at: datetime
    first_visitor_message_at: datetime | None
    first_agent_reply_at: datetime | None
    resolved_at: datetime | None
    resolved_by: uuid.UUID | None
    rating_requested: bool
    rating: int | None
    rating_label: str | None
    rating_comment: str | None
    rated_at: datetime | None


@dataclass(frozen=True, slots=True)
class ConversationView(ConversationRow):
    """A conversation as an agent sees it: with the visitor, the assignee, their unread count."""

    visitor_name: str | None
    visitor_email: str | None
    visitor_label: str | None
    assignee_name: str | None
    unread_count: int
    marked_unread: bool


@dataclass(frozen=True, slots=True)
class Counts:
    open: int
    unread: int
    resolved_today: int


def _view(agent_id: uuid.UUID) -> Any:
    """Conversations joined with the visitor, the assignee and the agent's read marker.

    Unread = the visitor's messages after the agent's read marker (at least 1 while the agent
    has marked the conversation unread).
    """
    c = conversations.c
    assignee = agents.alias("assignee")
    last_read = func.coalesce(markers.c.last_read_seq, 0)
    unread_messages = (
        select(func.count())
        .where(
            messages.c.conversation_id == c.id,
            messages.c.seq > last_read,
            messages.c.author_type == "visitor",
        )
        .correlate(conversations, markers)
        .scalar_subquery()
    )
    marked = func.coalesce(markers.c.marked_unread, False)
    unread_count = case((and_(marked, unread_messages == 0), 1), else_=unread_messages)
    return select(
        conversations,
        visitors.c.name.label("visitor_name"),
        visitors.c.email.label("visitor_email"),
        visitors.c.label.label("visitor_label"),
        assignee.c.name.label("assignee_name"),
        unread_count.label("unread_count"),
        marked.label("marked_unread"),
    ).select_from(
        conversations.outerjoin(
            visitors,
            and_(visitors.c.account_id == c.account_id, visitors.c.visitor_id == c.visitor_id),
        )
        .outerjoin(
            assignee,
            and_(assignee.c.account_id == c.account_id, assignee.c.agent_id == c.assignee_id),
        )
        .outerjoin(markers, and_(markers.c.conversation_id == c.id, markers.c.agent_id == agent_id))
    )


def _has_unread() -> Any:
    """The agent's read marker (outer-joined) says the conversation is unread for them."""
    c = conversations.c
    return or_(
        func.coalesce(markers.c.marked_unread, False),
        select(messages.c.id)
        .where(
            messages.c.conversation_id == c.id,
            messages.c.seq > func.coalesce(markers.c.last_read_seq, 0),
            messages.c.author_type == "visitor",
        )
        .correlate(conversations, markers)
        .exists(),
    )


async def conversation_counts(
    session: AsyncSession, account_id: uuid.UUID, agent_id: uuid.UUID, *, since: datetime
) -> Counts:
    """Open conversations, those unread by the agent, and those resolved since ``since``."""
    c = conversations.c
    is_open = c.status == "open"
    stmt = (
        select(
            func.count().filter(is_open).label("open"),
            func.count().filter(and_(is_open, _has_unread())).label("unread"),
            func.count()
            .filter(and_(c.status == "resolved", c.resolved_at >= since))
            .label("resolved_today"),
        )
        .select_from(
            conversations.outerjoin(
                markers, and_(markers.c.conversation_id == c.id, markers.c.agent_id == agent_id)
            )
        )
        .where(c.account_id == account_id, or_(is_open, c.resolved_at >= since))
    )
    return Counts(**(await session.execute(stmt)).one()._mapping)


async def conversation_view(
    session: AsyncSession, account_id: uuid.UUID, agent_id: uuid.UUID, conversation_id: uuid.UUID
) -> ConversationView | None:
    stmt = _view(agent_id).where(
        conversations.c.account_id == account_id, conversations.c.id == conversation_id
    )
    return row_as(ConversationView, (await session.execute(stmt)).first())


async def list_conversation_views(
    session: AsyncSession,
    account_id: uuid.UUID,
    agent_id: uuid.UUID,
    *,
    status: str | None,
    assignee_id: uuid.UUID | None,
    unassigned: bool,
    unread: bool | None,
    channel: str | None,
    visitor_id: uuid.UUID | None,
    after: tuple[datetime, uuid.UUID] | None,
    limit: int,
) -> list[ConversationView]:
    c = conversations.c
    stmt = _view(agent_id).where(c.account_id == account_id)
    if status:
        stmt = stmt.where(c.status == status)
    if assignee_id:
        stmt = stmt.where(c.assignee_id == assignee_id)
    if unassigned:
        stmt = stmt.where(c.assignee_id.is_(None))
    if channel:
        stmt = stmt.where(c.channel == channel)
    if visitor_id:
        stmt = stmt.where(c.visitor_id == visitor_id)
    if unread is not None:
        stmt = stmt.where(_has_unread() if unread else ~_has_unread())
    if after is not None:
        at, last_id = after
        stmt = stmt.where(
            or_(c.last_activity_at < at, and_(c.last_activity_at == at, c.id < last_id))
        )
    stmt = stmt.order_by(c.last_activity_at.desc(), c.id.desc()).limit(limit)
    return [ConversationView(**row._mapping) for row in await session.execute(stmt)]


# --- the visitor's conversation, opening and changing ---------------------------------------
class VisitorState(NamedTuple):
    blocked: bool | None
    name: str | None
    label: str | None
    email: str | None
    id: uuid.UUID | None
    status: str | None
    channel: str | None


# The visitor's projection (blocked, name) and their current conversation (the open one, else
# the latest); one row even when neither exists. Only table names are formatted in.
_VISITOR_STATE = driver_statement(f"""
SELECT k.blocked, k.name, k.label, k.email, latest.id, latest.status, latest.channel
FROM (SELECT 1) AS one
LEFT JOIN (
    SELECT blocked, name, label, email FROM {visitors.fullname}
    WHERE account_id = :account_id AND visitor_id = :visitor_id
) AS k ON true
LEFT JOIN LATERAL (
    SELECT id, status, channel FROM {conversations.fullname}
    WHERE account_id = :account_id AND visitor_id = :visitor_id
    ORDER BY status = 'open' DESC, created_at DESC LIMIT 1
) AS latest ON true
""")  # noqa: S608


async def visitor_state(
    session: AsyncSession, account_id: uuid.UUID, visitor_id: uuid.UUID
) -> VisitorState:
    """One round trip (a read, on the driver connection): columns blocked, name, label,
    email, id, status, channel."""
    row = await driver_fetchrow(
        session, _VISITOR_STATE, read_only=True, account_id=account_id, visitor_id=visitor_id
    )
    return VisitorState(*row)


async def insert_conversation(session: AsyncSession, values: dict[str, Any]) -> uuid.UUID | None:
    """Insert an open conversation; None when the visitor already has an open one."""
    stmt = (
        pg_insert(conversations)
        .values(**values)
        .on_conflict_do_nothing(
            index_elements=["account_id", "visitor_id"],
            index_where=text("status = 'open'"),
        )
        .returning(conversations.c.id)
    )
    return (await session.execute(stmt)).scalar()


async def open_conversation_id(
    session: AsyncSession, account_id: uuid.UUID, visitor_id: uuid.UUID
) -> uuid.UUID | None:
    stmt = select(conversations.c.id).where(
        conversations.c.account_id == account_id,
        conversations.c.visitor_id == visitor_id,
        conversations.c.status == "open",
    )
    return (await session.execute(stmt)).scalar()


async def get_conversation(
    session: AsyncSession, account_id: uuid.UUID, conversation_id: uuid.UUID, *, lock: bool = False
) -> ConversationRow | None:
    stmt = select(conversations).where(
        conversations.c.account_id == account_id, conversations.c.id == conversation_id
    )
    if lock:
        stmt = stmt.with_for_update()
    return row_as(ConversationRow, (await session.execute(stmt)).first())


async def latest_conversation(
    session: AsyncSession, account_id: uuid.UUID, visitor_id: uuid.UUID
) -> ConversationRow | None:
    stmt = (
        select(conversations)
        .where(conversations.c.account_id == account_id, conversations.c.visitor_id == visitor_id)
        .order_by((conversations.c.status == "open").desc(), conversations.c.created_at.desc())
        .limit(1)
    )
    return row_as(ConversationRow, (await session.execute(stmt)).first())


async def update_conversation(
    session: AsyncSession, account_id: uuid.UUID, conversation_id: uuid.UUID, **values: Any
) -> ConversationRow | None:
    stmt = (
        update(conversations)
        .where(conversations.c.account_id == account_id, conversations.c.id == conversation_id)
        .values(**values)
        .returning(conversations)
    )
    return row_as(ConversationRow, (await session.execute(stmt)).first())


async def idle_conversations(
    session: AsyncSession, default_minutes: int, limit: int = 200
) -> Sequence[Any]:
    """Open conversations idle longer than their account's auto-resolve time."""
    accounts = Account.__table__
    minutes = func.coalesce(accounts.c.auto_resolve_minutes, default_minutes)
    stmt = (
        select(conversations.c.account_id, conversations.c.id)
        .select_from(
            conversations.outerjoin(accounts, accounts.c.account_id == conversations.c.account_id)
        )
        .where(
            conversations.c.status == "open",
            minutes > 0,
            conversations.c.last_activity_at
            < func.now() - func.make_interval(0, 0, 0, 0, 0, minutes),
        )
        .limit(limit)
    )
    return (await session.execute(stmt)).all()


async def get_conversation_any_account(
    session: AsyncSession, conversation_id: uuid.UUID
) -> ConversationRow | None:
    """Only for ids proven by a signed reply address (inbound e-mail), which names no account."""
    stmt = select(conversations).where(conversations.c.id == conversation_id)
    return row_as(ConversationRow, (await session.execute(stmt)).first())
