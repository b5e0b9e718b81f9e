"""Handlers the visitors worker runs for other services' events: small projections."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from parley_common.events.catalogue import (
    AccountCreated,
    AgentData,
    AgentRemoved,
    AgentStatusChanged,
    ContactCreated,
    ConversationData,
    SettingsUpdated,
)
from parley_common.events.consumer import Consumer
from parley_common.events.envelope import Event
from parley_common.worker import worker_context
from parley_visitors import erasure
from parley_visitors import repository as repo
from parley_visitors.events import outbox
from parley_visitors.presence import Presence
from parley_visitors.widget_sessions import make_label

SECTION_NAMES = {
    "general": "general",
    "design": "design",
    "contact_form": "contact_form",
    "contact-form": "contact_form",
}


def _presence() -> Presence:
    ctx = worker_context()
    presence = ctx.state.get("presence")
    if presence is None:
        presence = ctx.state["presence"] = Presence(ctx.redis, ctx.settings.namespace)
    return presence


async def on_account_created(session: AsyncSession, event: Event) -> None:
    data = AccountCreated.model_validate(event.data)
    settings: dict[str, Any] = {}
    for name, section in (data.settings or {}).items():
        if name in SECTION_NAMES and isinstance(section, dict):
            settings[SECTION_NAMES[name]] = section
    await repo.upsert_account(session, event.account_id, data.widget_key, data.name, settings)
    await repo.refresh_agents_online(session, event.account_id)  # agents seen before the account


async def on_settings_updated(session: AsyncSession, event: Event) -> None:
    data = SettingsUpdated.model_validate(event.data)
    section = SECTION_NAMES.get(data.section)
    account = await repo.account_by_id(session, event.account_id)
    if account is None:
        if data.widget_key and section:
            await repo.upsert_account(
                session, event.account_id, data.widget_key, "", {section: data.settings}
            )
        return
    settings = dict(account.settings or {})
    if section:
        # Auth sends the whole section; merging also copes with a partial one.
        settings[section] = {**(settings.get(section) or {}), **data.settings}
    await repo.save_account_settings(session, account, settings, data.widget_key)


async def on_agent_status_changed(session: AsyncSession, event: Event) -> None:
    data = AgentStatusChanged.model_validate(event.data)
    await repo.lock_account(session, event.account_id)
    await repo.set_agent_status(
        session, event.account_id, data.agent_id, data.status, event.occurred_at
    )
    await _availability_changed(session, event)


async def on_agent_saved(session: AsyncSession, event: Event) -> None:
    data = AgentData.model_validate(event.data)
    if data.status in ("online", "away", "offline"):
        await repo.lock_account(session, event.account_id)
        await repo.set_agent_status(
            session, event.account_id, data.agent_id, data.status, event.occurred_at
        )
        await _availability_changed(session, event)


async def on_agent_removed(session: AsyncSession, event: Event) -> None:
    data = AgentRemoved.model_validate(event.data)
    await repo.lock_account(session, event.account_id)
    await repo.remove_agent(session, event.account_id, data.agent_id)
    await _availability_changed(session, event)


async def _availability_changed(session: AsyncSession, event: Event) -> None:
    """The chat boxes hear when the last agent went offline or the first came online."""
    online = await repo.refresh_agents_online(session, event.account_id)
    if online is not None:
        await outbox.emit(
            session,
            "visitors.agents.availability_changed",
            event.account_id,
            {"agents_online": online},
        )


async def on_contact_created(session: AsyncSession, event: Event) -> None:
    """A Messenger user wrote: a visitor with the name and picture Facebook gave."""
    data = ContactCreated.model_validate(event.data)
    await repo.insert_channel_visitor(
        session,
        account_id=event.account_id,
        visitor_id=data.visitor_id,
        label=make_label(data.visitor_id),
        channel=data.channel,
        name=data.name,
        avatar_url=data.avatar_url,
        facebook=data.facebook,
    )


async def _set_chatting(session: AsyncSession, event: Event, data: ConversationData) -> None:
    assert data.visitor_id is not None
    chatting = await repo.is_chatting(session, event.account_id, data.visitor_id)
    await _presence().update(
        event.account_id, data.visitor_id, {"chatting": "1" if chatting else "0"}
    )


async def on_conversation_opened(session: AsyncSession, event: Event) -> None:
    data = ConversationData.model_validate(event.data)
    if data.visitor_id is None:
        return
    await repo.open_conversation(session, event.account_id, data.conversation_id, data.visitor_id)
    await _set_chatting(session, event, data)


async def on_conversation_resolved(session: AsyncSession, event: Event) -> None:
    data = ConversationData.model_validate(event.data)
    await repo.close_conversation(session, event.account_id, data.conversation_id)
    if data.visitor_id is not None:
        await _set_chatting(session, event, data)


CONSUMERS = [
    Consumer(
        "projections",
        {
            "auth.account.created": on_account_created,
            "auth.settings.updated": on_settings_updated,
            "auth.agent.status_changed": on_agent_status_changed,
            "auth.agent.created": on_agent_saved,
            "auth.agent.updated": on_agent_saved,
            "auth.agent.removed": on_agent_removed,
            "chat.conversation.created": on_conversation_opened,
            "chat.conversation.reopened": on_conversation_opened,
            "chat.conversation.resolved": on_conversation_resolved,
            "chat.contact.created": on_contact_created,
        },
    ),
    erasure.CONSUMER,
]
