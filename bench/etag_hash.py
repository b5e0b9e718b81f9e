"""What an ETag costs per GET: the BLAKE2b digest of the body, and the whole middleware (buffer,
hash, header) around a JSON response, called as ASGI in-process (no sockets), CPU time only.

Writes bench/results/etag.json.
"""

from __future__ import annotations

import time
from typing import Any

import orjson
from starlette.responses import Response

from bench.common import write_results
from parley_common.etag import ETagMiddleware, etag_of

SIZES = (1_000, 10_000, 100_000)


def body_of(size: int) -> bytes:
    item = {"id": "0b7f1c2e-0000-4000-8000-000000000000", "text": "Hello, do you ship to Brno?"}
    items = [item] * (size // len(orjson.dumps(item)) + 1)
    return orjson.dumps({"items": items, "next_cursor": None})[:size]


def cpu_us(fn: Any, rounds: int) -> float:
    started = time.process_time()
    for _ in range(rounds):
        fn()
    return (time.process_time() - started) / rounds * 1e6


async def asgi_us(app: Any, rounds: int) -> float:
    scope = {"type": "http", "method": "GET", "path": "/", "headers": [], "query_string": b""}

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        return None

    started = time.process_time()
    for _ in range(rounds):
        await app(scope, receive, send)
    return (time.process_time() - started) / rounds * 1e6


async def main() -> None:
    results: dict[str, Any] = {}
    for size in SIZES:
        body = body_of(size)
        rounds = 20_000 if size <= 10_000 else 2_000
        response = Response(body, media_type="application/json")

        async def plain(scope: Any, receive: Any, send: Any, response: Response = response) -> None:
            await response(scope, receive, send)

        tagged = ETagMiddleware(plain)
        without = await asgi_us(plain, rounds)
        with_etag = await asgi_us(tagged, rounds)
        results[f"{size // 1000}kb"] = {
            "blake2b_us": round(cpu_us(lambda body=body: etag_of(body), rounds), 2),
            "response_without_etag_us": round(without, 2),
            "response_with_etag_us": round(with_etag, 2),
            "middleware_cost_us": round(with_etag - without, 2),
        }
    write_results("etag", results)
