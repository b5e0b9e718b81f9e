"""A job's Wake: a NOTIFY committed elsewhere wakes it long before its safety poll, also after
the LISTEN connection was lost and came back; while it is lost the job polls."""

from __future__ import annotations

import asyncio

import asyncpg

from parley_common.events.publisher import asyncpg_dsn
from parley_common.tasks import stop_tasks
from parley_common.testing import eventually
from parley_common.wake import Listener, Wake

CHANNEL = "parley_test_wake"
NEVER = 3600.0  # a safety poll the test cannot wait for: only a wake ends the sleep


async def _notify(dsn: str) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        async with conn.transaction():
            await conn.execute(f"NOTIFY {CHANNEL}")
    finally:
        await conn.close()


async def test_a_notify_wakes_the_sleeping_job_and_survives_a_lost_connection(
    database: str,
) -> None:
    dsn = asyncpg_dsn(database)
    wake = Wake(CHANNEL, safety=NEVER, fallback=NEVER)
    listener = asyncio.create_task(Listener(database, [wake], retry_seconds=0.05).run())
    try:
        await eventually(lambda: wake.listening)
        await wake.sleep()  # the wake the listener gives once it listens
        for _ in range(2):
            sleeper = asyncio.create_task(wake.sleep())
            await asyncio.sleep(0)
            assert not sleeper.done()
            await _notify(dsn)
            await asyncio.wait_for(sleeper, 10)
            # The server ends the LISTEN connection (a restart, a failover): it comes back.
            admin = await asyncpg.connect(dsn)
            await admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                f"WHERE datname = current_database() AND query LIKE '%{CHANNEL}%' "
                "AND pid <> pg_backend_pid()"
            )
            await admin.close()
            await eventually(lambda: not wake.listening)
            await eventually(lambda: wake.listening)
            await wake.sleep()
    finally:
        await stop_tasks([listener])


async def test_a_wake_set_while_busy_is_kept_and_a_lost_listener_means_polling() -> None:
    wake = Wake(CHANNEL, safety=NEVER, fallback=0.01)
    wake.set()  # work appeared while the job was busy: its next sleep returns at once
    await asyncio.wait_for(wake.sleep(due_in=NEVER), 10)
    await asyncio.wait_for(wake.sleep(), 10)  # nobody listens: the fallback poll
    wake.listening = True
    assert wake.limit() == NEVER
    await asyncio.wait_for(wake.sleep(due_in=0.01), 10)  # the next due row decides
