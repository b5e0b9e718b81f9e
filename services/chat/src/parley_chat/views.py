"""The agent's view of conversations: lists and details joined with the visitor, the assignee
and the agent's own unread count (SQLAlchemy Core; every query by account)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from parley_chat.repository import agents, conversations, markers, messages, visitors


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
) -> Any:
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
    return (await session.execute(stmt)).one()


async def conversation_view(
    session: AsyncSession, account_id: uuid.UUID, agent_id: uuid.UUID, conversation_id: uuid.UUID
) -> Any:
    stmt = _view(agent_id).where(
        conversations.c.account_id == account_id, conversations.c.id == conversation_id
    )
    return (await session.execute(stmt)).first()


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
) -> Sequence[Any]:
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
    return (await session.execute(stmt)).all()
