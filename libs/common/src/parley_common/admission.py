"""Admission control: a bounded number of requests in flight, a short bounded wait for a slot,
and an immediate refusal (503 problem+json with Retry-After) past that.

A request that cannot start within ``wait`` seconds would miss the latency budget anyway;
refusing it at once keeps the latency of accepted work bounded and tells the client when to
come back, where an unbounded queue answers in 15 s, or never (bench/chat_message_path.py).
One ``Admission`` guards each service's HTTP app (``AdmissionMiddleware``) and each upstream
of the gateway's own calls (boot); in front, nginx bounds the requests in flight per service
(``limit_conn``, parley_gateway.nginx) and refuses past that at once.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from starlette.types import ASGIApp, Receive, Scope, Send

from parley_common.errors import Overloaded, problem

# Health and metrics answer even when the service is full: an overloaded service is alive.
EXEMPT_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})


class Admission:
    """At most ``limit`` holders; up to ``queue`` more wait (first come, first served) at most
    ``wait`` seconds each; anyone else is refused with ``Overloaded`` at once."""

    def __init__(self, limit: int, *, wait: float, queue: int | None = None) -> None:
        self.limit = limit
        self.wait = wait
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

    async def acquire(self) -> None:
        if self.in_flight < self.limit and not self._waiters:
            self.in_flight += 1
            return
        if len(self._waiters) >= self.queue or self.wait <= 0:
            self.refused += 1
            raise Overloaded()
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[None] = loop.create_future()
        self._waiters.append(waiter)
        timer = loop.call_later(self.wait, self._expire, waiter)
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
            await admission.acquire()
        except Overloaded as exc:
            response = problem(exc.status, exc.code, exc.title, exc.detail, exc.headers)
            await response(scope, receive, send)
            return
        try:
            await self.app(scope, receive, send)
        finally:
            admission.release()
