"""The worker's sweeper: fires delayed and time-on-page triggers when they fall due.

It sleeps until the next scheduled run is due (``parley_common.wake``); a run scheduled
meanwhile, by this worker's consumers or another's, wakes it through the ``bot_runs`` insert
trigger (migration 0005), so at rest it costs a query a minute instead of one a second.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from parley_bots import repository as repo
from parley_bots.config import get_bots_settings
from parley_bots.engine import fire_due_runs
from parley_common.wake import Listener, Wake
from parley_common.worker import WorkerContext

BATCH = 100
# The channel the bot_runs insert trigger NOTIFYs (migration 0005).
RUNS_CHANNEL = "parley_bots_runs"


async def fire_due_triggers(ctx: WorkerContext) -> None:
    settings = get_bots_settings()
    # The sweep interval stays the longest a due run waits (a run due sooner than that after
    # a round fires at the next), and the poll while nobody listens.
    interval = settings.bots_sweep_interval_seconds
    wake = Wake(RUNS_CHANNEL, settings.wake_safety_seconds, fallback=interval)
    async with asyncio.TaskGroup() as tasks:
        tasks.create_task(Listener(ctx.settings.database_url, [wake]).run())
        tasks.create_task(sweep(ctx, wake, interval))


async def sweep(ctx: WorkerContext, wake: Wake, interval: float) -> None:
    """Fire the due runs, then sleep until the next is due or a new one is scheduled."""
    assert ctx.session_factory is not None
    while True:
        async with ctx.session_factory() as session, session.begin():
            now = datetime.now(UTC)
            looked_at = await fire_due_runs(session, now=now, limit=BATCH)
            next_due = await repo.next_run_due(session)
        if looked_at < BATCH:
            due_in = None if next_due is None else (next_due - now).total_seconds()
            await wake.sleep(due_in, floor=interval)
