"""Stopping a worker's tasks ends them even when a cancellation is lost on the way."""

from __future__ import annotations

import asyncio

from parley_common.tasks import stop_tasks


async def test_a_task_that_lost_its_cancel_in_wait_for_is_still_stopped() -> None:
    loop = asyncio.get_running_loop()
    reply: asyncio.Future[str] = loop.create_future()
    replies: list[str] = []

    async def mail_job() -> None:
        # Like aiosmtplib reading an SMTP reply, then the job's loop going on to the next mail.
        replies.append(await asyncio.wait_for(reply, 10))
        await asyncio.Event().wait()

    job = asyncio.create_task(mail_job())
    await asyncio.sleep(0)
    reply.set_result("250 OK")  # the reply lands in the same loop iteration as the cancel
    await stop_tasks([job], recancel_seconds=0.1)

    assert replies == ["250 OK"]  # the first cancel was swallowed by wait_for
    assert job.cancelled()


async def test_tasks_that_honour_the_cancel_are_stopped_and_finished_ones_left_alone() -> None:
    sleeper = asyncio.create_task(asyncio.Event().wait())
    finished = asyncio.create_task(asyncio.sleep(0))
    await finished
    await stop_tasks([sleeper, finished])
    assert sleeper.cancelled() and not finished.cancelled()
