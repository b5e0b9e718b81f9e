"""Agent-side conversation use cases: list, view, contact, join, assign, resolve, read state."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from parley_chat import projections
from parley_chat.conversations import repository as repo
from parley_chat.conversations.opening import open_conversation
from parley_chat.errors import (
    AgentNotFound,
    ConversationNotFound,
    ConversationNotOpen,
    ConversationNotResolved,
    InvalidFilter,
    VisitorBlocked,
    VisitorHasOpenConversation,
    VisitorNotFound,
)
from parley_chat.events import emit_conversation
from parley_chat.messages import repository as messages_repo
from parley_chat.messages.store import Author, store_message, system_message
from parley_chat.schemas import ConversationOut, ConversationPage, LastMessageOut, PersonOut
from parley_common.pagination import InvalidCursor, decode_time_id, page_of
from parley_common.security import AgentPrincipal


# --- reading ----------------------------------------------------------------------------------
def conversation_out(row: repo.ConversationView) -> ConversationOut:
    return ConversationOut(
        id=row.id,
        status=row.status,  # type: ignore[arg-type]  # "open" | "resolved" by the table's check
        channel=row.channel,
        started_by=row.started_by,
        visitor_id=row.visitor_id,
        visitor=PersonOut(
            id=row.visitor_id, name=row.visitor_name or row.visitor_label, email=row.visitor_email
        ),
        assignee_id=row.assignee_id,
        assignee=PersonOut(id=row.assignee_id, name=row.assignee_name) if row.assignee_id else None,
        agent_ids=list(row.agent_ids or []),
        last_message=LastMessageOut(
            text=row.last_message_preview,
            author_type=row.last_message_author_type,
            created_at=row.last_message_at,
        ),
        unread_count=row.unread_count,
        marked_unread=row.marked_unread,
        created_at=row.created_at,
        last_activity_at=row.last_activity_at,
        resolved_at=row.resolved_at,
        rating=row.rating,
        rating_comment=row.rating_comment,
    )


async def get_view(
    session: AsyncSession, agent: AgentPrincipal, conversation_id: uuid.UUID
) -> ConversationOut:
    row = await repo.conversation_view(session, agent.account_id, agent.agent_id, conversation_id)
    if row is None:
        raise ConversationNotFound()
    return conversation_out(row)


async def list_views(
    session: AsyncSession,
    agent: AgentPrincipal,
    *,
    status: str | None,
    assignee: str | None,
    unassigned: bool,
    unread: bool | None,
    channel: str | None,
    visitor_id: uuid.UUID | None,
    cursor: str | None,
    limit: int,
) -> ConversationPage:
    assignee_id: uuid.UUID | None = None
    if assignee == "me":
        assignee_id = agent.agent_id
    elif assignee:
        try:
            assignee_id = uuid.UUID(assignee)
        except ValueError as exc:
            raise InvalidFilter("`assignee` must be an agent id or `me`.") from exc
    rows = await repo.list_conversation_views(
        session,
        agent.account_id,
        agent.agent_id,
        status=status,
        assignee_id=assignee_id,
        unassigned=unassigned,
        unread=unread,
        channel=channel,
        visitor_id=visitor_id,
        after=decode_time_id(cursor),
        limit=limit + 1,
    )
    page, next_cursor = page_of(rows, limit, lambda row: (row.last_activity_at, row.id))
    return ConversationPage(items=[conversation_out(row) for row in page], next_cursor=next_cursor)


async def list_messages(
    session: AsyncSession,
    account_id: uuid.UUID,
    conversation_id: uuid.UUID,
    *,
    cursor: str | None,
    since: int | None,
    limit: int,
) -> dict[str, Any]:
    if await repo.get_conversation(session, account_id, conversation_id) is None:
        raise ConversationNotFound()
    before: int | None = None
    if cursor:
        try:
            before = int(cursor)
        except ValueError as exc:
            raise InvalidCursor("The cursor is not valid.") from exc
    rows = await messages_repo.list_messages(
        session, account_id, conversation_id, before=before, after=since, limit=limit + 1
    )
    items = rows[:limit]
    # History pages newest first (pass next_cursor as `cursor`); catching up with `since` goes
    # oldest first (pass the last seq as `since` again while next_cursor is set).
    has_more = len(rows) > limit
    return {"items": items, "next_cursor": str(items[-1].seq) if has_more else None}


# --- changing ---------------------------------------------------------------------------------
async def agent_display(session: AsyncSession, agent: AgentPrincipal) -> str:
    """The author name people see: the agent's name, or an API key's as "Zapier (API)"."""
    if agent.key_name is not None:
        return f"{agent.key_name} (API)"
    return await projections.agent_name(session, agent.account_id, agent.agent_id) or "Agent"


async def _locked(
    session: AsyncSession, account_id: uuid.UUID, conversation_id: uuid.UUID
) -> repo.ConversationRow:
    row = await repo.get_conversation(session, account_id, conversation_id, lock=True)
    if row is None:
        raise ConversationNotFound()
    return row


async def contact_visitor(
    session: AsyncSession, agent: AgentPrincipal, visitor_id: uuid.UUID, text: str | None
) -> tuple[ConversationOut, bool]:
    """The agent starts a conversation with a visitor (or gets the one already open)."""
    visitor = await projections.get_visitor(session, agent.account_id, visitor_id)
    if visitor is None:
        raise VisitorNotFound()
    if visitor.blocked:
        raise VisitorBlocked()
    row, created = await open_conversation(
        session,
        account_id=agent.account_id,
        visitor_id=visitor_id,
        channel="chat",
        started_by="agent",
        assignee_id=agent.agent_id,
    )
    if text:
        name = await agent_display(session, agent)
        await store_message(
            session,
            account_id=agent.account_id,
            conversation_id=row.id,
            visitor_id=visitor_id,
            author=Author("agent", agent.agent_id, name),
            text=text,
        )
    return await get_view(session, agent, row.id), created


async def join(
    session: AsyncSession, agent: AgentPrincipal, conversation_id: uuid.UUID
) -> ConversationOut:
    row = await _locked(session, agent.account_id, conversation_id)
    await join_if_needed(session, agent, row)
    return await get_view(session, agent, conversation_id)


async def join_if_needed(
    session: AsyncSession, agent: AgentPrincipal, row: repo.ConversationRow
) -> None:
    """Add the agent to the conversation; the first agent to join becomes the assignee. An
    API key never joins: an integration writing must not take the conversation (and its
    pushes, which go to the assignee) from the team."""
    if agent.is_api_key or agent.agent_id in (row.agent_ids or []):
        return
    values: dict[str, Any] = {"agent_ids": [*(row.agent_ids or []), agent.agent_id]}
    if row.assignee_id is None:
        values["assignee_id"] = agent.agent_id
    updated = await repo.update_conversation(session, agent.account_id, row.id, **values)
    name = await agent_display(session, agent)
    await system_message(session, updated, f"{name} joined the conversation")
    if row.assignee_id is None:
        await emit_conversation(
            session,
            "chat.conversation.assigned",
            agent.account_id,
            updated,
            assignee_name=name,
            agent_id=agent.agent_id,
        )


async def assign(
    session: AsyncSession, agent: AgentPrincipal, conversation_id: uuid.UUID, assignee_id: uuid.UUID
) -> ConversationOut:
    row = await _locked(session, agent.account_id, conversation_id)
    if not await projections.is_active_agent(session, agent.account_id, assignee_id):
        raise AgentNotFound("The assignee must be an agent of this account.")
    if row.assignee_id != assignee_id:
        agent_ids = list(row.agent_ids or [])
        if assignee_id not in agent_ids:
            agent_ids.append(assignee_id)
        updated = await repo.update_conversation(
            session, agent.account_id, conversation_id, assignee_id=assignee_id, agent_ids=agent_ids
        )
        name = await projections.agent_name(session, agent.account_id, assignee_id) or "Agent"
        await system_message(session, updated, f"Conversation assigned to {name}")
        await emit_conversation(
            session,
            "chat.conversation.assigned",
            agent.account_id,
            updated,
            assignee_name=name,
            assigned_by=agent.agent_id,
            agent_id=agent.agent_id,
        )
    return await get_view(session, agent, conversation_id)


async def resolve_conversation(
    session: AsyncSession,
    account_id: uuid.UUID,
    conversation_id: uuid.UUID,
    *,
    resolved_by: uuid.UUID | None,
) -> None:
    row = await _locked(session, account_id, conversation_id)
    if row.status != "open":
        raise ConversationNotOpen()
    prefs = await projections.account_prefs(session, account_id)
    rating_requested = prefs.rating_enabled and row.rating is None
    updated = await repo.update_conversation(
        session,
        account_id,
        conversation_id,
        status="resolved",
        resolved_at=datetime.now(UTC),
        resolved_by=resolved_by,
        rating_requested=rating_requested or row.rating_requested,
    )
    await system_message(session, updated, "Conversation resolved")
    await emit_conversation(
        session,
        "chat.conversation.resolved",
        account_id,
        updated,
        rating_requested=rating_requested,
        resolved_by=resolved_by,
        agent_id=resolved_by,
    )


async def resolve(
    session: AsyncSession, agent: AgentPrincipal, conversation_id: uuid.UUID
) -> ConversationOut:
    await resolve_conversation(
        session, agent.account_id, conversation_id, resolved_by=agent.agent_id
    )
    return await get_view(session, agent, conversation_id)


async def reopen(
    session: AsyncSession, agent: AgentPrincipal, conversation_id: uuid.UUID
) -> ConversationOut:
    row = await _locked(session, agent.account_id, conversation_id)
    if row.status != "resolved":
        raise ConversationNotResolved()
    if await repo.open_conversation_id(session, agent.account_id, row.visitor_id):
        raise VisitorHasOpenConversation()
    updated = await repo.update_conversation(
        session,
        agent.account_id,
        conversation_id,
        status="open",
        resolved_at=None,
        resolved_by=None,
        last_activity_at=datetime.now(UTC),
    )
    await system_message(session, updated, "Conversation reopened")
    await emit_conversation(session, "chat.conversation.reopened", agent.account_id, updated)
    return await get_view(session, agent, conversation_id)


async def mark(
    session: AsyncSession, agent: AgentPrincipal, conversation_id: uuid.UUID, *, unread: bool
) -> ConversationOut:
    row = await repo.get_conversation(session, agent.account_id, conversation_id)
    if row is None:
        raise ConversationNotFound()
    if unread:
        await messages_repo.set_read_marker(
            session,
            account_id=agent.account_id,
            conversation_id=conversation_id,
            agent_id=agent.agent_id,
            marked_unread=True,
        )
    else:
        await messages_repo.set_read_marker(
            session,
            account_id=agent.account_id,
            conversation_id=conversation_id,
            agent_id=agent.agent_id,
            last_read_seq=row.last_seq,
            marked_unread=False,
        )
    await emit_conversation(
        session,
        "chat.conversation.read",
        agent.account_id,
        row,
        agent_id=agent.agent_id,
        unread=unread,
        last_read_seq=row.last_seq,
    )
    return await get_view(session, agent, conversation_id)
