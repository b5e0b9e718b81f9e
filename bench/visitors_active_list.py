"""The Visitors tab at scale: 100,000 known and 5,000 active visitors in one account.

Measures GET /api/v1/visitors?state=active (plain, and with a URL filter that scans every
active row in Redis) and heartbeat ingestion against the visitors service on its own
database and Redis namespace. Targets: list p99 <= 20 ms; heartbeats >= 5,000/s.

Run: uv run python -m bench visitors_active_list  → bench/results/visitors.json
Heartbeats alone (1,000 visitors seeded, no list phase, results not written):
    uv run python -m bench.visitors_active_list --heartbeat-only [--duration 8]
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import aiohttp

from bench.common import closed_loop, free_port, spawn, wait_http, write_results

KNOWN = 100_000
ACTIVE = 5_000
DURATION = 5.0


def _configure(tmp: Path) -> dict[str, str]:
    from parley_common.security import generate_key_pair
    from parley_common.settings import get_settings

    generate_key_pair(tmp / "jwt_private.pem", tmp / "jwt_public.pem")
    base = os.environ.get(
        "PARLEY_BENCH_DATABASE_BASE", "postgresql+asyncpg://postgres@127.0.0.1:5432"
    )
    env = {
        "PARLEY_DATABASE_URL": f"{base}/parley_bench_visitors",
        "PARLEY_NAMESPACE": f"bench{uuid.uuid4().hex[:6]}",
        "PARLEY_JWT_PRIVATE_KEY_FILE": str(tmp / "jwt_private.pem"),
        "PARLEY_JWT_PUBLIC_KEY_FILE": str(tmp / "jwt_public.pem"),
        "PARLEY_LOG_LEVEL": "WARNING",
    }
    os.environ.update(env)
    get_settings.cache_clear()
    from parley_visitors.config import get_visitors_settings

    get_visitors_settings.cache_clear()
    return env


async def _prepare_database(url: str) -> None:
    from parley_common.definition import load_service
    from parley_common.migrations import ensure_database, upgrade

    await ensure_database(url, recreate=True)
    await asyncio.to_thread(upgrade, load_service("visitors"), url)


async def _account(url: str) -> tuple[uuid.UUID, str]:
    from parley_common.db import create_engine, create_session_factory
    from parley_visitors import repository

    account_id, widget_key = uuid.uuid4(), "wk_bench_" + uuid.uuid4().hex[:8]
    engine = create_engine(url, pool_size=1)
    async with create_session_factory(engine)() as session, session.begin():
        await repository.upsert_account(session, account_id, widget_key, "Bench", {})
    await engine.dispose()
    return account_id, widget_key


async def _known_ids(url: str, account_id: uuid.UUID, count: int) -> list[str]:
    import asyncpg

    from parley_common.events.outbox import asyncpg_dsn

    conn = await asyncpg.connect(asyncpg_dsn(url))
    try:
        rows = await conn.fetch(
            "SELECT id FROM visitors.visitors WHERE account_id = $1 LIMIT $2", account_id, count
        )
    finally:
        await conn.close()
    return [str(r["id"]) for r in rows]


async def _activate(
    http: aiohttp.ClientSession, base: str, widget_key: str, ids: list[str]
) -> list[str]:
    """Open a widget session for each visitor (they become active); their tokens."""
    tokens: list[str] = []
    queue = iter(enumerate(ids))

    async def worker() -> None:
        for n, visitor_id in queue:
            body = {
                "widget_key": widget_key,
                "visitor_id": visitor_id,
                "page": {"url": f"https://shop.example/p/{n % 400}", "title": f"P{n}"},
            }
            async with http.post(f"{base}/api/v1/widget/sessions", json=body) as resp:
                data = await resp.json()
                if resp.status != 200:
                    raise RuntimeError(data)
                tokens.append(data["visitor_token"])

    await asyncio.gather(*(worker() for _ in range(32)))
    return tokens


async def _cleanup(env: dict[str, str]) -> None:
    """The run's Redis keys and queues; the seeded database stays for the next run."""
    from parley_common.cli import remove_namespace
    from parley_common.settings import Settings

    await remove_namespace(Settings(namespace=env["PARLEY_NAMESPACE"]), database=False)


def _cpu_seconds(pid: int) -> float:
    """User + system CPU of a process and its children (the uvicorn workers), from /proc."""
    total = 0.0
    tick = os.sysconf("SC_CLK_TCK")
    pids = [pid]
    children = Path(f"/proc/{pid}/task/{pid}/children")
    if children.exists():
        pids += [int(p) for p in children.read_text().split()]
    for p in pids:
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
        except FileNotFoundError:
            continue
        total += (int(fields[11]) + int(fields[12])) / tick
    return total


async def main(heartbeat_only: bool = False, duration: float = DURATION) -> None:
    from parley_common.security import issue_agent_token
    from parley_visitors.commands import seed_visitors

    known = 1_000 if heartbeat_only else KNOWN
    active = known if heartbeat_only else ACTIVE
    tmp = Path(tempfile.mkdtemp(prefix="parley-bench-"))
    env = _configure(tmp)
    url = env["PARLEY_DATABASE_URL"]
    await _prepare_database(url)
    account_id, widget_key = await _account(url)
    started = time.perf_counter()
    await seed_visitors(str(account_id), known, lambda n: None)
    seed_seconds = time.perf_counter() - started

    port, workers = free_port(), os.cpu_count() or 1
    argv = [sys.executable, "-m", "parley_common.cli", "serve", "visitors", "--port", str(port)]
    server = spawn([*argv, "--workers", str(workers)], env)
    base = f"http://127.0.0.1:{port}"
    results: dict[str, Any] = {
        "known_visitors": known,
        "active_visitors": active,
        "seed_rows_per_s": round(known / seed_seconds),
        "uvicorn_workers": workers,
        "load_average_at_start": round(os.getloadavg()[0], 1),
    }
    try:
        await wait_http(base + "/healthz", timeout=120)
        connector = aiohttp.TCPConnector(limit=128)
        async with aiohttp.ClientSession(connector=connector) as http:
            ids = await _known_ids(url, account_id, active)
            started = time.perf_counter()
            tokens = await _activate(http, base, widget_key, ids)
            results["sessions_per_s"] = round(len(tokens) / (time.perf_counter() - started))
            agent = {
                "Authorization": "Bearer "
                + issue_agent_token(uuid.uuid4(), account_id, "owner", uuid.uuid4())
            }

            async def listing(query: str) -> None:
                async with http.get(f"{base}/api/v1/visitors?{query}", headers=agent) as resp:
                    body = await resp.json()
                    if resp.status != 200 or body["total_active"] != ACTIVE:
                        raise RuntimeError(body)

            for name, query in (
                []
                if heartbeat_only
                else [
                    ("active_list", "state=active&limit=50"),
                    ("active_list_url_filter", "state=active&url_contains=p/399"),
                    ("active_list_returning", "state=active&returning=true"),
                ]
            ):
                await closed_loop(lambda q=query: listing(q), 1, 1.0)  # warm-up
                results[name] = {
                    "c1": await closed_loop(lambda q=query: listing(q), 1, DURATION),
                    "c8": await closed_loop(lambda q=query: listing(q), 8, DURATION),
                }

            cycle = itertools.cycle(tokens)

            async def heartbeat() -> None:
                headers = {"Authorization": "Bearer " + next(cycle)}
                async with http.post(f"{base}/api/v1/widget/heartbeat", headers=headers) as resp:
                    await resp.read()
                    if resp.status != 200:
                        raise RuntimeError(resp.status)

            await closed_loop(heartbeat, 64, 1.0)
            cpu_before = _cpu_seconds(server.pid)
            results["heartbeat"] = await closed_loop(heartbeat, 64, duration)
            count = results["heartbeat"]["count"]
            results["heartbeat"]["server_cpu_us_per_request"] = round(
                (_cpu_seconds(server.pid) - cpu_before) / max(count, 1) * 1e6
            )
    finally:
        server.terminate()
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
        await _cleanup(env)
    if heartbeat_only:
        print(results)
        return
    p99 = results["active_list"]["c1"].get("p99_ms")
    results["targets"] = {
        "active_list_p99_ms_le_20": p99 is not None and p99 <= 20,
        "heartbeats_per_s_ge_5000": results["heartbeat"]["requests_per_s"] >= 5000,
    }
    write_results("visitors", results)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--heartbeat-only", action="store_true")
    parser.add_argument("--duration", type=float, default=DURATION)
    args = parser.parse_args()
    asyncio.run(main(heartbeat_only=args.heartbeat_only, duration=args.duration))
