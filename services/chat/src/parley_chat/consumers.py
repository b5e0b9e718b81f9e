"""Handlers the chat worker runs for other services' events: projections and bot messages."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from parley_chat import erasure, projections, widget
from parley_chat.messages import delivery
from parley_common.events.catalogue import (
    AccountCreated,
    AgentData,
    AgentRemoved,
    AgentStatusChanged,
    BotMessageRequested,
    SettingsUpdated,
    VisitorData,
    VisitorRef,
)
from parley_common.events.consumer import Consumer
from parley_common.events.envelope import Event


async def on_account_created(session: AsyncSession, event: Event) -> None:
    data = AccountCreated.model_validate(event.data)
    general = data.settings.get("general", data.settings)
    values = projections.general_values(general if isinstance(general, dict) else {})
    await projections.upsert_account(session, event.account_id, values)


async def on_settings_updated(session: AsyncSession, event: Event) -> None:
    data = SettingsUpdated.model_validate(event.data)
    if data.section == "general":
        await projections.upsert_account(
            session, event.account_id, projections.general_values(data.settings)
        )


async def on_agent_changed(session: AsyncSession, event: Event) -> None:
    data = AgentData.model_validate(event.data)
    await projections.upsert_agent(
        session,
        event.account_id,
        data.agent_id,
        {
            "name": data.name,
            "email": data.email,
            "role": data.role,
            "status": data.status,
            "removed": False if event.type == "auth.agent.created" else None,
        },
    )


async def on_agent_removed(session: AsyncSession, event: Event) -> None:
    data = AgentRemoved.model_validate(event.data)
    await projections.upsert_agent(
        session, event.account_id, data.agent_id, {"removed": True, "status": "offline"}
    )


async def on_agent_status_changed(session: AsyncSession, event: Event) -> None:
    data = AgentStatusChanged.model_validate(event.data)
    await projections.upsert_agent(
        session, event.account_id, data.agent_id, {"status": data.status}
    )


async def on_visitor_changed(session: AsyncSession, event: Event) -> None:
    data = VisitorData.model_validate(event.data)
    values = {
        name: getattr(data, name) for name in data.model_fields_set & {"name", "email", "label"}
    }
    if event.type == "visitors.visitor.arrived":
        # An arrival says what the visitors service knows; it must not erase an e-mail chat
        # learnt from a contact form. An update (an agent's edit) may clear fields.
        values = {name: value for name, value in values.items() if value is not None}
    await projections.upsert_visitor(session, event.account_id, data.visitor_id, values)


async def on_visitor_blocked(session: AsyncSession, event: Event) -> None:
    data = VisitorRef.model_validate(event.data)
    await projections.upsert_visitor(
        session,
        event.account_id,
        data.visitor_id,
        {"blocked": event.type == "visitors.visitor.blocked"},
    )


async def on_bot_message(session: AsyncSession, event: Event) -> None:
    data = BotMessageRequested.model_validate(event.data)
    # data.conversation_id is not needed: a visitor has at most one open conversation, and
    # the bot writes into the visitor's current one like every other channel.
    await widget.bot_message(session, event.account_id, data.visitor_id, data.text, data.bot_id)


CONSUMERS: list[Consumer] = [
    Consumer(
        "projections",
        {
            "auth.account.created": on_account_created,
            "auth.settings.updated": on_settings_updated,
            "auth.agent.created": on_agent_changed,
            "auth.agent.updated": on_agent_changed,
            "auth.agent.removed": on_agent_removed,
            "auth.agent.status_changed": on_agent_status_changed,
            "visitors.visitor.arrived": on_visitor_changed,
            "visitors.visitor.updated": on_visitor_changed,
            "visitors.visitor.blocked": on_visitor_blocked,
            "visitors.visitor.unblocked": on_visitor_blocked,
        },
    ),
    Consumer("bot-messages", {"bots.message.requested": on_bot_message}),
    erasure.CONSUMER,
    delivery.CONSUMER,
]
