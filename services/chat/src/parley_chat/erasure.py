"""GDPR erasure of a visitor in chat: message text, attachments (rows and stored files),
ratings' comments, the visitor projection and Messenger contact. Conversations stay, without
personal data, so statistics keep their counts."""

from __future__ import annotations

import uuid

from sqlalchemy import delete, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from parley_chat.events import outbox
from parley_chat.facebook.models import FacebookContact
from parley_chat.models import Attachment, Conversation, Message, Visitor
from parley_common.erasure import erasure_consumer
from parley_common.storage import open_storage


async def erase_visitor(
    session: AsyncSession, account_id: uuid.UUID, visitor_id: uuid.UUID
) -> None:
    conversations = select(Conversation.id).where(
        Conversation.account_id == account_id, Conversation.visitor_id == visitor_id
    )
    files = (
        (
            await session.execute(
                delete(Attachment)
                .where(
                    Attachment.account_id == account_id,
                    or_(
                        Attachment.conversation_id.in_(conversations),
                        (Attachment.uploader_type == "visitor")
                        & (Attachment.uploader_id == visitor_id),
                    ),
                )
                .returning(Attachment.storage_key)
            )
        )
        .scalars()
        .all()
    )
    await session.execute(
        update(Message)
        .where(Message.account_id == account_id, Message.conversation_id.in_(conversations))
        .values(text="", author_name=None, attachments=[], client_message_id=None)
    )
    await session.execute(
        update(Conversation)
        .where(Conversation.account_id == account_id, Conversation.visitor_id == visitor_id)
        .values(last_message_preview=None, rating_comment=None)
    )
    await session.execute(
        delete(Visitor).where(Visitor.account_id == account_id, Visitor.visitor_id == visitor_id)
    )
    await session.execute(
        delete(FacebookContact).where(
            FacebookContact.account_id == account_id, FacebookContact.visitor_id == visitor_id
        )
    )
    storage = open_storage("chat")
    for key in files:
        await storage.delete(key)


CONSUMER = erasure_consumer(outbox, erase_visitor)
