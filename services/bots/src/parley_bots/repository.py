"""SQL for bots, runs and projections. Every tenant query takes the account id.

The one exception is ``claim_due_runs``: the worker's sweeper serves every account, and each
claimed run carries its own account id from there on.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import and_, case, delete, func, or_, select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from parley_bots.models import CHATBOT, AccountPlan, Bot, BotRun, VisitorState
from parley_common.db import driver_connection

SCHEDULED, RUNNING = "scheduled", "running"


# --- bots -------------------------------------------------------------------------------------
async def get_bot(
    session: AsyncSession,
    *,
    account_id: uuid.UUID,
    kind: str,
    bot_id: uuid.UUID,
    for_update: bool = False,
) -> Bot | None:
    query = select(Bot).where(Bot.account_id == account_id, Bot.kind == kind, Bot.id == bot_id)
    if for_update:
        query = query.with_for_update()
    bot: Bot | None = await session.scalar(query)
    return bot


async def list_bots(
    session: AsyncSession,
    *,
    account_id: uuid.UUID,
    kind: str,
    after: tuple[datetime, uuid.UUID] | None,
    limit: int,
) -> list[Bot]:
    """Newest first; ``after`` is the (created_at, id) of the last bot of the previous page."""
    query = select(Bot).where(Bot.account_id == account_id, Bot.kind == kind)
    if after is not None:
        created, bot_id = after
        query = query.where(
            or_(Bot.created_at < created, and_(Bot.created_at == created, Bot.id < bot_id))
        )
    rows = await session.scalars(query.order_by(Bot.created_at.desc(), Bot.id.desc()).limit(limit))
    return list(rows)


async def enabled_bots(session: AsyncSession, *, account_id: uuid.UUID) -> list[Bot]:
    rows = await session.scalars(
        select(Bot)
        .where(Bot.account_id == account_id, Bot.enabled.is_(True))
        .order_by(Bot.created_at)
    )
    return list(rows)


async def add_bot(session: AsyncSession, bot: Bot) -> Bot:
    session.add(bot)
    await session.flush()
    await session.refresh(bot)
    return bot


async def save_bot(session: AsyncSession, bot: Bot) -> Bot:
    await session.flush()
    await session.refresh(bot)
    return bot


async def delete_bot(session: AsyncSession, bot: Bot) -> None:
    await session.delete(bot)
    await session.flush()


async def lock_account(session: AsyncSession, account_id: uuid.UUID) -> None:
    """Serialise changes that count an account's enabled chatbots."""
    await session.execute(
        text("SELECT pg_advisory_xact_lock(hashtext('bots.account:' || :account_id))"),
        {"account_id": str(account_id)},
    )


async def count_enabled_chatbots(session: AsyncSession, *, account_id: uuid.UUID) -> int:
    count = await session.scalar(
        select(func.count())
        .select_from(Bot)
        .where(Bot.account_id == account_id, Bot.kind == CHATBOT, Bot.enabled.is_(True))
    )
    return int(count or 0)


async def disable_chatbots_beyond(
    session: AsyncSession, *, account_id: uuid.UUID, keep: int
) -> None:
    """Keep the ``keep`` oldest enabled chatbots enabled; disable the rest."""
    kept = (
        select(Bot.id)
        .where(Bot.account_id == account_id, Bot.kind == CHATBOT, Bot.enabled.is_(True))
        .order_by(Bot.created_at, Bot.id)
        .limit(keep)
    )
    await session.execute(
        update(Bot)
        .where(
            Bot.account_id == account_id,
            Bot.kind == CHATBOT,
            Bot.enabled.is_(True),
            Bot.id.not_in(kept),
        )
        .values(enabled=False, updated_at=func.now())
    )


# --- plan projection --------------------------------------------------------------------------
async def get_plan(session: AsyncSession, *, account_id: uuid.UUID) -> AccountPlan | None:
    plan: AccountPlan | None = await session.get(AccountPlan, account_id)
    return plan


async def upsert_plan(
    session: AsyncSession, *, account_id: uuid.UUID, plan: str, max_active_chatbots: int | None
) -> None:
    values = {"plan": plan, "max_active_chatbots": max_active_chatbots, "updated_at": func.now()}
    await session.execute(
        pg_insert(AccountPlan)
        .values(account_id=account_id, **values)
        .on_conflict_do_update(index_elements=[AccountPlan.account_id], set_=values)
    )


# --- visitor projection -----------------------------------------------------------------------
async def upsert_visitor(
    session: AsyncSession, *, account_id: uuid.UUID, visitor_id: uuid.UUID, **values: Any
) -> VisitorState:
    values["updated_at"] = func.now()
    state: VisitorState = await session.scalar(
        pg_insert(VisitorState)
        .values(account_id=account_id, visitor_id=visitor_id, **values)
        .on_conflict_do_update(
            index_elements=[VisitorState.account_id, VisitorState.visitor_id], set_=values
        )
        .returning(VisitorState)
        .execution_options(populate_existing=True)
    )
    return state


async def get_visitor(
    session: AsyncSession, *, account_id: uuid.UUID, visitor_id: uuid.UUID
) -> VisitorState | None:
    state: VisitorState | None = await session.get(
        VisitorState, (account_id, visitor_id), populate_existing=True
    )
    return state


# --- runs -------------------------------------------------------------------------------------
async def schedule_run(
    session: AsyncSession,
    *,
    account_id: uuid.UUID,
    bot_id: uuid.UUID,
    visitor_id: uuid.UUID,
    due_at: datetime,
) -> BotRun | None:
    """A new scheduled run, or None when this bot already met this visitor."""
    run: BotRun | None = await session.scalar(
        pg_insert(BotRun)
        .values(
            id=uuid.uuid4(),
            account_id=account_id,
            bot_id=bot_id,
            visitor_id=visitor_id,
            status=SCHEDULED,
            due_at=due_at,
        )
        .on_conflict_do_nothing(index_elements=[BotRun.bot_id, BotRun.visitor_id])
        .returning(BotRun)
    )
    return run


async def drop_scheduled_runs(
    session: AsyncSession,
    *,
    account_id: uuid.UUID,
    visitor_id: uuid.UUID,
    trigger_types: tuple[str, ...] | None = None,
) -> None:
    """Forget triggers that have not fired, so they can trigger again later."""
    query = delete(BotRun).where(
        BotRun.account_id == account_id,
        BotRun.visitor_id == visitor_id,
        BotRun.status == SCHEDULED,
    )
    if trigger_types is not None:
        query = query.where(
            BotRun.bot_id.in_(
                select(Bot.id).where(
                    Bot.account_id == account_id, Bot.trigger["type"].astext.in_(trigger_types)
                )
            )
        )
    await session.execute(query)


async def claim_due_runs(session: AsyncSession, *, now: datetime, limit: int) -> list[BotRun]:
    rows = await session.scalars(
        select(BotRun)
        .where(BotRun.status == SCHEDULED, BotRun.due_at <= now)
        .order_by(BotRun.due_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return list(rows)


async def next_run_due(session: AsyncSession) -> datetime | None:
    """When the earliest scheduled run falls due (None: nothing scheduled)."""
    due: datetime | None = await session.scalar(
        select(func.min(BotRun.due_at)).where(BotRun.status == SCHEDULED)
    )
    return due


async def running_chatbot_runs(
    session: AsyncSession, *, account_id: uuid.UUID, visitor_id: uuid.UUID
) -> list[tuple[BotRun, Bot]]:
    """The visitor's chatbots waiting for an answer, most recently started first."""
    rows = await session.execute(
        select(BotRun, Bot)
        .join(Bot, Bot.id == BotRun.bot_id)
        .where(
            BotRun.account_id == account_id,
            Bot.account_id == account_id,
            BotRun.visitor_id == visitor_id,
            BotRun.status == RUNNING,
        )
        .order_by(BotRun.triggered_at.desc())
        .with_for_update(of=BotRun)
    )
    return [(run, bot) for run, bot in rows.tuples()]


async def get_bot_by_id(
    session: AsyncSession, *, account_id: uuid.UUID, bot_id: uuid.UUID
) -> Bot | None:
    bot: Bot | None = await session.scalar(
        select(Bot).where(Bot.account_id == account_id, Bot.id == bot_id)
    )
    return bot


# --- stats ------------------------------------------------------------------------------------
async def run_counts(
    session: AsyncSession, *, account_id: uuid.UUID, start: datetime, end: datetime
) -> list[Any]:
    """Per bot of the account: runs triggered in [start, end), and how many replied/converted."""
    in_range = and_(BotRun.triggered_at >= start, BotRun.triggered_at < end)
    counts = (
        select(
            BotRun.bot_id,
            func.count().label("triggered"),
            func.count(BotRun.replied_at).label("replied"),
            func.count(BotRun.converted_at).label("converted"),
        )
        .where(BotRun.account_id == account_id, in_range)
        .group_by(BotRun.bot_id)
        .subquery()
    )
    rows = await session.execute(
        select(
            Bot.id,
            Bot.kind,
            Bot.name,
            Bot.enabled,
            func.coalesce(counts.c.triggered, 0).label("triggered"),
            func.coalesce(counts.c.replied, 0).label("replied"),
            func.coalesce(counts.c.converted, 0).label("converted"),
        )
        .outerjoin(counts, counts.c.bot_id == Bot.id)
        .where(Bot.account_id == account_id)
        .order_by(case((Bot.kind == CHATBOT, 0), else_=1), Bot.created_at)
    )
    return list(rows.all())


async def visitor_of_conversation(
    session: AsyncSession, *, account_id: uuid.UUID, conversation_id: uuid.UUID
) -> uuid.UUID | None:
    visitor_id: uuid.UUID | None = await session.scalar(
        select(VisitorState.visitor_id).where(
            VisitorState.account_id == account_id, VisitorState.conversation_id == conversation_id
        )
    )
    return visitor_id


# The visitor's projection and whether a run awaits their answer (a chatbot waiting for them,
# or a sent automatic message not yet replied to). Only table names are formatted in.
_CHANGES_NOTHING = f"""
SELECT v.conversation_id, EXISTS (
    SELECT 1 FROM {BotRun.__table__.fullname} AS r
    WHERE r.account_id = $1 AND r.visitor_id = $2
        AND (r.status = '{RUNNING}' OR (r.status = 'sent' AND r.replied_at IS NULL))
)
FROM {VisitorState.__table__.fullname} AS v
WHERE v.account_id = $1 AND v.visitor_id = $2
"""  # noqa: S608


async def visitor_message_changes_nothing(
    session: AsyncSession,
    *,
    account_id: uuid.UUID,
    visitor_id: uuid.UUID,
    conversation_id: uuid.UUID,
) -> bool:
    """One read for the common case of a visitor message: True when the projection already
    points at this conversation and no run awaits the visitor's answer (so nothing to write).

    Run on the session's asyncpg connection (inside its transaction, if one began): the hot
    path of every visitor message, so it skips SQLAlchemy's statement and result machinery."""
    driver = await driver_connection(session)
    row = await driver.fetchrow(_CHANGES_NOTHING, account_id, visitor_id)
    return row is not None and row[0] == conversation_id and not row[1]


async def mark_sent_runs_replied(
    session: AsyncSession, *, account_id: uuid.UUID, visitor_id: uuid.UUID, now: datetime
) -> None:
    """The visitor wrote back after automatic messages: they count as replied."""
    await session.execute(
        update(BotRun)
        .where(
            BotRun.account_id == account_id,
            BotRun.visitor_id == visitor_id,
            BotRun.status == "sent",
            BotRun.replied_at.is_(None),
        )
        .values(replied_at=now)
    )
