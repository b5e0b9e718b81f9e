"""The presence sweeper: visitors silent for too long leave (one `left` event each)."""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from parley_common.worker import WorkerContext
from parley_visitors import repository as repo
from parley_visitors.config import get_visitors_settings
from parley_visitors.events import outbox
from parley_visitors.presence import Presence

log = logging.getLogger("parley.visitors.sweeper")


async def sweep_once(
    presence: Presence,
    session_factory: async_sessionmaker[AsyncSession],
    *,
    now: float,
    inactive_after: float,
) -> int:
    """Take every visitor silent since ``now - inactive_after`` out of presence; how many."""
    total = 0
    while True:
        expired = await presence.pop_expired(now - inactive_after)
        if not expired:
            return total
        # Redis already let them go; the events and last-seen times commit together.
        async with session_factory() as session, session.begin():
            for gone in expired:
                last_seen = float(gone.fields.get("last_seen") or now - inactive_after)
                await repo.mark_left(
                    session,
                    gone.account_id,
                    gone.visitor_id,
                    datetime.fromtimestamp(last_seen, UTC),
                )
                await outbox.emit(
                    session,
                    "visitors.visitor.left",
                    gone.account_id,
                    {"visitor_id": gone.visitor_id},
                )
        total += len(expired)


async def next_sweep_in(
    presence: Presence, *, now: float, inactive_after: float, interval: float
) -> float:
    """Seconds until the visitor silent longest goes inactive (``inactive_after`` with nobody
    here), and not less than ``interval``. Nothing needs to wake the sweeper sooner: activity
    only moves a visitor's time later, and one arriving now goes inactive ``inactive_after``
    from now, no sooner than this pause ends. A visitor still leaves at most ``interval`` late.
    """
    oldest = await presence.oldest_activity()
    due_in = inactive_after if oldest is None else oldest + inactive_after - now
    return max(interval, min(due_in, inactive_after))


async def presence_sweeper(ctx: WorkerContext) -> None:
    settings = get_visitors_settings()
    presence = Presence(ctx.redis, settings.namespace)
    assert ctx.session_factory is not None
    inactive_after = settings.visitors_inactive_after_seconds
    while True:
        swept = await sweep_once(
            presence, ctx.session_factory, now=time.time(), inactive_after=inactive_after
        )
        if swept:
            log.info("%d visitors went inactive", swept)
        await asyncio.sleep(
            await next_sweep_in(
                presence,
                now=time.time(),
                inactive_after=inactive_after,
                interval=settings.visitors_sweep_interval_seconds,
            )
        )
