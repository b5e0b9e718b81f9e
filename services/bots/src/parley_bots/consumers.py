"""Handlers the bots worker runs for other services' events."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from parley_bots import engine, erasure
from parley_bots import repository as repo
from parley_bots.config import get_bots_settings
from parley_bots.service import record_plan
from parley_common.events.catalogue import (
    AccountCreated,
    ConversationData,
    MessageCreated,
    SubscriptionChanged,
    VisitorData,
    VisitorRef,
)
from parley_common.events.consumer import Consumer
from parley_common.events.envelope import Event


def _now() -> datetime:
    return datetime.now(UTC)


# --- plan -------------------------------------------------------------------------------------
async def on_account_created(session: AsyncSession, event: Event) -> None:
    data = AccountCreated.model_validate(event.data)
    limit = get_bots_settings().free_max_active_chatbots if data.plan == "free" else None
    await record_plan(session, event.account_id, data.plan, limit)


async def on_subscription_changed(session: AsyncSession, event: Event) -> None:
    data = SubscriptionChanged.model_validate(event.data)
    limit = _int_or_none(data.entitlements.get("max_active_chatbots"))
    if limit is None and data.plan == "free":
        limit = get_bots_settings().free_max_active_chatbots
    await record_plan(session, event.account_id, data.plan, limit)


def _int_or_none(value: Any) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return max(0, int(value))


# --- visitors ---------------------------------------------------------------------------------
def _visit_facts(data: VisitorData) -> dict[str, Any]:
    """``returning`` and ``visits`` are optional extras of visitors' payload."""
    extra = data.model_extra or {}
    visits = _int_or_none(extra.get("visits"))
    facts: dict[str, Any] = {"visits": max(1, visits or 1)}
    returning = extra.get("returning")
    facts["returning"] = returning if isinstance(returning, bool) else facts["visits"] > 1
    return facts


def _blocked(data: VisitorData) -> bool:
    """Bots do not write to blocked visitors: they count as inactive."""
    return (data.model_extra or {}).get("blocked") is True


async def on_visitor_arrived(session: AsyncSession, event: Event) -> None:
    data = VisitorData.model_validate(event.data)
    state = await repo.upsert_visitor(
        session,
        account_id=event.account_id,
        visitor_id=data.visitor_id,
        active=not _blocked(data),
        url=data.url,
        **_visit_facts(data),
    )
    await engine.evaluate_triggers(session, state, arrived=True, now=_now())


async def on_page_changed(session: AsyncSession, event: Event) -> None:
    data = VisitorData.model_validate(event.data)
    state = await repo.upsert_visitor(
        session,
        account_id=event.account_id,
        visitor_id=data.visitor_id,
        active=not _blocked(data),
        url=data.url,
    )
    await repo.drop_scheduled_runs(
        session,
        account_id=event.account_id,
        visitor_id=data.visitor_id,
        trigger_types=engine.PAGE_TRIGGERS,
    )
    await engine.evaluate_triggers(session, state, arrived=False, now=_now())


async def on_visitor_left(session: AsyncSession, event: Event) -> None:
    data = VisitorRef.model_validate(event.data)
    await repo.upsert_visitor(
        session,
        account_id=event.account_id,
        visitor_id=data.visitor_id,
        active=False,
        agent_chatting=False,
    )
    await repo.drop_scheduled_runs(session, account_id=event.account_id, visitor_id=data.visitor_id)


# --- chat -------------------------------------------------------------------------------------
async def on_conversation_created(session: AsyncSession, event: Event) -> None:
    data = ConversationData.model_validate(event.data)
    if data.visitor_id is None:
        return
    if data.assignee_id is not None:
        await engine.agent_joined(
            session,
            account_id=event.account_id,
            visitor_id=data.visitor_id,
            conversation_id=data.conversation_id,
            now=_now(),
        )
        return
    await repo.upsert_visitor(
        session,
        account_id=event.account_id,
        visitor_id=data.visitor_id,
        conversation_id=data.conversation_id,
    )


async def on_message_created(session: AsyncSession, event: Event) -> None:
    data = MessageCreated.model_validate(event.data)
    if data.internal:
        return  # a note between agents: the visitor saw nothing, no bot reacts
    visitor_id = data.visitor_id
    if visitor_id is None:
        visitor_id = await repo.visitor_of_conversation(
            session, account_id=event.account_id, conversation_id=data.conversation_id
        )
    if visitor_id is None:
        return
    if data.author_type == "agent":
        await engine.agent_joined(
            session,
            account_id=event.account_id,
            visitor_id=visitor_id,
            conversation_id=data.conversation_id,
            now=_now(),
        )
    elif data.author_type == "visitor":
        if await repo.visitor_message_changes_nothing(
            session,
            account_id=event.account_id,
            visitor_id=visitor_id,
            conversation_id=data.conversation_id,
        ):
            return
        await repo.upsert_visitor(
            session,
            account_id=event.account_id,
            visitor_id=visitor_id,
            conversation_id=data.conversation_id,
        )
        await engine.visitor_answered(
            session,
            account_id=event.account_id,
            visitor_id=visitor_id,
            text=data.text,
            now=_now(),
        )


# The messages a bot acts on: every agent's (an agent joined: runs stop), a visitor's first
# word in a conversation (the projection learns it), and a visitor's words after a bot's or a
# system message (a chatbot or an automatic message may await that answer). A visitor's
# follow-up to their own message, or to an agent's, changes nothing here and never arrives.
MESSAGE_BINDINGS = (
    "chat.message.created.agent.#",
    "chat.message.created.visitor.none.#",
    "chat.message.created.visitor.bot.#",
    "chat.message.created.visitor.system.#",
)

CONSUMERS: list[Consumer] = [
    Consumer(
        "events",
        {
            "auth.account.created": on_account_created,
            "auth.subscription.changed": on_subscription_changed,
            "visitors.visitor.arrived": on_visitor_arrived,
            "visitors.visitor.page_changed": on_page_changed,
            "visitors.visitor.left": on_visitor_left,
            "chat.conversation.created": on_conversation_created,
            "chat.message.created": on_message_created,
        },
        bindings={"chat.message.created": MESSAGE_BINDINGS},
    ),
    erasure.CONSUMER,
]
