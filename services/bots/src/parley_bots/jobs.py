"""The worker's sweeper: fires delayed and time-on-page triggers when they fall due."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from parley_bots.config import get_bots_settings
from parley_bots.engine import fire_due_runs
from parley_common.worker import WorkerContext

BATCH = 100


async def fire_due_triggers(ctx: WorkerContext) -> None:
    assert ctx.session_factory is not None
    interval = get_bots_settings().bots_sweep_interval_seconds
    while True:
        async with ctx.session_factory() as session, session.begin():
            looked_at = await fire_due_runs(session, now=datetime.now(UTC), limit=BATCH)
        if looked_at < BATCH:
            await asyncio.sleep(interval)
