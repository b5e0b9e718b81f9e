"""The one entry point for a message arriving from any visitor-side channel.

The widget, the contact form, a chatbot, an e-mail reply and Messenger all call
``append_message``, so they follow the same rules:
- a blocked visitor is refused (``VisitorBlocked``; a channel with nobody to answer drops it);
- the message goes into the visitor's current conversation: the open one, else the latest
  one, which reopens (``chat.conversation.reopened``); with none, a conversation is opened
  (``chat.conversation.created``), and if the account assigned it at once, the
  "Conversation assigned to ..." notice is posted;
- one ``chat.message.created`` event, written with the message (``messaging.store_message``);
- a repeated ``client_message_id`` of the same author changes nothing (no reopening either).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from parley_chat import projections
from parley_chat.attachments.service import Uploader
from parley_chat.conversations import repository as conversations_repo
from parley_chat.conversations.opening import open_conversation
from parley_chat.errors import VisitorBlocked
from parley_chat.events import emit_conversation
from parley_chat.messages.repository import MessageRow
from parley_chat.messages.store import (
    Author,
    existing_message,
    store_message,
    system_message,
    visitor_message_into_open_conversation,
)


@dataclass(frozen=True)
class Appended:
    conversation_id: uuid.UUID
    message: MessageRow
    created: bool  # False: the client_message_id was seen before; nothing changed


@dataclass(frozen=True)
class Channel:
    """How a channel's messages are stored and the conversations it opens."""

    # The message's channel: chat | email | facebook; None: the conversation's (a bot writing
    # into a Messenger conversation writes to Messenger).
    message_channel: str | None
    opens_as: str  # the channel of a conversation it opens
    started_by: str  # visitor | contact_form | bot


WIDGET = Channel("chat", "chat", "visitor")
CONTACT_FORM = Channel("chat", "contact_form", "contact_form")
BOT = Channel(None, "chat", "bot")
EMAIL = Channel("email", "email", "visitor")
MESSENGER = Channel("facebook", "facebook", "visitor")


async def append_message(
    session: AsyncSession,
    channel: Channel,
    *,
    account_id: uuid.UUID,
    visitor_id: uuid.UUID,
    text: str,
    author: Author | None = None,
    conversation_id: uuid.UUID | None = None,
    client_message_id: str | None = None,
    attachment_ids: Sequence[uuid.UUID] = (),
    blocked_detail: str = "You cannot send messages.",
) -> Appended:
    """Append a visitor-side message (``author`` defaults to the visitor).

    ``conversation_id``: the conversation the message answers (an e-mail reply names one);
    it reopens if resolved, unless the visitor has another one open, which it then does not
    disturb. Without it, the visitor's current conversation takes the message.
    """
    if (
        author is None
        and conversation_id is None
        and not attachment_ids
        and channel.message_channel is not None
    ):
        # The common case (the visitor's open conversation takes it) in one round trip.
        message = await visitor_message_into_open_conversation(
            session,
            account_id=account_id,
            visitor_id=visitor_id,
            text=text,
            channel=channel.message_channel,
            client_message_id=client_message_id,
        )
        if message is not None:
            return Appended(message.conversation_id, message, True)
    # One round trip: blocked, the visitor's name, their current conversation and its status.
    state = await conversations_repo.visitor_state(session, account_id, visitor_id)
    if state.blocked:
        raise VisitorBlocked(blocked_detail)
    visitor_name = projections.visitor_display_name(state)
    if author is None:
        author = Author("visitor", visitor_id, visitor_name)
    target, status, conversation_channel = state.id, state.status, state.channel
    if conversation_id is not None and conversation_id != state.id:
        # The named conversation is not the current one: it is resolved (the visitor's open
        # conversation, if any, is the current one), and it reopens only if none is open.
        target, status = conversation_id, "open" if state.status == "open" else "resolved"
    reopen = status == "resolved"
    if target is None or reopen:
        # A retry of a stored message opens or reopens nothing.
        seen = await existing_message(session, account_id, author, client_message_id)
        if seen is not None:
            return Appended(seen.conversation_id, seen, False)
    opened: Any = None
    if target is None:
        opened, _ = await open_conversation(
            session,
            account_id=account_id,
            visitor_id=visitor_id,
            channel=channel.opens_as,
            started_by=channel.started_by,
        )
        target, conversation_channel = opened.id, opened.channel
    message_channel = channel.message_channel or (
        "facebook" if conversation_channel == "facebook" else "chat"
    )
    message, created = await store_message(
        session,
        account_id=account_id,
        conversation_id=target,
        visitor_id=visitor_id,
        author=author,
        text=text,
        channel=message_channel,
        uploader=Uploader(author.type, author.id, account_id)
        if attachment_ids and author.id
        else None,
        attachment_ids=attachment_ids,
        client_message_id=client_message_id,
        reopen=reopen,
        visitor_name=visitor_name,
        # Into the open conversation, without attachments: the request's only write, and
        # nothing follows it below (db.driver_fetchrow).
        last_write=opened is None and not reopen and not attachment_ids,
    )
    if created and reopen:
        row = await conversations_repo.get_conversation(session, account_id, target)
        await emit_conversation(session, "chat.conversation.reopened", account_id, row)
    if opened is not None and opened.assignee_id is not None:
        name = await projections.agent_name(session, account_id, opened.assignee_id)
        await system_message(session, opened, f"Conversation assigned to {name or 'an agent'}")
    return Appended(target, message, created)
