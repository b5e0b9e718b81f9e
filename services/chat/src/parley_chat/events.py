"""Events the chat service emits: written to its outbox in the same transaction as the change.

Conversation and message events have audience "visitor": the visitor's stream receives them,
so their payloads carry only what the visitor may see (no agent e-mails, no read state).
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from parley_chat.models import Base
from parley_common.events.envelope import Event
from parley_common.events.outbox import Outbox

outbox = Outbox(Base.metadata)


async def emit_conversation(
    session: AsyncSession, event_type: str, account_id: uuid.UUID, conversation: Any, **extra: Any
) -> None:
    """``conversation`` is a conversations row (or anything with the same attributes)."""
    data = {
        "conversation_id": conversation.id,
        "visitor_id": conversation.visitor_id,
        "status": conversation.status,
        "assignee_id": conversation.assignee_id,
        "channel": conversation.channel,
        **extra,
    }
    await outbox.emit(session, event_type, account_id, data)


def message_event(
    account_id: uuid.UUID,
    visitor_id: uuid.UUID,
    message: dict[str, Any],
    visitor_name: str | None = None,
) -> Event:
    """The ``chat.message.created`` event of a message, for the message path's single
    statement to write (``outbox.event``: validated and checked like ``outbox.emit``)."""
    return outbox.event(
        "chat.message.created",
        account_id,
        {
            "conversation_id": message["conversation_id"],
            "message_id": message["id"],
            "seq": message["seq"],
            "visitor_id": visitor_id,
            "visitor_name": visitor_name,
            "author_type": message["author_type"],
            "author_id": message["author_id"],
            "author_name": message["author_name"],
            "text": message["text"],
            "channel": message["channel"],
            "created_at": message["created_at"],
            "attachments": message["attachments"],
            "client_message_id": message["client_message_id"],
            "internal": message.get("internal", False),
        },
    )
