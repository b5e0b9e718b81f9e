"""Visitor-side use cases: messages, the current conversation, contact form, rating, typing.

Also the other ways a visitor's words arrive: bot messages and e-mail replies.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncSession

from parley_chat import projections
from parley_chat import repository as repo
from parley_chat.attachments import Uploader
from parley_chat.config import ChatSettings
from parley_chat.errors import (
    AlreadyRated,
    ConversationNotFound,
    RatingNotRequested,
    VisitorBlocked,
)
from parley_chat.events import emit_conversation
from parley_chat.facebook import service as facebook
from parley_chat.messaging import (
    Author,
    append_message,
    check_content,
    clean_text,
    open_conversation,
    system_message,
)
from parley_chat.schemas import ContactFormIn, RatingIn, VisitorMessageIn
from parley_chat.typing_indicator import publish_typing
from parley_common.security import VisitorPrincipal

RATING_VALUES = {"good": 5, "bad": 1}


async def _visitor_author(
    session: AsyncSession, account_id: uuid.UUID, visitor_id: uuid.UUID
) -> Author:
    row = await projections.get_visitor(session, account_id, visitor_id)
    return Author("visitor", visitor_id, projections.visitor_display_name(row))


async def ensure_not_blocked(session: AsyncSession, visitor: VisitorPrincipal) -> None:
    """A blocked visitor sends nothing: no messages, no files."""
    row = await projections.get_visitor(session, visitor.account_id, visitor.visitor_id)
    if row is not None and row.blocked:
        raise VisitorBlocked("You cannot send files.")


async def send_visitor_message(
    session: AsyncSession, settings: ChatSettings, visitor: VisitorPrincipal, body: VisitorMessageIn
) -> tuple[uuid.UUID, dict[str, Any], bool]:
    """The hot path: a visitor writes. Opens a conversation, or reopens their resolved one."""
    text = clean_text(body.text, settings.message_max_length)
    check_content(text, body.attachment_ids)
    account_id, visitor_id = visitor.account_id, visitor.visitor_id
    state = await repo.visitor_state(session, account_id, visitor_id)
    if state.blocked:
        raise VisitorBlocked("You cannot send messages.")
    created_conversation: Any = None
    if state.id is None:
        created_conversation, _ = await open_conversation(
            session,
            account_id=account_id,
            visitor_id=visitor_id,
            channel="chat",
            started_by="visitor",
        )
        conversation_id = created_conversation.id
    else:
        conversation_id = state.id
    reopen = state.status == "resolved"
    message, created = await append_message(
        session,
        account_id=account_id,
        conversation_id=conversation_id,
        visitor_id=visitor_id,
        # The projection row came with the lookup: no second query for the author's name.
        author=Author("visitor", visitor_id, projections.visitor_display_name(state)),
        text=text,
        uploader=Uploader("visitor", visitor_id, account_id),
        attachment_ids=body.attachment_ids,
        client_message_id=body.client_message_id,
        reopen=reopen,
        # Into the open conversation, without attachments: the request's only write.
        alone=created_conversation is None and not reopen and not body.attachment_ids,
    )
    if created and reopen:
        row = await repo.get_conversation(session, account_id, conversation_id)
        await emit_conversation(session, "chat.conversation.reopened", account_id, row)
    if created_conversation is not None and created_conversation.assignee_id is not None:
        name = (
            await projections.agent_name(session, account_id, created_conversation.assignee_id)
            or "an agent"
        )
        await system_message(session, created_conversation, f"Conversation assigned to {name}")
    return message["conversation_id"], message, created


async def current_conversation(
    session: AsyncSession, visitor: VisitorPrincipal, limit: int = 100
) -> dict[str, Any]:
    row = await repo.latest_conversation(session, visitor.account_id, visitor.visitor_id)
    if row is None:
        raise ConversationNotFound("You have no conversation yet.")
    messages = await repo.list_messages(
        session, visitor.account_id, row.id, before=None, after=None, limit=limit, with_notes=False
    )
    return {
        "id": row.id,
        "status": row.status,
        "channel": row.channel,
        "rating_requested": row.rating_requested,
        "rated": row.rating is not None,
        "messages": [dict(m._mapping) for m in reversed(messages)],
    }


async def contact_form(
    session: AsyncSession, settings: ChatSettings, visitor: VisitorPrincipal, body: ContactFormIn
) -> dict[str, Any]:
    """An offline message: a conversation agents can answer by e-mail."""
    account_id, visitor_id = visitor.account_id, visitor.visitor_id
    state = await repo.visitor_state(session, account_id, visitor_id)
    if state.blocked:
        raise VisitorBlocked("You cannot send messages.")
    text = clean_text(body.text, settings.message_max_length)
    check_content(text, [])
    await projections.fill_visitor_contact(
        session, account_id, visitor_id, body.name, str(body.email)
    )
    row, _ = await open_conversation(
        session,
        account_id=account_id,
        visitor_id=visitor_id,
        channel="contact_form",
        started_by="contact_form",
    )
    message, _ = await append_message(
        session,
        account_id=account_id,
        conversation_id=row.id,
        visitor_id=visitor_id,
        author=await _visitor_author(session, account_id, visitor_id),
        text=text,
    )
    return {"conversation_id": row.id, "message": message}


async def rate(session: AsyncSession, visitor: VisitorPrincipal, body: RatingIn) -> dict[str, Any]:
    row = await repo.get_conversation(session, visitor.account_id, body.conversation_id, lock=True)
    if row is None or row.visitor_id != visitor.visitor_id:
        raise ConversationNotFound()
    if row.rating is not None:
        raise AlreadyRated()
    if not row.rating_requested:
        raise RatingNotRequested()
    value = RATING_VALUES[body.rating] if isinstance(body.rating, str) else body.rating
    label = body.rating if isinstance(body.rating, str) else None
    updated = await repo.update_conversation(
        session,
        visitor.account_id,
        row.id,
        rating=value,
        rating_label=label,
        rating_comment=body.comment,
        rated_at=datetime.now(UTC),
    )
    assert updated is not None
    return {
        "conversation_id": updated.id,
        "rating": updated.rating,
        "comment": updated.rating_comment,
    }


async def visitor_typing(
    session: AsyncSession, redis: Redis, namespace: str, visitor: VisitorPrincipal
) -> None:
    conversation_id = await repo.open_conversation_id(
        session, visitor.account_id, visitor.visitor_id
    )
    if conversation_id is None:
        return
    author = await _visitor_author(session, visitor.account_id, visitor.visitor_id)
    await publish_typing(
        redis,
        namespace,
        account_id=visitor.account_id,
        conversation_id=conversation_id,
        visitor_id=visitor.visitor_id,
        author_type="visitor",
        author_id=visitor.visitor_id,
        author_name=author.name,
    )


async def bot_message(
    session: AsyncSession,
    account_id: uuid.UUID,
    visitor_id: uuid.UUID,
    text: str,
    bot_id: uuid.UUID | None,
    conversation_id: uuid.UUID | None,
) -> None:
    """A chatbot or automatic message writes to the visitor (opening a conversation if none).

    Nothing is written to a blocked visitor.
    """
    if (await repo.visitor_state(session, account_id, visitor_id)).blocked:
        return
    row = None
    if conversation_id is not None:
        row = await repo.get_conversation(session, account_id, conversation_id)
        if row is not None and (row.visitor_id != visitor_id or row.status != "open"):
            row = None
    if row is None:
        row, _ = await open_conversation(
            session, account_id=account_id, visitor_id=visitor_id, channel="chat", started_by="bot"
        )
    messenger = row.channel == "facebook"
    message, created = await append_message(
        session,
        account_id=account_id,
        conversation_id=row.id,
        visitor_id=visitor_id,
        author=Author("bot", bot_id, "Bot"),
        text=text[:10_000],
        channel="facebook" if messenger else "chat",
    )
    if created and messenger:
        await facebook.deliver_bot_message(session, account_id, visitor_id, message)


async def email_reply(
    session: AsyncSession, conversation_id: uuid.UUID, text: str, message_key: str | None
) -> bool:
    """An e-mail reply from the visitor: appended with channel "email", reopening if needed.

    ``message_key`` (the mail's Message-ID) makes a re-delivered mail a no-op. The conversation
    id comes from a signed address, so the account is taken from the conversation itself.
    """
    row = await repo.get_conversation_any_account(session, conversation_id)
    if row is None:
        return False
    author = await _visitor_author(session, row.account_id, row.visitor_id)
    reopen = row.status == "resolved"
    if reopen and await repo.open_conversation_id(session, row.account_id, row.visitor_id):
        reopen = False  # another conversation is open; the reply still lands here
    _, created = await append_message(
        session,
        account_id=row.account_id,
        conversation_id=row.id,
        visitor_id=row.visitor_id,
        author=author,
        text=text,
        channel="email",
        client_message_id=message_key,
        reopen=reopen,
    )
    if created and reopen:
        updated = await repo.get_conversation(session, row.account_id, row.id)
        await emit_conversation(session, "chat.conversation.reopened", row.account_id, updated)
    return True
