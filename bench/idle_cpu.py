"""The CPU the whole system burns at rest: each process's CPU milliseconds per second while
nothing happens, after a few messages warmed it up.

Starts every process of a checkout's Procfile (separate API and worker processes, as deployed)
against a throw-away database and namespace, signs up an account, opens the agent's stream,
sends a few visitor messages, lets the system settle, then measures each process's CPU (and
our PostgreSQL backends', RabbitMQ's and Redis's) over ``--duration`` seconds of no traffic.
With ``--base <checkout>`` the same runs against another commit's checkout in the same run (A/B
on the same machine and hour).

Run: flock /tmp/bench.lock uv run --frozen python -m bench.idle_cpu [--base /work/wt/load-base]
[--duration 20] [--out idle_cpu] → bench/results/<out>.json
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
from pathlib import Path
from typing import Any

import aiohttp

from bench.chat_message_path import SHARED, listening_run, open_loop, setup
from bench.common import ROOT, write_results
from bench.system import CpuMeter, System, bench_env, calibrate

WARM_MESSAGES = 20
SETTLE_SECONDS = 10.0  # deliveries, eager publishes and their marks end before measuring


async def idle_system(root: Path, duration: float) -> dict[str, Any]:
    tmp = Path(tempfile.mkdtemp(prefix="parley-bench-idle-"))
    system = System(root, bench_env(tmp))
    system.start()
    meter = CpuMeter(system)
    try:
        async with aiohttp.ClientSession() as http:
            owner, visitors = await setup(http, system)
            await meter.open()
            run, ws, listener = await listening_run(http, system, owner, visitors)
            warm = await open_loop(run, 10, WARM_MESSAGES / 10)
            await asyncio.sleep(SETTLE_SECONDS)
            _, cpu, connections = await meter.measure(asyncio.sleep(duration))
            listener.cancel()
            await ws.close()
            await meter.close()
        per_second = {name: round(s * 1000 / duration, 2) for name, s in cpu.items()}
        return {
            "root": str(root),
            "commit": system.commit,
            "warm_up_delivered": warm["deliver"].get("count"),
            "cpu_ms_per_s": dict(sorted(per_second.items(), key=lambda kv: -kv[1])),
            "cpu_ms_per_s_ours": round(sum(v for k, v in per_second.items() if k not in SHARED), 2),
            "pg_connections_opened": connections,
        }
    finally:
        await system.stop()


async def main(duration: float, base: str | None, out: str) -> None:
    calibration_ms = calibrate()
    runs = {}
    if base:
        runs["base"] = await idle_system(Path(base), duration)
    runs["this"] = await idle_system(ROOT, duration)
    results: dict[str, Any] = {
        "what": "CPU ms per second of each process at rest (no traffic) after a warm-up of "
        f"{WARM_MESSAGES} visitor messages; ours = our processes and our database's PostgreSQL "
        "backends (RabbitMQ, Redis and PostgreSQL's server processes are shared, apart).",
        "duration_s": duration,
        "calibration_ms": [calibration_ms, calibrate()],
        "runs": runs,
    }
    if base:
        results["this_vs_base_ours"] = round(
            runs["this"]["cpu_ms_per_s_ours"] / max(runs["base"]["cpu_ms_per_s_ours"], 0.01), 3
        )
    write_results(out, results)


def cli() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument(
        "--duration",
        type=float,
        default=20.0,
        help="seconds measured; under ~45: the warm-up's visitors go inactive a minute after "
        "it, and their `left` events (visitors-worker, bots-worker) are work, not rest",
    )
    parser.add_argument("--base", help="another checkout (with .venv) to run first: A/B")
    parser.add_argument("--out", default="idle_cpu", help="results name: bench/results/<out>.json")
    args = parser.parse_args()
    asyncio.run(main(args.duration, args.base, args.out))


if __name__ == "__main__":
    cli()
