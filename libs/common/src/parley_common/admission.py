"""Admission control: a bounded number of requests in flight, a short bounded wait for a slot,
and an immediate refusal (503 problem+json with Retry-After) past that.

A request that cannot start within ``wait`` seconds would miss the latency budget anyway;
refusing it at once keeps the latency of accepted work bounded and tells the client when to
come back, where an unbounded queue answers in 15 s, or never (bench/chat_message_path.py).
One ``Admission`` guards each service's HTTP app (``AdmissionMiddleware``) and each upstream
of the gateway's own calls (boot); in front, nginx bounds the requests in flight per service
(``limit_conn``, parley_gateway.nginx) and refuses past that at once.

The wait counts from when nginx took the request (its ``X-Request-Start: t=<epoch seconds>``),
not from when the service's event loop got to it: a starved service's socket backlog and
busy loop are a queue too, and a request that already waited its whole wait there is refused
at once, before any work, instead of being answered too late (bench/README.md). That needs
nginx's clock and the service's in step (NTP: milliseconds); where they may not be, turn it
off (``PARLEY_ADMISSION_WAIT_FROM_FRONT=false``): a service whose clock runs ahead of nginx's
by more than the wait would refuse everything.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from starlette.types import ASGIApp, Receive, Scope, Send

from parley_common.errors import Overloaded, problem

# Health and metrics answer even when the service is full: an overloaded service is alive.
EXEMPT_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})
REQUEST_START = b"x-request-start"  # set by nginx: "t=<seconds since the epoch, in ms>"
# A claimed wait longer than this is a clock out of step, not a queue: ignored.
MAX_BELIEVED_WAIT = 60.0


def waited_in_front(headers: list[tuple[bytes, bytes]]) -> float:
    """Seconds since the front proxy took the request (``X-Request-Start``); 0 if unknown."""
    for name, value in headers:
        if name == REQUEST_START:
            try:
                waited = time.time() - float(value.removeprefix(b"t="))
            except ValueError:
                return 0.0
            return waited if 0.0 < waited < MAX_BELIEVED_WAIT else 0.0
    return 0.0


class Admission:
    """At most ``limit`` holders; up to ``queue`` more wait (first come, first served) at most
    ``wait`` seconds each; anyone else is refused with ``Overloaded`` at once."""

    def __init__(
        self, limit: int, *, wait: float, queue: int | None = None, from_front: bool = False
    ) -> None:
        self.limit = limit
        self.wait = wait
        self.from_front = from_front  # the middleware counts the wait in front of the service
        self.queue = 4 * limit if queue is None else queue
        self.in_flight = 0
        self.refused = 0
        self._waiters: deque[asyncio.Future[None]] = deque()

    @asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        await self.acquire()
        try:
            yield
        finally:
            self.release()

    async def acquire(self, waited: float = 0.0) -> None:
        """A slot, or ``Overloaded``. ``waited``: seconds the request already queued in front
        of us (``waited_in_front``); they count against its wait."""
        budget = self.wait - waited
        if self.wait > 0 and budget <= 0:  # it already waited its whole wait before it got here
            self.refused += 1
            raise Overloaded()
        if self.in_flight < self.limit and not self._waiters:
            self.in_flight += 1
            return
        if len(self._waiters) >= self.queue or budget <= 0:
            self.refused += 1
            raise Overloaded()
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[None] = loop.create_future()
        self._waiters.append(waiter)
        timer = loop.call_later(budget, self._expire, waiter)
        try:
            await waiter  # a released slot is handed over with its count: in_flight unchanged
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled() and waiter.exception() is None:
                self.release()  # handed a slot, then cancelled before using it
            raise
        finally:
            timer.cancel()

    def release(self) -> None:
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return
        self.in_flight -= 1

    def _expire(self, waiter: asyncio.Future[None]) -> None:
        if not waiter.done():
            self._waiters.remove(waiter)
            self.refused += 1
            waiter.set_exception(Overloaded())


class AdmissionMiddleware:
    """Bounds a service's HTTP requests in flight with ``app.state.admission`` (made in the
    lifespan from the settings); websockets and health checks are not counted."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        admission: Admission | None = getattr(scope["app"].state, "admission", None)
        if scope["type"] != "http" or admission is None or scope["path"] in EXEMPT_PATHS:
            await self.app(scope, receive, send)
            return
        try:
            await admission.acquire(
                waited_in_front(scope["headers"]) if admission.from_front else 0.0
            )
        except Overloaded as exc:
            response = problem(exc.status, exc.code, exc.title, exc.detail, exc.headers)
            await response(scope, receive, send)
            return
        try:
            await self.app(scope, receive, send)
        finally:
            admission.release()
