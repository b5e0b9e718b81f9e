"""Use cases of the bots API: automatic messages, chatbots, the plan limit, statistics."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from parley_bots import repository as repo
from parley_bots.config import get_bots_settings
from parley_bots.errors import (
    AutomaticMessageNotFound,
    ChatbotNotFound,
    InvalidRange,
    PlanLimitReached,
)
from parley_bots.flow import validate_steps
from parley_bots.models import AUTOMATIC_MESSAGE, CHATBOT, Bot
from parley_bots.schemas import (
    AutomaticMessageIn,
    AutomaticMessagePatch,
    BotStats,
    ChatbotIn,
    ChatbotPatch,
    ChatbotStats,
)
from parley_common.errors import InvalidInput, NotFound
from parley_common.pagination import decode_time_id, page_of
from parley_common.security import AgentPrincipal

MAX_RANGE = timedelta(days=366)
DEFAULT_RANGE = timedelta(days=30)
_NOT_FOUND: dict[str, type[NotFound]] = {
    AUTOMATIC_MESSAGE: AutomaticMessageNotFound,
    CHATBOT: ChatbotNotFound,
}


# --- pagination -------------------------------------------------------------------------------
async def list_bots(
    session: AsyncSession, agent: AgentPrincipal, *, kind: str, cursor: str | None, limit: int
) -> tuple[list[Bot], str | None]:
    rows = await repo.list_bots(
        session,
        account_id=agent.account_id,
        kind=kind,
        after=decode_time_id(cursor),
        limit=limit + 1,
    )
    return page_of(rows, limit, lambda bot: (bot.created_at, bot.id))


# --- one bot ----------------------------------------------------------------------------------
async def get_bot(
    session: AsyncSession,
    agent: AgentPrincipal,
    *,
    kind: str,
    bot_id: uuid.UUID,
    for_update: bool = False,
) -> Bot:
    bot = await repo.get_bot(
        session, account_id=agent.account_id, kind=kind, bot_id=bot_id, for_update=for_update
    )
    if bot is None:
        raise _NOT_FOUND[kind]()
    return bot


async def delete_bot(
    session: AsyncSession, admin: AgentPrincipal, *, kind: str, bot_id: uuid.UUID
) -> None:
    await repo.delete_bot(session, await get_bot(session, admin, kind=kind, bot_id=bot_id))


async def create_automatic_message(
    session: AsyncSession, admin: AgentPrincipal, body: AutomaticMessageIn
) -> Bot:
    bot = Bot(account_id=admin.account_id, kind=AUTOMATIC_MESSAGE, **_columns(body))
    return await repo.add_bot(session, bot)


async def update_automatic_message(
    session: AsyncSession, admin: AgentPrincipal, bot_id: uuid.UUID, body: AutomaticMessagePatch
) -> Bot:
    bot = await get_bot(session, admin, kind=AUTOMATIC_MESSAGE, bot_id=bot_id, for_update=True)
    _apply(bot, body)
    return await repo.save_bot(session, bot)


async def create_chatbot(session: AsyncSession, admin: AgentPrincipal, body: ChatbotIn) -> Bot:
    validate_steps(body.steps)
    if body.enabled:
        await _check_chatbot_allowed(session, admin.account_id)
    bot = Bot(account_id=admin.account_id, kind=CHATBOT, **_columns(body))
    return await repo.add_bot(session, bot)


async def update_chatbot(
    session: AsyncSession, admin: AgentPrincipal, bot_id: uuid.UUID, body: ChatbotPatch
) -> Bot:
    if body.steps is not None:
        validate_steps(body.steps)
    bot = await get_bot(session, admin, kind=CHATBOT, bot_id=bot_id, for_update=True)
    if body.enabled and not bot.enabled:
        await _check_chatbot_allowed(session, admin.account_id)
    _apply(bot, body)
    return await repo.save_bot(session, bot)


def _columns(body: AutomaticMessageIn | ChatbotIn) -> dict[str, Any]:
    return body.model_dump(mode="json", exclude_none=True)


def _apply(bot: Bot, body: AutomaticMessagePatch | ChatbotPatch) -> None:
    """A PATCH sets the fields it names; null is only allowed where a field may be empty."""
    nullable = {"handover_message"}
    for name in body.model_fields_set:
        value = getattr(body, name)
        if value is None and name not in nullable:
            raise InvalidInput(f"{name} cannot be null.")
        setattr(
            bot, name, body.model_dump(mode="json", include={name}, exclude_none=True).get(name)
        )


# --- the plan limit ---------------------------------------------------------------------------
async def max_active_chatbots(session: AsyncSession, account_id: uuid.UUID) -> int | None:
    """None means no limit. Until auth told us the plan, the free plan's limit applies."""
    plan = await repo.get_plan(session, account_id=account_id)
    if plan is None:
        return get_bots_settings().free_max_active_chatbots
    return plan.max_active_chatbots


async def _check_chatbot_allowed(session: AsyncSession, account_id: uuid.UUID) -> None:
    """One more enabled chatbot must fit the plan (under a per-account lock)."""
    await repo.lock_account(session, account_id)
    limit = await max_active_chatbots(session, account_id)
    if limit is None:
        return
    if await repo.count_enabled_chatbots(session, account_id=account_id) >= limit:
        raise PlanLimitReached(
            f"Your plan allows {limit} active chatbot(s); disable one or upgrade.", limit=limit
        )


async def record_plan(
    session: AsyncSession, account_id: uuid.UUID, plan: str, max_active: int | None
) -> None:
    """Remember the plan; on a downgrade, the newest chatbots beyond the limit are disabled."""
    await repo.lock_account(session, account_id)
    await repo.upsert_plan(
        session, account_id=account_id, plan=plan, max_active_chatbots=max_active
    )
    if max_active is not None:
        await repo.disable_chatbots_beyond(session, account_id=account_id, keep=max_active)


# --- statistics -------------------------------------------------------------------------------
def stats_range(start: datetime | None, end: datetime | None) -> tuple[datetime, datetime]:
    end = _aware(end) if end else datetime.now(UTC)
    start = _aware(start) if start else end - DEFAULT_RANGE
    if start >= end:
        raise InvalidRange("`from` must be before `to`.")
    if end - start > MAX_RANGE:
        raise InvalidRange("The range can span at most 366 days.")
    return start, end


def _aware(at: datetime) -> datetime:
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)


async def chatbot_stats(
    session: AsyncSession, agent: AgentPrincipal, start: datetime | None, end: datetime | None
) -> ChatbotStats:
    start, end = stats_range(start, end)
    rows = await repo.run_counts(session, account_id=agent.account_id, start=start, end=end)
    bots = [
        BotStats(
            bot_id=r.id,
            kind=r.kind,
            name=r.name,
            enabled=r.enabled,
            triggered=r.triggered,
            replied=r.replied,
            converted=r.converted,
        )
        for r in rows
    ]
    return ChatbotStats(
        from_=start,
        to=end,
        active_chatbots=sum(1 for b in bots if b.kind == CHATBOT and b.enabled),
        active_automatic_messages=sum(1 for b in bots if b.kind == AUTOMATIC_MESSAGE and b.enabled),
        triggered=sum(b.triggered for b in bots),
        replied=sum(b.replied for b in bots),
        converted=sum(b.converted for b in bots),
        bots=bots,
    )
