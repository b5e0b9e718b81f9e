"""uvicorn's server, waking once a second at rest instead of ten times.

uvicorn's ``Server.main_loop`` sleeps 0.1 s between ticks only to notice ``should_exit`` soon;
the tick's real work (the cached ``Date`` header, ``limit_max_requests``) is once a second.
Ten wake-ups a second cost every idle API process ~1 ms CPU per second (bench/idle_cpu.py).
This server ticks once a second (every tick refreshes ``Date``, as uvicorn's every tenth did)
and a signal wakes it at once, so shutdown starts as soon as before.
"""

from __future__ import annotations

import asyncio
import contextlib
from types import FrameType

import uvicorn

TICK_SECONDS = 1.0
# uvicorn's on_tick refreshes the Date header when its counter is a multiple of this.
_TICKS_PER_DATE = 10


class Server(uvicorn.Server):
    _exit: asyncio.Event | None = None
    _loop: asyncio.AbstractEventLoop | None = None

    async def main_loop(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._exit = asyncio.Event()
        counter = 0
        while not await self.on_tick(counter):
            counter += _TICKS_PER_DATE
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._exit.wait(), TICK_SECONDS)

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        super().handle_exit(sig, frame)
        # A signal handler runs between two bytecodes of the loop's thread: hand the wake to
        # the loop through its self-pipe rather than touching the event from here.
        if self._loop is not None and self._exit is not None:
            self._loop.call_soon_threadsafe(self._exit.set)
