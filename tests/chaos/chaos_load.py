"""The chaos run's traffic: visitors sending numbered messages, agents listening on the stream.

A visitor sends its messages one after the other (``chaos <n>``, client_message_id
``chaos-<n>``) and retries the same one until it is accepted (201): a refusal or an error is
counted against the fault running at that moment. An agent's stream resumes after every
disconnect with ``since``/``epoch``; on ``reset`` it refetches the conversations over REST, like
the app (those messages count as received, "via refetch").
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import orjson

SLOW = 2.0  # an answer during an outage must come within this (a refusal, never a hang)


@dataclass
class Phase:
    """What happened to the requests sent while one fault was running."""

    name: str
    started: float = field(default_factory=time.monotonic)
    ended: float | None = None
    sent: set[int] = field(default_factory=set)  # messages first sent in this phase
    attempts: int = 0
    accepted: int = 0
    refused_503: int = 0
    bad_503: list[str] = field(default_factory=list)  # not problem+json, or no Retry-After
    failed: Counter[str] = field(default_factory=Counter)  # other answers / errors by kind
    slow: list[str] = field(default_factory=list)  # failures that took more than SLOW


def number(text: str) -> int | None:
    head, _, tail = text.partition(" ")
    return int(tail) if head == "chaos" and tail.isdigit() else None


class Visitors:
    """``len(tokens)`` visitors sending ``total`` numbered messages at ``rate`` per second."""

    def __init__(
        self, http: aiohttp.ClientSession, url: str, tokens: list[str], total: int, rate: float
    ) -> None:
        self.http, self.url, self.tokens, self.total, self.rate = http, url, tokens, total, rate
        self.phase = Phase("start")
        self.phases: list[Phase] = [self.phase]
        self.accepted: set[int] = set()
        self.released = 0
        self.allowed = 0

    def begin(self, name: str, allowed: int) -> Phase:
        """A new phase; visitors may send messages up to number ``allowed`` in it."""
        self.phase.ended = time.monotonic()
        self.phase = Phase(name)
        self.phases.append(self.phase)
        self.allowed = allowed
        return self.phase

    async def run(self) -> None:
        await asyncio.gather(*(self._visitor(v) for v in range(len(self.tokens))))

    async def _visitor(self, v: int) -> None:
        """Visitor ``v`` sends the numbers ≡ v (mod visitors), each once the previous is
        accepted and the current phase allows it, paced to ``rate`` messages per second."""
        for n in range(v or len(self.tokens), self.total + 1, len(self.tokens)):
            while n > self.allowed:
                await asyncio.sleep(0.05)
            await asyncio.sleep(len(self.tokens) / self.rate)
            self.released = max(self.released, n)
            await self._send(n, self.tokens[v])

    def _answered(self) -> Phase:
        self.phase.attempts += 1
        return self.phase

    async def _send(self, n: int, token: str) -> None:
        self.phase.sent.add(n)
        while True:
            started = time.monotonic()
            try:
                async with self.http.post(
                    f"{self.url}/api/v1/widget/messages",
                    headers={"Authorization": f"Bearer {token}"},
                    json={"text": f"chaos {n}", "client_message_id": f"chaos-{n}"},
                    timeout=aiohttp.ClientTimeout(total=10),
                ) as resp:
                    body = await resp.read()
                    status, headers = resp.status, resp.headers
            except (aiohttp.ClientError, TimeoutError) as exc:
                phase = self._answered()  # the fault running when the answer came
                kind = type(exc).__name__
                phase.failed[kind] += 1
                if time.monotonic() - started > SLOW:
                    phase.slow.append(
                        f"message {n}: {kind} after {time.monotonic() - started:.1f}s"
                    )
                await asyncio.sleep(0.2)
                continue
            took = time.monotonic() - started
            phase = self._answered()
            if status == 201:
                phase.accepted += 1
                self.accepted.add(n)
                return
            if took > SLOW:
                code = _problem_code(body) if status >= 400 else ""
                phase.slow.append(f"message {n}: {status} {code} after {took:.1f}s")
            if status == 503:
                phase.refused_503 += 1
                problem = headers.get("content-type", "").startswith("application/problem+json")
                if not problem or not headers.get("retry-after", "").isdigit():
                    phase.bad_503.append(
                        f"{headers.get('content-type')} {headers.get('retry-after')}"
                    )
                await asyncio.sleep(min(2.0, float(headers.get("retry-after") or 1)))
            else:
                phase.failed[str(status)] += 1
                await asyncio.sleep(0.2)


def _problem_code(body: bytes) -> str:
    """The ``code`` of a problem+json answer (which refusal it was), or "" if there is none."""
    try:
        return str(orjson.loads(body).get("code", ""))
    except (orjson.JSONDecodeError, AttributeError):
        return ""


class AgentStream:
    """One agent's socket, resumed after every disconnect; what it received, in what order."""

    def __init__(self, name: str, http: aiohttp.ClientSession, url: str, token: str, n: int):
        self.name, self.http, self.url, self.visitors = name, http, url, n
        self.headers = {"Authorization": f"Bearer {token}"}
        self.epoch: str | None = None
        self.seq = 0
        self.via: dict[int, str] = {}  # message number → "stream" or "refetch"
        self.order: dict[int, list[int]] = {}  # visitor → message numbers as received
        self.stream_duplicates: Counter[int] = Counter()
        self.overlaps = 0  # on the stream after a refetch already had it (dropped by id)
        self.gaps: list[str] = []  # a seq that is not the previous one + 1 in one epoch
        self.connects = 0
        self.resets = 0
        self.hello = asyncio.Event()

    async def run(self) -> None:
        ws_url = self.url.replace("http", "ws", 1) + "/api/v1/stream"
        while True:
            query = f"?since={self.seq}&epoch={self.epoch}" if self.epoch else ""
            try:
                async with self.http.ws_connect(
                    ws_url + query, headers=self.headers, heartbeat=10
                ) as ws:
                    self.connects += 1
                    async for msg in ws:
                        if msg.type != aiohttp.WSMsgType.TEXT:
                            break
                        await self._frame(orjson.loads(msg.data))
            except (aiohttp.ClientError, OSError, TimeoutError):
                pass
            await asyncio.sleep(0.2)

    async def _frame(self, frame: dict[str, Any]) -> None:
        kind = frame.get("type")
        if kind == "hello":
            self.epoch, self.seq = frame["epoch"], frame["seq"]
            self.hello.set()
        elif kind == "reset":
            self.resets += 1
            self.epoch, self.seq = frame["epoch"], frame["seq"]
            await self._refetch()
        elif kind == "event":
            if frame["epoch"] == self.epoch and frame["seq"] != self.seq + 1:
                self.gaps.append(f"{self.seq} → {frame['seq']}")
            self.epoch, self.seq = frame["epoch"], frame["seq"]
            data = frame.get("data") or {}
            if (
                frame.get("event") == "chat.message.created"
                and data.get("author_type") == "visitor"
            ):
                n = number(data.get("text") or "")
                if n is not None:
                    self._receive(n, "stream")

    def _receive(self, n: int, via: str) -> None:
        if n in self.via:
            if via == "stream" and self.via[n] == "stream":
                self.stream_duplicates[n] += 1
            elif via == "stream":
                self.overlaps += 1
            return
        self.via[n] = via
        self.order.setdefault(n % self.visitors, []).append(n)

    async def _get(self, path: str, **params: Any) -> Any:
        while True:
            try:
                async with self.http.get(
                    self.url + path,
                    params=params,
                    headers=self.headers,
                    timeout=aiohttp.ClientTimeout(total=10),
                ) as resp:
                    if resp.status == 200:
                        return await resp.json()
            except (aiohttp.ClientError, TimeoutError):
                pass
            await asyncio.sleep(0.5)

    async def _refetch(self) -> None:
        """What the app does on ``reset``: every conversation's messages over REST."""
        listing = await self._get("/api/v1/conversations", limit=100)
        for conversation in listing["items"]:
            since = 0
            while True:
                page = await self._get(
                    f"/api/v1/conversations/{conversation['id']}/messages", since=since, limit=200
                )
                for item in page["items"]:
                    n = number(item["text"]) if item["author_type"] == "visitor" else None
                    if n is not None:
                        self._receive(n, "refetch")
                    since = max(since, item["seq"])
                if len(page["items"]) < 200:
                    break

    def out_of_order(self) -> list[str]:
        return [
            f"visitor {v}: {got}"
            for v, got in self.order.items()
            if any(a >= b for a, b in itertools.pairwise(got))
        ]
