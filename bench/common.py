"""Helpers the benchmarks share: processes on free ports, a bounded aiohttp load loop, JSON out."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Coroutine
from pathlib import Path
from typing import Any

import aiohttp

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"


async def paced(
    rate: float,
    count: int,
    send: Callable[[int], Coroutine[Any, Any, Any]],
    start: float | None = None,
) -> list[Any]:
    """An open loop: ``send(n)`` for n in range(count), the n-th started at ``start`` (a
    ``time.perf_counter()``; now if None) + n / rate, whatever the answers before it take;
    their results in order."""
    started = time.perf_counter() if start is None else start
    tasks = []
    for n in range(count):
        delay = started + n / rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(send(n)))
    return list(await asyncio.gather(*tasks))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def spawn(argv: list[str], env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        argv,
        env={**os.environ, **(env or {})},
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


async def wait_http(url: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    async with aiohttp.ClientSession() as session:
        while time.monotonic() < deadline:
            try:
                async with session.get(url) as resp:
                    if resp.status < 500:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.2)
    raise RuntimeError(f"{url} did not come up")


def percentiles(samples: list[float]) -> dict[str, float]:
    if not samples:
        return {}
    ordered = sorted(samples)

    def pick(q: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000, 3)

    return {
        "p50_ms": pick(0.50),
        "p90_ms": pick(0.90),
        "p99_ms": pick(0.99),
        "mean_ms": round(statistics.fmean(ordered) * 1000, 3),
        "count": len(ordered),
    }


async def closed_loop(
    call: Callable[[], Awaitable[None]], concurrency: int, duration: float
) -> dict[str, Any]:
    """``concurrency`` workers calling back to back for ``duration`` seconds."""
    latencies: list[float] = []
    errors = 0
    stop_at = time.monotonic() + duration

    async def worker() -> None:
        nonlocal errors
        while time.monotonic() < stop_at:
            started = time.perf_counter()
            try:
                await call()
            except Exception:
                errors += 1
                continue
            latencies.append(time.perf_counter() - started)

    started = time.monotonic()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    elapsed = time.monotonic() - started
    return {
        "concurrency": concurrency,
        "requests_per_s": round(len(latencies) / elapsed, 1),
        "errors": errors,
        **percentiles(latencies),
    }


def write_results(name: str, results: dict[str, Any]) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}.json"
    results = {
        "benchmark": name,
        "measured_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "python": sys.version.split()[0],
        "cpus": os.cpu_count(),
        **results,
    }
    path.write_text(json.dumps(results, indent=2))
    print(json.dumps(results, indent=2))
    return path


async def migrated_database(service: str, name: str) -> str:
    """A fresh database ``parley_bench_<name>_<run>`` with ``service``'s migrations applied
    (Alembic runs its own event loop: in a thread)."""
    import uuid

    from parley_common.definition import load_service
    from parley_common.migrations import ensure_database, upgrade

    base = os.environ.get(
        "PARLEY_BENCH_DATABASE_BASE", "postgresql+asyncpg://postgres@127.0.0.1:5432"
    )
    url = f"{base}/parley_bench_{name}_{uuid.uuid4().hex[:8]}"
    await ensure_database(url, recreate=True)
    await asyncio.to_thread(upgrade, load_service(service), url)
    return url
