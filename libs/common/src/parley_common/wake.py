"""Waking a background job when its work appears, instead of polling on a short period.

A job loops: it does the work that is due, then ``await wake.sleep(due_in)``, which returns
when the next known piece of work falls due (``due_in``, computed from the rows, e.g.
``SELECT min(due_at)``), after ``safety`` seconds at the latest, or at once when woken. A
system at rest then costs a query every ``safety`` seconds per job, not several a second.

Work written in another transaction or process wakes the job through PostgreSQL: a statement
trigger on the table NOTIFYs the wake's channel (``create_wake_trigger`` in a migration; the
notification is sent at commit, to every process listening) and the process's ``Listener``
sets the wake. Work the job's own process schedules (a retry it recorded) calls ``set``. While
the listener has no connection, ``sleep`` polls every ``fallback`` seconds instead.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import Any

import asyncpg

from parley_common.events.publisher import asyncpg_dsn

log = logging.getLogger("parley.wake")


class Wake:
    """A job's alarm clock (see the module), woken by NOTIFY on ``channel``."""

    def __init__(self, channel: str, safety: float, fallback: float = 1.0) -> None:
        self.channel = channel
        self.safety = safety
        self.fallback = fallback
        self.listening = False  # set by the process's Listener while its LISTEN holds
        self._pending = False
        self._waiter: asyncio.Future[None] | None = None

    def set(self) -> None:
        """Work may be due: the sleeping job runs now (a job not asleep runs its next round at
        once, so work written while it was busy is not left for the next timeout)."""
        self._pending = True
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)

    def limit(self) -> float:
        """The longest sleep: ``safety``, or ``fallback`` while the channel is not heard."""
        return self.safety if self.listening else self.fallback

    async def sleep(self, due_in: float | None = None, floor: float = 0.0) -> None:
        """Sleep until woken, ``due_in`` seconds (not less than ``floor``, so work that stays
        due, e.g. a failing send, does not spin), or ``limit()``, whichever comes first."""
        timeout = self.limit() if due_in is None else min(max(due_in, floor), self.limit())
        if not self._pending and timeout > 0:
            self._waiter = asyncio.get_running_loop().create_future()
            try:
                await asyncio.wait((self._waiter,), timeout=timeout)
            finally:
                self._waiter = None
        self._pending = False


class Listener:
    """One PostgreSQL connection per process LISTENing on its wakes' channels; it reconnects
    after a loss (the wakes poll every ``fallback`` seconds meanwhile) and wakes every job
    once it listens again, for work committed while nobody heard."""

    def __init__(self, database_url: str, wakes: Sequence[Wake], retry_seconds: float = 1.0):
        self.database_url = database_url
        self.wakes = list(wakes)
        self.retry_seconds = retry_seconds

    async def run(self) -> None:
        while True:
            try:
                await self._listen()
                log.warning("LISTEN connection lost; polling until it is back")
            except Exception as exc:
                log.warning("LISTEN unavailable (%r); polling until it is back", exc)
            await asyncio.sleep(self.retry_seconds)

    async def _listen(self) -> None:
        """Listen on one connection until it is lost."""
        conn = await asyncpg.connect(asyncpg_dsn(self.database_url))
        lost: asyncio.Future[None] = asyncio.get_running_loop().create_future()

        def on_lost(_conn: Any) -> None:
            if not lost.done():
                lost.set_result(None)

        conn.add_termination_listener(on_lost)
        try:
            for wake in self.wakes:
                await conn.add_listener(wake.channel, _setter(wake))
            for wake in self.wakes:
                wake.listening = True
                wake.set()
            await lost
        finally:
            for wake in self.wakes:
                wake.listening = False
            if not conn.is_closed():
                conn.terminate()


def _setter(wake: Wake) -> Any:
    return lambda *_: wake.set()


def create_wake_trigger(op: Any, schema: str, table: str, channel: str) -> None:
    """For a migration: NOTIFY ``channel`` once per statement that inserts into the table (at
    commit, so the woken job finds the rows)."""
    op.execute(f"""
        CREATE FUNCTION {schema}.{table}_wake() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN PERFORM pg_notify('{channel}', ''); RETURN NULL; END $$;
    """)
    op.execute(f"""
        CREATE TRIGGER {table}_wake AFTER INSERT ON {schema}.{table}
        FOR EACH STATEMENT EXECUTE FUNCTION {schema}.{table}_wake();
    """)


def drop_wake_trigger(op: Any, schema: str, table: str) -> None:
    op.execute(f"DROP TRIGGER IF EXISTS {table}_wake ON {schema}.{table}")
    op.execute(f"DROP FUNCTION IF EXISTS {schema}.{table}_wake()")
