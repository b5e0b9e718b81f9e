"""What a cold start of `make run` costs: processes, CPU seconds, RSS and wall time until every
API answers.

Starts a Procfile's processes at once, as `make run` does (on free ports, against a throw-away
database and namespace), and takes each process's CPU seconds and resident memory (/proc; nginx
with its workers) when it serves: an API when it answers /healthz, a worker or chat-mail when
its log says it runs. Then the wall time until the gateway's /readyz (every service) answers.
Three layouts in one run, interleaved ``--rounds`` times:

- ``base``: another checkout's Procfile (``--base``, e.g. main before this change: fourteen
  processes, each service's API and worker apart);
- ``separate``: this checkout, API and worker apart (as deployed; what the e2e tests start):
  what the lazy imports bought on their own;
- ``make_run``: this checkout's Procfile as `make run` starts it, one process per service
  (``parley serve <name> --with-worker``).

Run: flock /tmp/bench.lock uv run python -m bench.process_start --base /work/wt/devproc-base
→ bench/results/process_start.json (the per-round figures and each layout's best round)
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from bench.common import ROOT, write_results
from bench.system import bench_env, tree_cpu_seconds
from parley_common.cli import remove_namespace
from parley_common.e2e import System, make_system
from parley_common.settings import Settings

TIMEOUT = 300


def tree_rss_mb(pid: int) -> float:
    """Resident memory of a process and its live children (nginx's workers), MiB."""
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        children = []
    total = 0
    for p in [pid, *map(int, children)]:
        try:
            status = Path(f"/proc/{p}/status").read_text()
        except OSError:
            continue
        total += next(int(line.split()[1]) for line in status.splitlines() if line[:6] == "VmRSS:")
    return round(total / 1024, 1)


def cold_start(system: System) -> dict[str, Any]:
    """Start every process at once; each one's figures when it serves, then readiness."""
    started_at = time.monotonic()
    system.start_all()
    names = list(system.commands)
    processes: dict[str, dict[str, float]] = {}
    try:
        while len(processes) < len(names):
            if time.monotonic() - started_at > TIMEOUT:
                raise RuntimeError(f"not started: {sorted(set(names) - set(processes))}")
            for name in names:
                if name not in processes and system.started(name):
                    pid = system.processes[name].pid
                    processes[name] = {
                        "wall_s": round(time.monotonic() - started_at, 2),
                        "cpu_s": round(tree_cpu_seconds(pid), 2),
                        "rss_mb": tree_rss_mb(pid),
                    }
            time.sleep(0.05)
        while True:
            try:
                if httpx.get(system.internal_url + "/readyz", timeout=3).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() - started_at > TIMEOUT:
                raise RuntimeError("the gateway is not ready")
            time.sleep(0.05)
        ready_s = round(time.monotonic() - started_at, 2)
    finally:
        for name in names:
            if name in system.processes and system.processes[name].poll() is None:
                system.kill(name)
    return {
        "processes": len(names),
        "ready_s": ready_s,
        "cpu_s_total": round(sum(p["cpu_s"] for p in processes.values()), 2),
        "rss_mb_total": round(sum(p["rss_mb"] for p in processes.values()), 1),
        "by_process": processes,
    }


def summary(rounds: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "processes": rounds[0]["processes"],
        "ready_s_median": statistics.median(r["ready_s"] for r in rounds),
        "cpu_s_total_median": statistics.median(r["cpu_s_total"] for r in rounds),
        "rss_mb_total_median": statistics.median(r["rss_mb_total"] for r in rounds),
    }


async def main(base: Path | None = None, rounds: int = 2) -> None:
    tmp = Path(tempfile.mkdtemp(prefix="parley-bench-start-"))
    # INFO: a worker says "running" in its log when it has started.
    env = {**bench_env(tmp), "PARLEY_LOG_LEVEL": "INFO", "PARLEY_DATABASE_POOL_SIZE": "2"}
    parley = str(ROOT / ".venv/bin/parley")
    for command in ("keys", "migrate"):
        subprocess.run([parley, command], env=env, check=True, cwd=ROOT, capture_output=True)  # noqa: ASYNC221
    layouts = {"separate": (ROOT, True), "make_run": (ROOT, False)}
    if base:
        layouts = {"base": (base, True), **layouts}
    results: dict[str, list[dict[str, Any]]] = {name: [] for name in layouts}
    try:
        for _ in range(rounds):
            for name, (root, separate) in layouts.items():
                system = make_system(
                    env, logs=tmp / "logs" / name, root=root, separate_workers=separate
                )
                results[name].append(await asyncio.to_thread(cold_start, system))
    finally:
        await remove_namespace(
            Settings(database_url=env["PARLEY_DATABASE_URL"], namespace=env["PARLEY_NAMESPACE"])
        )
    write_results(
        "process_start",
        {
            "what": "a cold start of every Procfile process at once, as make run: each "
            "process's CPU seconds and RSS when it serves (/healthz, or its 'running' log "
            "line), their sums, and the wall seconds until the gateway's /readyz answers",
            "base": str(base) if base else None,
            "summary": {name: summary(r) for name, r in results.items()},
            "rounds": results,
        },
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--base", help="another checkout (with .venv): its Procfile first")
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    asyncio.run(main(Path(args.base).resolve() if args.base else None, args.rounds))
