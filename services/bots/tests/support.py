"""Helpers for the bots tests: events as other services send them, and what bots emitted."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from parley_bots.consumers import CONSUMERS
from parley_bots.events import outbox
from parley_bots.models import BotRun
from parley_common.db import create_session_factory
from parley_common.events.consumer import handle_once
from parley_common.events.envelope import Event

HANDLERS = CONSUMERS[0].handlers

AUTO_MESSAGE = {
    "name": "Welcome",
    "trigger": {"type": "visitor_arrived"},
    "message": "Hi there! Need a hand?",
}

STEPS = [
    {
        "id": "start",
        "message": "What brings you here?",
        "buttons": [
            {"label": "Pricing", "next": "pricing"},
            {"label": "Talk to a human", "next": "handover"},
            {"label": "Just browsing", "next": "end"},
        ],
    },
    {
        "id": "pricing",
        "message": "Plans start at $10. Want the details?",
        "buttons": [{"label": "Yes please", "next": "details"}, {"label": "No", "next": "end"}],
    },
    {"id": "details", "message": "Here they are: example.com/pricing", "goal": True},
]

CHATBOT = {
    "name": "Concierge",
    "trigger": {"type": "visitor_arrived"},
    "steps": STEPS,
    "handover_message": "A colleague will be right with you.",
}


def event(event_type: str, account_id: uuid.UUID, **data: Any) -> Event:
    return Event(type=event_type, account_id=account_id, data=data)


def arrived(
    account_id: uuid.UUID, visitor_id: uuid.UUID, url: str = "https://shop.example/", **extra: Any
) -> Event:
    return event(
        "visitors.visitor.arrived",
        account_id,
        visitor_id=str(visitor_id),
        url=url,
        title="Shop",
        **extra,
    )


def page_changed(account_id: uuid.UUID, visitor_id: uuid.UUID, url: str) -> Event:
    return event(
        "visitors.visitor.page_changed",
        account_id,
        visitor_id=str(visitor_id),
        url=url,
        title="Page",
    )


def left(account_id: uuid.UUID, visitor_id: uuid.UUID) -> Event:
    return event("visitors.visitor.left", account_id, visitor_id=str(visitor_id))


def message(
    account_id: uuid.UUID,
    visitor_id: uuid.UUID,
    text: str,
    author_type: str = "visitor",
    conversation_id: uuid.UUID | None = None,
) -> Event:
    return event(
        "chat.message.created",
        account_id,
        conversation_id=str(conversation_id or uuid.uuid4()),
        message_id=str(uuid.uuid4()),
        visitor_id=str(visitor_id),
        author_type=author_type,
        text=text,
    )


async def feed(session: AsyncSession, ev: Event) -> None:
    """Run the bots handler for ``ev`` in the test's (rolled back) session."""
    await HANDLERS[ev.type](session, ev)


async def deliver(engine: AsyncEngine, ev: Event) -> bool:
    """Handle ``ev`` like the worker does: once, in its own committed transaction."""
    return await handle_once(
        create_session_factory(engine), outbox.processed, "test.bots", HANDLERS[ev.type], ev
    )


async def bot_messages(session: AsyncSession, visitor_id: uuid.UUID) -> list[dict[str, Any]]:
    """The data of every bots.message.requested in bots.outbox for this visitor, oldest first."""
    table = outbox.table
    rows = await session.execute(
        select(table.c.body)
        .where(table.c.type == "bots.message.requested")
        .where(table.c.body["data"]["visitor_id"].astext == str(visitor_id))
        .order_by(table.c.position)
    )
    return [body["data"] for (body,) in rows]


async def runs_of(session: AsyncSession, visitor_id: uuid.UUID) -> list[BotRun]:
    return list(
        await session.scalars(
            select(BotRun)
            .where(BotRun.visitor_id == visitor_id)
            .execution_options(populate_existing=True)
        )
    )
