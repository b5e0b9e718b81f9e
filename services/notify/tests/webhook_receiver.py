"""A real HTTP receiver for outgoing webhooks (aiohttp on 127.0.0.1): it records every
request and answers per path: /ok 200, /fail 500, /slow never (until stopped)."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
from dataclasses import dataclass, field
from typing import Any

import orjson
from aiohttp import web


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> Any:
        return orjson.loads(self.body)

    def signed_with(self, secret: str) -> bool:
        parts = dict(p.split("=", 1) for p in self.headers["X-Parley-Signature"].split(","))
        expected = hmac.new(
            secret.encode(), f"{parts['t']}.".encode() + self.body, hashlib.sha256
        ).hexdigest()
        return hmac.compare_digest(parts["v1"], expected)


@dataclass
class WebhookReceiver:
    received: list[Received] = field(default_factory=list)
    port: int = 0
    _runner: web.AppRunner | None = None
    _stop: asyncio.Event = field(default_factory=asyncio.Event)

    async def _handle(self, request: web.Request) -> web.Response:
        self.received.append(Received(request.path, dict(request.headers), await request.read()))
        if request.path == "/slow":
            await self._stop.wait()
        return web.Response(status=500 if request.path == "/fail" else 200, text="ok")

    async def start(self) -> WebhookReceiver:
        app = web.Application()
        app.router.add_post("/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        return self

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def at(self, path: str) -> list[Received]:
        return [r for r in self.received if r.path == path]

    async def stop(self) -> None:
        self._stop.set()
        if self._runner is not None:
            await self._runner.cleanup()
