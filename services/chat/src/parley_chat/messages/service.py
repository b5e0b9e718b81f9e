"""Agent messages (chat, e-mail or Messenger, with shortcuts and attachments) and transcripts."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from parley_chat import projections
from parley_chat.attachments.service import Uploader
from parley_chat.config import ChatSettings
from parley_chat.conversations import repository as conversations_repo
from parley_chat.conversations.service import agent_display, join_if_needed
from parley_chat.email import mailer
from parley_chat.errors import ConversationNotFound, VisitorHasNoEmail
from parley_chat.facebook import service as messenger
from parley_chat.messages import repository as repo
from parley_chat.messages.repository import MessageRow
from parley_chat.messages.store import Author, check_content, clean_text, store_message
from parley_chat.schemas import AgentMessageIn
from parley_chat.shortcuts import service as shortcuts
from parley_common.errors import TooManyRequests
from parley_common.redis import RateLimiter
from parley_common.security import AgentPrincipal


async def send_agent_message(
    session: AsyncSession,
    settings: ChatSettings,
    agent: AgentPrincipal,
    conversation_id: uuid.UUID,
    body: AgentMessageIn,
) -> tuple[MessageRow, bool]:
    conversation = await conversations_repo.get_conversation(
        session, agent.account_id, conversation_id, lock=True
    )
    if conversation is None:
        raise ConversationNotFound()
    name = await agent_display(session, agent)
    visitor = await projections.get_visitor(session, agent.account_id, conversation.visitor_id)
    text = body.text
    if body.shortcut_id is not None:
        shortcut = await shortcuts.get(session, agent.account_id, body.shortcut_id)
        text = shortcuts.render(
            shortcut.text,
            {
                "visitor_name": projections.visitor_display_name(visitor),
                "visitor_email": visitor.email if visitor else None,
                "agent_name": name,
            },
        )
    text = clean_text(text, settings.message_max_length)
    check_content(text, body.attachment_ids)
    if body.channel == "email" and (visitor is None or not visitor.email):
        raise VisitorHasNoEmail("Add the visitor's e-mail address before replying by e-mail.")
    # On a Messenger conversation a chat reply goes to Messenger (channel "facebook").
    messenger_reply = (
        conversation.channel == "facebook" and body.channel == "chat" and not body.internal
    )
    if messenger_reply:
        await messenger.check_reply(
            session, agent.account_id, conversation.visitor_id, bool(body.attachment_ids)
        )
    if not body.internal:
        # A note is not a reply: the agent does not join (the visitor would see it).
        await join_if_needed(session, agent, conversation)
    # An e-mail or Messenger reply is stored "pending" with its event; the chat worker sends it
    # after commit (messages/delivery.py): no network call under the conversation's row lock.
    return await store_message(
        session,
        account_id=agent.account_id,
        conversation_id=conversation_id,
        visitor_id=conversation.visitor_id,
        author=Author("agent", agent.agent_id, name),
        text=text,
        channel="facebook" if messenger_reply else body.channel,
        uploader=Uploader("agent", agent.agent_id, agent.account_id),
        attachment_ids=body.attachment_ids,
        client_message_id=body.client_message_id,
        visitor_name=projections.visitor_display_name(visitor),
        internal=body.internal,
    )


async def send_transcript(
    session: AsyncSession,
    settings: ChatSettings,
    limiter: RateLimiter,
    agent: AgentPrincipal,
    conversation_id: uuid.UUID,
    email: str,
) -> dict[str, Any]:
    if (
        await conversations_repo.get_conversation(session, agent.account_id, conversation_id)
        is None
    ):
        raise ConversationNotFound()
    retry_after = await limiter.hit(
        f"chat:transcript:{agent.account_id}", limit=settings.transcripts_per_hour, window=3600
    )
    if retry_after is not None:
        raise TooManyRequests(retry_after, "Too many transcripts sent; try again later.")
    messages = await repo.visible_messages(session, agent.account_id, conversation_id)
    await mailer.send_transcript(settings, to=email, messages=messages)
    return {"sent_to": email, "messages": len(messages)}
