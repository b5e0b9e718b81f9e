"""chat's Python CPU per visitor message, without a server: the ASGI app called directly.

Starts chat's app (its lifespan: engine, pool, Redis) against a throw-away database with
every migration applied, then sends visitor messages as ASGI requests built by hand (no
uvicorn, no httpx: what the app itself costs). Each visitor's first message opens their
conversation; the measured ones take the hot path (the open conversation, one statement).
Reports ``time.process_time`` per message for ``--rounds`` rounds of ``--messages`` (best and
median), so two checkouts compare by running this in each. PostgreSQL's own CPU is not in it.
The gateway's stream queue is declared (bound to every key, as the sequencer declares it) so
chat's publishes are routed as in the system: unbound, each came back as a Basic.Return,
which chat's AMQP reader paid for (~7% of chat's CPU here) and the running system never does.

Run: uv run python -m bench.chat_in_process [--rounds 6] [--messages 800] [--profile out.pstats]
→ bench/results/<out>.json
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import orjson
import uvloop

from bench.common import write_results
from bench.system import bench_env

VISITORS = 50


def _environment() -> None:
    """The benchmarks' throw-away database, namespace and keys (``bench.system.bench_env``)."""
    from parley_common.security import generate_key_pair

    tmp = Path(tempfile.mkdtemp(prefix="parley-inproc-"))
    os.environ.update(bench_env(tmp))
    os.environ["PARLEY_LOG_JSON"] = "false"
    generate_key_pair(tmp / "jwt_private.pem", tmp / "jwt_public.pem")


async def post(app: Any, token: bytes, body: bytes, request_id: bytes | None) -> int:
    headers = [
        (b"host", b"chat"),
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        (b"authorization", b"Bearer " + token),
    ]
    if request_id is not None:
        headers.append((b"x-request-id", request_id))
    scope = {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/api/v1/widget/messages",
        "raw_path": b"/api/v1/widget/messages",
        "root_path": "",
        "query_string": b"",
        "headers": headers,
        "client": ("127.0.0.1", 40000),
        "server": ("127.0.0.1", 8000),
        "state": {},
    }
    sent = False
    status = 0

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        await asyncio.Event().wait()
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]

    await app(scope, receive, send)
    return status


async def bind_stream_queue() -> None:
    """The gateway's stream queue, as its sequencer declares it (removed with the namespace)."""
    from parley_common.events import broker
    from parley_common.settings import get_settings
    from parley_gateway.stream.sequencer import QUEUE_PURPOSE

    settings = get_settings()
    connection = await broker.connect(settings.rabbitmq_url, name="bench")
    try:
        channel = await connection.channel()
        name = broker.queue_name(settings.namespace, "gateway", QUEUE_PURPOSE)
        await broker.declare_queue(channel, settings.namespace, name, ["#"])
    finally:
        await connection.close()


async def bench(rounds: int, messages: int, profile: str | None) -> dict[str, Any]:
    from parley_chat.app import app
    from parley_common.security import issue_visitor_token
    from parley_common.testing import lifespan

    account = uuid.uuid4()
    tokens = [issue_visitor_token(uuid.uuid4(), account).encode() for _ in range(VISITORS)]
    counter = 0

    async def one(i: int) -> None:
        nonlocal counter
        counter += 1
        body = orjson.dumps({"text": f"hello {counter}", "client_message_id": f"m-{counter}"})
        status = await post(app, tokens[i % VISITORS], body, uuid.uuid4().hex.encode())
        if status != 201:
            raise RuntimeError(f"status {status}")

    results: list[float] = []
    async with lifespan(app):
        for i in range(VISITORS * 4):  # open each conversation, warm everything
            await one(i)
        for _ in range(rounds):
            started = time.process_time()
            for i in range(messages):
                await one(i)
            results.append((time.process_time() - started) / messages * 1000)
        if profile:
            import cProfile

            profiler = cProfile.Profile()
            profiler.enable()
            for i in range(messages):
                await one(i)
            profiler.disable()
            profiler.dump_stats(profile)
    return {
        "messages_per_round": messages,
        "cpu_ms_per_message": [round(r, 4) for r in results],
        "best": round(min(results), 4),
        "median": round(statistics.median(results), 4),
    }


async def main(rounds: int, messages: int, profile: str | None, out: str) -> None:
    _environment()
    from parley_common.cli import migrate_all, remove_namespace
    from parley_common.migrations import ensure_database
    from parley_common.settings import get_settings

    settings = get_settings()
    await ensure_database(settings.database_url, recreate=True)
    await asyncio.to_thread(migrate_all, settings.database_url)
    try:
        await bind_stream_queue()
        result = await bench(rounds, messages, profile)
    finally:
        await remove_namespace(settings)
    print(orjson.dumps(result).decode())
    if out:
        write_results(out, result)


def cli() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--messages", type=int, default=800)
    parser.add_argument("--profile", help="cProfile of one more round: pstats file")
    parser.add_argument("--out", default="", help="results name: bench/results/<out>.json")
    args = parser.parse_args()
    uvloop.run(main(args.rounds, args.messages, args.profile, args.out))


if __name__ == "__main__":
    cli()
