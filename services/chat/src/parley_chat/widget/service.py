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
from parley_chat.config import ChatSettings
from parley_chat.conversations import repository as conversations_repo
from parley_chat.conversations.typing_indicator import publish_typing
from parley_chat.errors import (
    AlreadyRated,
    ConversationNotFound,
    RatingNotRequested,
    VisitorBlocked,
)
from parley_chat.messages import repository as messages_repo
from parley_chat.messages.append import (
    BOT,
    CONTACT_FORM,
    EMAIL,
    WIDGET,
    Appended,
    append_message,
)
from parley_chat.messages.store import Author, check_content, clean_text
from parley_chat.schemas import ContactFormIn, RatingIn, VisitorMessageIn
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
) -> Appended:
    """The hot path: a visitor writes. Opens a conversation, or reopens their resolved one."""
    text = clean_text(body.text, settings.message_max_length)
    check_content(text, body.attachment_ids)
    return await append_message(
        session,
        WIDGET,
        account_id=visitor.account_id,
        visitor_id=visitor.visitor_id,
        text=text,
        client_message_id=body.client_message_id,
        attachment_ids=body.attachment_ids,
    )


async def current_conversation(
    session: AsyncSession, visitor: VisitorPrincipal, limit: int = 100
) -> dict[str, Any]:
    row = await conversations_repo.latest_conversation(
        session, visitor.account_id, visitor.visitor_id
    )
    if row is None:
        raise ConversationNotFound("You have no conversation yet.")
    messages = await messages_repo.list_messages(
        session, visitor.account_id, row.id, before=None, after=None, limit=limit, with_notes=False
    )
    return {
        "id": row.id,
        "status": row.status,
        "channel": row.channel,
        "rating_requested": row.rating_requested,
        "rated": row.rating is not None,
        "messages": list(reversed(messages)),
    }


async def contact_form(
    session: AsyncSession, settings: ChatSettings, visitor: VisitorPrincipal, body: ContactFormIn
) -> dict[str, Any]:
    """An offline message: a conversation agents can answer by e-mail. A blocked visitor's
    refusal rolls the e-mail back with everything else."""
    text = clean_text(body.text, settings.message_max_length)
    check_content(text, [])
    await projections.fill_visitor_contact(
        session, visitor.account_id, visitor.visitor_id, body.name, str(body.email)
    )
    appended = await append_message(
        session,
        CONTACT_FORM,
        account_id=visitor.account_id,
        visitor_id=visitor.visitor_id,
        text=text,
    )
    return {"conversation_id": appended.conversation_id, "message": appended.message}


async def rate(session: AsyncSession, visitor: VisitorPrincipal, body: RatingIn) -> dict[str, Any]:
    row = await conversations_repo.get_conversation(
        session, visitor.account_id, body.conversation_id, lock=True
    )
    if row is None or row.visitor_id != visitor.visitor_id:
        raise ConversationNotFound()
    if row.rating is not None:
        raise AlreadyRated()
    if not row.rating_requested:
        raise RatingNotRequested()
    value = RATING_VALUES[body.rating] if isinstance(body.rating, str) else body.rating
    label = body.rating if isinstance(body.rating, str) else None
    updated = await conversations_repo.update_conversation(
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
    conversation_id = await conversations_repo.open_conversation_id(
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
) -> None:
    """A chatbot or automatic message writes into the visitor's current conversation (opening
    one if none). Nothing is written to a blocked visitor."""
    try:
        # In a Messenger conversation the message goes to Messenger too: the worker sends it
        # after commit (messages/delivery.py); a refusal is recorded, the message stays.
        await append_message(
            session,
            BOT,
            account_id=account_id,
            visitor_id=visitor_id,
            text=text[:10_000],
            author=Author("bot", bot_id, "Bot"),
        )
    except VisitorBlocked:
        return


async def email_reply(
    session: AsyncSession, conversation_id: uuid.UUID, text: str, message_key: str | None
) -> bool:
    """An e-mail reply from the visitor lands in the conversation its address names.

    ``message_key`` (the mail's Message-ID) makes a re-delivered mail a no-op. The conversation
    id comes from a signed address, so the account is taken from the conversation itself. A
    blocked visitor's reply is accepted and dropped, as Messenger's are (no bounce tells them).
    """
    row = await conversations_repo.get_conversation_any_account(session, conversation_id)
    if row is None:
        return False
    try:
        await append_message(
            session,
            EMAIL,
            account_id=row.account_id,
            visitor_id=row.visitor_id,
            text=text,
            conversation_id=row.id,
            client_message_id=message_key,
        )
    except VisitorBlocked:
        pass
    return True
