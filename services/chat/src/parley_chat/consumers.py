"""The queues the chat worker consumes and their handlers: projections (projections.py),
bot messages, erasure, reply delivery (messages/delivery.py)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from parley_chat import erasure, projections
from parley_chat.messages import delivery
from parley_chat.widget import service as widget
from parley_common.events.catalogue import BotMessageRequested
from parley_common.events.consumer import Consumer
from parley_common.events.envelope import Event


async def on_bot_message(session: AsyncSession, event: Event) -> None:
    data = BotMessageRequested.model_validate(event.data)
    # data.conversation_id is not needed: a visitor has at most one open conversation, and
    # the bot writes into the visitor's current one like every other channel.
    await widget.bot_message(session, event.account_id, data.visitor_id, data.text, data.bot_id)


CONSUMERS: list[Consumer] = [
    Consumer(
        "projections",
        {
            "auth.account.created": projections.on_account_created,
            "auth.settings.updated": projections.on_settings_updated,
            "auth.agent.created": projections.on_agent_changed,
            "auth.agent.updated": projections.on_agent_changed,
            "auth.agent.removed": projections.on_agent_removed,
            "auth.agent.status_changed": projections.on_agent_status_changed,
            "visitors.visitor.arrived": projections.on_visitor_changed,
            "visitors.visitor.updated": projections.on_visitor_changed,
            "visitors.visitor.blocked": projections.on_visitor_blocked,
            "visitors.visitor.unblocked": projections.on_visitor_blocked,
        },
    ),
    Consumer("bot-messages", {"bots.message.requested": on_bot_message}),
    erasure.CONSUMER,
    delivery.CONSUMER,
]
