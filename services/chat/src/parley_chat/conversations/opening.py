"""Opening a conversation for a visitor (or finding the one already open), and routing it:
round-robin assignment when the account assigns automatically."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from parley_chat import projections
from parley_chat.conversations import repository as repo
from parley_chat.events import emit_conversation


async def open_conversation(
    session: AsyncSession,
    *,
    account_id: uuid.UUID,
    visitor_id: uuid.UUID,
    channel: str,
    started_by: str,
    assignee_id: uuid.UUID | None = None,
) -> tuple[Any, bool]:
    """Open a conversation for the visitor, or return the one already open.

    Returns (conversation row, created). A new conversation is unassigned (every online agent
    is told by ``chat.conversation.created``) unless the account assigns automatically.
    """
    now = datetime.now(UTC)
    auto_assigned = False
    if assignee_id is None:
        assignee_id = await _round_robin(session, account_id)
        auto_assigned = assignee_id is not None
    values = {
        "id": uuid.uuid4(),
        "account_id": account_id,
        "visitor_id": visitor_id,
        "status": "open",
        "channel": channel,
        "started_by": started_by,
        "assignee_id": assignee_id,
        "agent_ids": [assignee_id] if assignee_id else [],
        "last_activity_at": now,
        "created_at": now,
    }
    inserted = await repo.insert_conversation(session, values)
    if inserted is None:
        existing_id = await repo.open_conversation_id(session, account_id, visitor_id)
        row = await repo.get_conversation(session, account_id, existing_id) if existing_id else None
        assert row is not None
        return row, False
    if auto_assigned:
        assert assignee_id is not None
        await projections.set_last_assigned(session, account_id, assignee_id)
    row = await repo.get_conversation(session, account_id, inserted)
    await emit_conversation(
        session, "chat.conversation.created", account_id, row, started_by=started_by
    )
    if assignee_id is not None:
        await emit_conversation(
            session,
            "chat.conversation.assigned",
            account_id,
            row,
            assignee_name=await projections.agent_name(session, account_id, assignee_id),
        )
    return row, True


async def _round_robin(session: AsyncSession, account_id: uuid.UUID) -> uuid.UUID | None:
    prefs = await projections.account_prefs(session, account_id)
    if not prefs.auto_assign:
        return None
    online = await projections.online_agent_ids(session, account_id)
    if not online:
        return None
    last = prefs.last_assigned_agent_id
    later = [agent_id for agent_id in online if last is not None and agent_id > last]
    return later[0] if later else online[0]
