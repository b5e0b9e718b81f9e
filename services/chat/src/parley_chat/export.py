"""What chat holds about one visitor, for the visitors service's GDPR export (internal API)."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from parley_chat.attachments import service as attachments
from parley_chat.facebook.models import FacebookContact
from parley_chat.messages.repository import MESSAGE_COLUMNS, messages
from parley_chat.models import Attachment, Conversation


async def visitor_export(
    session: AsyncSession, account_id: uuid.UUID, visitor_id: uuid.UUID
) -> dict[str, Any]:
    conversations = (
        await session.scalars(
            select(Conversation)
            .where(Conversation.account_id == account_id, Conversation.visitor_id == visitor_id)
            .order_by(Conversation.created_at)
        )
    ).all()
    ids = [c.id for c in conversations]
    rows = (
        await session.execute(
            select(*MESSAGE_COLUMNS)
            .where(messages.c.account_id == account_id, messages.c.conversation_id.in_(ids))
            .order_by(messages.c.seq)
        )
    ).all()
    by_conversation: dict[uuid.UUID, list[dict[str, Any]]] = {}
    for row in rows:
        by_conversation.setdefault(row.conversation_id, []).append(dict(row._mapping))
    files = (
        await session.scalars(
            select(Attachment).where(
                Attachment.account_id == account_id, Attachment.conversation_id.in_(ids)
            )
        )
    ).all()
    contacts = (
        await session.scalars(
            select(FacebookContact).where(
                FacebookContact.account_id == account_id, FacebookContact.visitor_id == visitor_id
            )
        )
    ).all()
    return {
        "conversations": [
            {
                "id": c.id,
                "status": c.status,
                "channel": c.channel,
                "created_at": c.created_at,
                "resolved_at": c.resolved_at,
                "rating": c.rating,
                "rating_comment": c.rating_comment,
                "rated_at": c.rated_at,
                "messages": by_conversation.get(c.id, []),
            }
            for c in conversations
        ],
        "attachments": [
            {
                **attachments.public(f),
                "conversation_id": f.conversation_id,
                "created_at": f.created_at,
            }
            for f in files
        ],
        "facebook": [{"page_id": c.page_id, "psid": c.psid, "name": c.name} for c in contacts],
    }
