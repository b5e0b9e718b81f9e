"""SQL for attachments (every query by account, but the sweeper's); rows as ``AttachmentRow``."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from parley_chat.models import Attachment, Conversation
from parley_common.db import row_as

attachments = Attachment.__table__
conversations = Conversation.__table__


@dataclass(frozen=True, slots=True)
class AttachmentRow:
    id: uuid.UUID
    account_id: uuid.UUID
    uploader_type: str
    uploader_id: uuid.UUID
    conversation_id: uuid.UUID | None
    message_id: uuid.UUID | None
    name: str
    size: int
    content_type: str
    storage_key: str
    created_at: datetime


async def insert(
    session: AsyncSession,
    *,
    attachment_id: uuid.UUID,
    account_id: uuid.UUID,
    uploader_type: str,
    uploader_id: uuid.UUID,
    name: str,
    size: int,
    content_type: str,
    storage_key: str,
) -> AttachmentRow:
    stmt = (
        attachments.insert()
        .values(
            id=attachment_id,
            account_id=account_id,
            uploader_type=uploader_type,
            uploader_id=uploader_id,
            name=name,
            size=size,
            content_type=content_type,
            storage_key=storage_key,
        )
        .returning(attachments)
    )
    return AttachmentRow(**(await session.execute(stmt)).one()._mapping)


async def claim_unused(
    session: AsyncSession,
    account_id: uuid.UUID,
    *,
    ids: Sequence[uuid.UUID],
    uploader_type: str,
    uploader_id: uuid.UUID,
    conversation_id: uuid.UUID,
    message_id: uuid.UUID,
) -> list[AttachmentRow]:
    """Attach those of ``ids`` the uploader uploaded and no message holds yet; the rows claimed."""
    stmt = (
        update(attachments)
        .where(
            attachments.c.account_id == account_id,
            attachments.c.id.in_(ids),
            attachments.c.uploader_type == uploader_type,
            attachments.c.uploader_id == uploader_id,
            attachments.c.message_id.is_(None),
        )
        .values(conversation_id=conversation_id, message_id=message_id)
        .returning(attachments)
    )
    return [AttachmentRow(**row._mapping) for row in await session.execute(stmt)]


async def delete_unattached(session: AsyncSession, *, before: datetime, limit: int) -> list[str]:
    """Every account's (the sweeper's): up to ``limit`` uploads created before ``before`` and
    never attached; their storage keys."""
    stale = (
        select(attachments.c.id)
        .where(attachments.c.message_id.is_(None), attachments.c.created_at < before)
        .limit(limit)
        .scalar_subquery()
    )
    rows = await session.execute(
        delete(attachments)
        # Re-checked under the row lock: one claimed meanwhile is kept.
        .where(attachments.c.id.in_(stale), attachments.c.message_id.is_(None))
        .returning(attachments.c.storage_key)
    )
    return list(rows.scalars())


async def get(
    session: AsyncSession, account_id: uuid.UUID, attachment_id: uuid.UUID
) -> AttachmentRow | None:
    stmt = select(attachments).where(
        attachments.c.account_id == account_id, attachments.c.id == attachment_id
    )
    return row_as(AttachmentRow, (await session.execute(stmt)).first())


async def get_for_visitor(
    session: AsyncSession, account_id: uuid.UUID, visitor_id: uuid.UUID, attachment_id: uuid.UUID
) -> AttachmentRow | None:
    """The visitor's own upload, or an attachment in one of their conversations."""
    in_their_conversation = (
        select(conversations.c.id)
        .where(
            conversations.c.account_id == account_id,
            conversations.c.visitor_id == visitor_id,
            conversations.c.id == attachments.c.conversation_id,
        )
        .exists()
    )
    own = (attachments.c.uploader_type == "visitor") & (attachments.c.uploader_id == visitor_id)
    stmt = select(attachments).where(
        attachments.c.account_id == account_id,
        attachments.c.id == attachment_id,
        own | in_their_conversation,
    )
    return row_as(AttachmentRow, (await session.execute(stmt)).first())
