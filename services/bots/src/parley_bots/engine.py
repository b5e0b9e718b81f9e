"""Bots meeting visitors: a trigger schedules a run, a due run writes to the visitor, and a
visitor's answer moves a running chatbot along its steps.

A run exists once per (bot, visitor): a bot writes to a visitor at most once. A scheduled run
that can no longer fire (the visitor left, opened another page, or an agent is chatting with
them) is deleted, so the bot may trigger again later.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from parley_bots import repository as repo
from parley_bots.events import outbox
from parley_bots.flow import matching_button, quick_replies, step_by_id
from parley_bots.models import AUTOMATIC_MESSAGE, Bot, BotRun, VisitorState
from parley_bots.schemas import END, HANDOVER

# Triggers tied to the page the visitor is on: a page change cancels them (and may re-arm them).
PAGE_TRIGGERS = ("page_url", "time_on_page")


def _url_matches(needle: str | None, url: str | None) -> bool:
    return needle is None or (url is not None and needle.casefold() in url.casefold())


def due_at(bot: Bot, state: VisitorState, *, arrived: bool, now: datetime) -> datetime | None:
    """When ``bot`` should write to this visitor after this arrival or page view, if at all."""
    trigger, conditions = bot.trigger, bot.conditions or {}
    wait = bot.delay_seconds
    if trigger["type"] == "visitor_arrived":
        if not arrived:
            return None
    elif trigger["type"] == "page_url":
        if not state.url or not _url_matches(trigger.get("url_contains"), state.url):
            return None
    elif trigger["type"] == "time_on_page":
        if not _url_matches(trigger.get("url_contains"), state.url):
            return None
        wait += int(trigger["seconds"])
    else:
        return None
    returning = conditions.get("returning_visitor")
    if returning is not None and bool(returning) != state.returning:
        return None
    min_visits = conditions.get("min_visits")
    if min_visits is not None and state.visits < int(min_visits):
        return None
    return now + timedelta(seconds=wait)


async def evaluate_triggers(
    session: AsyncSession, state: VisitorState, *, arrived: bool, now: datetime
) -> None:
    if not state.active or state.agent_chatting:
        return
    for bot in await repo.enabled_bots(session, account_id=state.account_id):
        when = due_at(bot, state, arrived=arrived, now=now)
        if when is None:
            continue
        run = await repo.schedule_run(
            session,
            account_id=state.account_id,
            bot_id=bot.id,
            visitor_id=state.visitor_id,
            due_at=when,
        )
        if run is not None and when <= now:
            await fire(session, run, bot, state, now=now)


async def fire(
    session: AsyncSession,
    run: BotRun,
    bot: Bot | None,
    state: VisitorState | None,
    *,
    now: datetime,
) -> bool:
    """Write the bot's first message to the visitor, or drop the run if that no longer fits."""
    if bot is None or not bot.enabled or state is None or not state.active or state.agent_chatting:
        await session.delete(run)
        await session.flush()
        return False
    run.triggered_at = now
    run.conversation_id = state.conversation_id
    if bot.kind == AUTOMATIC_MESSAGE:
        run.status, run.finished_at = "sent", now
        await _write(session, run, bot, str(bot.message))
    else:
        await _enter_step(session, run, bot, (bot.steps or [])[0], now)
    await session.flush()
    return True


async def fire_due_runs(session: AsyncSession, *, now: datetime, limit: int = 100) -> int:
    """Fire scheduled runs that are due (the worker's sweeper); returns how many it looked at."""
    runs = await repo.claim_due_runs(session, now=now, limit=limit)
    for run in runs:
        bot = await repo.get_bot_by_id(session, account_id=run.account_id, bot_id=run.bot_id)
        state = await repo.get_visitor(
            session, account_id=run.account_id, visitor_id=run.visitor_id
        )
        await fire(session, run, bot, state, now=now)
    return len(runs)


async def _enter_step(
    session: AsyncSession, run: BotRun, bot: Bot, step: dict[str, Any], now: datetime
) -> None:
    run.current_step_id = step["id"]
    if step.get("goal"):
        run.converted_at = run.converted_at or now
    if step.get("buttons"):
        run.status = "running"
    else:
        run.status, run.finished_at = "ended", now
    await _write(session, run, bot, step["message"], step)


async def _write(
    session: AsyncSession, run: BotRun, bot: Bot, text: str, step: dict[str, Any] | None = None
) -> None:
    await outbox.emit(
        session,
        "bots.message.requested",
        run.account_id,
        {
            "visitor_id": run.visitor_id,
            "text": text,
            "bot_id": bot.id,
            "conversation_id": run.conversation_id,
            "quick_replies": quick_replies(step) if step else [],
            "bot_kind": bot.kind,
            "step_id": step["id"] if step else None,
        },
    )


async def visitor_answered(
    session: AsyncSession,
    *,
    account_id: uuid.UUID,
    visitor_id: uuid.UUID,
    text: str | None,
    now: datetime,
) -> None:
    """A quick-reply label moves its chatbot on; any other text hands the chat to people."""
    await repo.mark_sent_runs_replied(
        session, account_id=account_id, visitor_id=visitor_id, now=now
    )
    runs = await repo.running_chatbot_runs(session, account_id=account_id, visitor_id=visitor_id)
    for run, bot in runs:
        step = step_by_id(bot.steps or [], run.current_step_id)
        button = matching_button(step, text) if step is not None and text else None
        if button is not None:
            await _follow(session, run, bot, str(button["next"]), now)
            return
    for run, _ in runs:
        run.replied_at = run.replied_at or now
        run.status, run.finished_at = "interrupted", now
    await session.flush()


async def _follow(session: AsyncSession, run: BotRun, bot: Bot, target: str, now: datetime) -> None:
    run.replied_at = run.replied_at or now
    if target == HANDOVER:
        run.converted_at = run.converted_at or now
        run.status, run.finished_at = "handover", now
        if bot.handover_message:
            await _write(session, run, bot, bot.handover_message)
    elif target == END:
        run.status, run.finished_at = "ended", now
    else:
        step = step_by_id(bot.steps or [], target)
        if step is None:  # the chatbot was edited while this visitor was in it
            run.status, run.finished_at = "ended", now
        else:
            await _enter_step(session, run, bot, step, now)
    await session.flush()


async def agent_joined(
    session: AsyncSession,
    *,
    account_id: uuid.UUID,
    visitor_id: uuid.UUID,
    conversation_id: uuid.UUID | None,
    now: datetime,
) -> None:
    """An agent talks to the visitor: bots step back."""
    values: dict[str, Any] = {"agent_chatting": True}
    if conversation_id is not None:
        values["conversation_id"] = conversation_id
    await repo.upsert_visitor(session, account_id=account_id, visitor_id=visitor_id, **values)
    await repo.drop_scheduled_runs(session, account_id=account_id, visitor_id=visitor_id)
    for run, _ in await repo.running_chatbot_runs(
        session, account_id=account_id, visitor_id=visitor_id
    ):
        run.status, run.finished_at = "interrupted", now
    await session.flush()
