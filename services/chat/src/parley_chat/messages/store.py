"""The message path: append a message to a conversation, open conversations, route them.

This is the product's hottest path. It runs as SQLAlchemy Core statements on the request's
session (no ORM unit of work): one lookup, then one statement for the message insert, the
conversation update and the outbox insert, committed once at the edge.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from parley_chat.attachments import service as attachment_store
from parley_chat.errors import ConversationNotFound, EmptyMessage, MessageTooLong
from parley_chat.events import message_event
from parley_chat.messages import repository as repo
from parley_chat.messages.repository import MessageRow


@dataclass(frozen=True)
class Author:
    type: str  # visitor | agent | bot | system
    id: uuid.UUID | None
    name: str | None


SYSTEM = Author("system", None, None)
# Channels whose messages leave Parley: the chat worker sends them after commit.
SENT_ELSEWHERE = ("email", "facebook")


def clean_text(text: str, max_length: int) -> str:
    # Plain text only: stored as given (minus NULs and outer whitespace), never rendered.
    cleaned = text.replace("\x00", "").strip()
    if len(cleaned) > max_length:
        raise MessageTooLong(f"Messages are limited to {max_length} characters.")
    return cleaned


def check_content(text: str, attachment_ids: Sequence[uuid.UUID]) -> None:
    if not text and not attachment_ids:
        raise EmptyMessage()


async def store_message(
    session: AsyncSession,
    *,
    account_id: uuid.UUID,
    conversation_id: uuid.UUID,
    visitor_id: uuid.UUID,
    author: Author,
    text: str,
    channel: str = "chat",
    uploader: attachment_store.Uploader | None = None,
    attachment_ids: Sequence[uuid.UUID] = (),
    client_message_id: str | None = None,
    reopen: bool = False,
    visitor_name: str | None = None,
    internal: bool = False,
    last_write: bool = False,
) -> tuple[MessageRow, bool]:
    """Store a message and its event; returns (message, created). Visitor-side channels
    call ``messages.append.append_message`` instead, which applies the conversation rules.

    A repeated ``client_message_id`` of the same author returns the first message and
    changes nothing. ``last_write``: nothing follows in the request (``db.driver_fetchrow``);
    an agent's message is followed by its read marker, so it never is.
    """
    now = datetime.now(UTC)
    message_id = uuid.uuid4()
    values = {
        "id": message_id,
        "account_id": account_id,
        "conversation_id": conversation_id,
        "author_type": author.type,
        "author_id": author.id,
        "author_name": author.name,
        "text": text,
        "channel": channel,
        "client_message_id": client_message_id,
        "internal": internal,
        "created_at": now,
        # Sent by the worker after commit (messages/delivery.py), never under the row lock.
        "delivery": {"status": "pending"}
        if channel in SENT_ELSEWHERE and author.type in ("agent", "bot") and not internal
        else None,
    }
    if attachment_ids and uploader is not None:
        # Claimed first so the JSON copy on the message is complete; the unique index still
        # turns a retry into a no-op (the claim rolls back with the 201 of the first send).
        existing = await existing_message(session, account_id, author, client_message_id)
        if existing is not None:
            return existing, False
        values["attachments"] = await attachment_store.claim(
            session,
            uploader=uploader,
            ids=attachment_ids,
            conversation_id=conversation_id,
            message_id=message_id,
        )
    if visitor_name is None and author.type == "visitor":
        visitor_name = author.name
    message = {**values, "seq": 0, "attachments": values.get("attachments", [])}
    event = message_event(account_id, visitor_id, message, visitor_name)
    appended = await repo.append_message(
        session,
        values,
        at=now,
        reopen=reopen,
        event=event,
        visitor_name=visitor_name,
        last_write=last_write and author.type != "agent",
    )
    if appended is None:
        existing = await existing_message(session, account_id, author, client_message_id)
        if existing is None:  # the conversation went (erased) while the message was on its way
            raise ConversationNotFound()
        return existing, False
    stored = _stored(values, appended)
    if author.type == "agent" and author.id is not None:
        await repo.set_read_marker(
            session,
            account_id=account_id,
            conversation_id=conversation_id,
            agent_id=author.id,
            last_read_seq=appended.seq,
        )
    return stored, True


async def visitor_message_into_open_conversation(
    session: AsyncSession,
    *,
    account_id: uuid.UUID,
    visitor_id: uuid.UUID,
    text: str,
    channel: str,
    client_message_id: str | None,
) -> MessageRow | None:
    """The message path's common case in one statement: a visitor (not blocked) writes into
    their open conversation, named as their projection names them. None, with nothing
    written, in every other case (no open conversation, blocked, a retry of a stored
    message): ``append.append_message`` then applies the general rules.

    As ``store_message`` with ``last_write=True``: nothing may follow it in the request."""
    now = datetime.now(UTC)
    values = {
        "id": uuid.uuid4(),
        "account_id": account_id,
        "conversation_id": None,  # the open one, chosen by the statement
        "author_type": "visitor",
        "author_id": visitor_id,
        "author_name": None,  # the projection's, set by the statement (event and row)
        "text": text,
        "channel": channel,
        "client_message_id": client_message_id,
        "internal": False,
        "created_at": now,
        "delivery": None,
        "visitor_id": visitor_id,  # whose open conversation
    }
    # seq, conversation_id and the names in the event are set by the statement.
    event = message_event(
        account_id, visitor_id, {**values, "conversation_id": _UNKNOWN, "seq": 0, "attachments": []}
    )
    appended = await repo.append_message(
        session, values, at=now, reopen=False, event=event, into_open=True, last_write=True
    )
    return None if appended is None else _stored(values, appended)


_UNKNOWN = uuid.UUID(int=0)


def _stored(values: dict[str, Any], appended: repo.Appended) -> MessageRow:
    return MessageRow(
        id=values["id"],
        seq=appended.seq,
        conversation_id=appended.conversation_id,
        author_type=values["author_type"],
        author_id=values["author_id"],
        author_name=appended.author_name,
        text=values["text"],
        channel=values["channel"],
        client_message_id=values["client_message_id"],
        attachments=values.get("attachments", []),
        internal=values["internal"],
        created_at=values["created_at"],
        delivery=values["delivery"],
    )


async def existing_message(
    session: AsyncSession, account_id: uuid.UUID, author: Author, client_message_id: str | None
) -> MessageRow | None:
    if client_message_id is None or author.id is None:
        return None
    return await repo.message_by_client_id(session, account_id, author.id, client_message_id)


async def system_message(session: AsyncSession, conversation: Any, text: str) -> None:
    await store_message(
        session,
        account_id=conversation.account_id,
        conversation_id=conversation.id,
        visitor_id=conversation.visitor_id,
        author=SYSTEM,
        text=text,
    )
