"""Sending agents' (and bots') e-mail and Messenger messages: the chat worker, after commit.

The request stores the message with ``delivery = {"status": "pending"}`` and its
``chat.message.created`` event, under the conversation's row lock, and answers. This consumer
receives only those events (bound by author type and channel) and sends them through SMTP or
the Graph API outside any lock; the outcome is recorded on the message (``sent``, or
``failed`` with the problem's ``code`` and ``detail``), where the agent sees it.

A redelivered event whose message is no longer pending sends nothing. A crash between the
send and the commit sends it again (at least once: neither SMTP nor Graph takes an
idempotency key).
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from parley_chat import projections
from parley_chat.config import ChatSettings, get_chat_settings
from parley_chat.email import mailer
from parley_chat.errors import VisitorHasNoEmail
from parley_chat.facebook import service as messenger
from parley_chat.facebook.graph import GraphAPI, graph_client
from parley_chat.messages import repository as repo
from parley_common.errors import DomainError
from parley_common.events.catalogue import MessageCreated
from parley_common.events.consumer import Consumer
from parley_common.events.envelope import Event

log = logging.getLogger("parley.chat.delivery")


async def on_message_to_send(session: AsyncSession, event: Event) -> None:
    data = MessageCreated.model_validate(event.data)
    account_id = event.account_id
    message = await repo.get_message(session, account_id, data.message_id)
    if message is None or (message.delivery or {}).get("status") != "pending":
        return  # erased, or handled before
    settings = get_chat_settings()
    try:
        if message.channel == "email":
            await _mail(session, settings, account_id, data.visitor_id, message)
        else:
            async with graph_client() as client:
                graph = GraphAPI(client, settings.facebook_app_secret)
                await messenger.send(session, graph, account_id, data.visitor_id, message)
    except DomainError as exc:
        log.warning("message %s was not delivered: %s", message.id, exc.detail)
        outcome: dict[str, Any] = {"status": "failed", "code": exc.code, "detail": exc.detail}
    else:
        outcome = {"status": "sent"}
    await repo.set_delivery(session, account_id, message.id, outcome)


async def _mail(
    session: AsyncSession,
    settings: ChatSettings,
    account_id: uuid.UUID,
    visitor_id: uuid.UUID | None,
    message: Any,
) -> None:
    visitor = await projections.get_visitor(session, account_id, visitor_id) if visitor_id else None
    if visitor is None or not visitor.email:
        raise VisitorHasNoEmail("The visitor has no e-mail address.")
    await mailer.send_reply(
        settings,
        to=visitor.email,
        conversation_id=message.conversation_id,
        agent_name=message.author_name or "Agent",
        text=_with_links(settings, message),
    )


def _with_links(settings: ChatSettings, message: Any) -> str:
    links = [
        f"{a['name']}: {settings.public_url.rstrip('/')}{a['url']}" for a in message.attachments
    ]
    return "\n\n".join([message.text, *links]) if links else str(message.text)


# Only the messages something sends: routing words are author_type, previous_author_type,
# channel, account_id (catalogue.py), so the hot path's visitor messages never come here.
CONSUMER = Consumer(
    "deliveries",
    {"chat.message.created": on_message_to_send},
    prefetch=8,
    bindings={
        "chat.message.created": (
            "chat.message.created.agent.*.email.*",
            "chat.message.created.agent.*.facebook.*",
            "chat.message.created.bot.*.facebook.*",
        )
    },
)
