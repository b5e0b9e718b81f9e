"""Stopping asyncio tasks for good."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from typing import Any

log = logging.getLogger("parley.tasks")


async def stop_tasks(tasks: Iterable[asyncio.Task[Any]], recancel_seconds: float = 1.0) -> None:
    """Cancel the tasks and wait until every one has ended.

    A cancellation can be lost: Python 3.11's ``asyncio.wait_for`` returns the awaited result
    instead of raising when that future completes in the same loop iteration as the cancel
    (aiosmtplib reads every SMTP reply through it), and the task then carries on with its loop.
    So a task still running ``recancel_seconds`` after a cancel is cancelled again.
    """
    pending = {task for task in tasks if not task.done()}
    while pending:
        for task in pending:
            task.cancel()
        _, pending = await asyncio.wait(pending, timeout=recancel_seconds)
        for task in pending:
            log.warning("task %s survived a cancel; cancelling it again", task.get_name())
