"""What a process costs to start: CPU seconds and wall time until it serves.

Starts the Procfile's processes (against a throw-away database and namespace, like the chat
bench) and measures, for each, the CPU it used (/proc) and the wall time until it answers
/healthz or logs that it runs:
- ``alone``: one process at a time, the others stopped;
- ``together``: all thirteen at once, as `make run` and the e2e tests start them.
Each twice: with the bytecode `make install` compiles, and without any (what every start cost
before, as PYTHONDONTWRITEBYTECODE is set on the development machines).

Run: uv run python -m bench process_start  → bench/results/process_start.json
"""

from __future__ import annotations

import os
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.chat_message_path import PARLEY, bench_env, cpu_seconds
from bench.common import ROOT, write_results
from parley_common.cli import remove_namespace
from parley_common.e2e import System, make_system
from parley_common.settings import Settings


def system(env: dict[str, str], logs: Path) -> System:
    # INFO: a worker says "running" in its log when it has started.
    return make_system({**env, "PARLEY_LOG_LEVEL": "INFO"}, logs=logs)


def start_and_measure(sys_: System, names: list[str]) -> dict[str, Any]:
    """Start ``names`` at once; each one's wall seconds and CPU seconds until it is started."""
    started_at = time.monotonic()
    for name in names:
        sys_.start(name)
    result: dict[str, dict[str, float]] = {}
    while len(result) < len(names):
        for name in names:
            if name not in result and sys_.started(name):
                result[name] = {
                    "wall_s": round(time.monotonic() - started_at, 2),
                    "cpu_s": round(cpu_seconds(sys_.processes[name].pid), 2),
                }
        time.sleep(0.05)
    for name in names:
        sys_.processes[name].kill()
        sys_.processes[name].wait()
    return {
        "processes": result,
        "wall_s_all": max(r["wall_s"] for r in result.values()),
        "cpu_s_total": round(sum(r["cpu_s"] for r in result.values()), 2),
    }


def measure(sys_: System) -> dict[str, Any]:
    names = list(sys_.commands)
    alone = {}
    for name in names:
        alone[name] = start_and_measure(sys_, [name])["processes"][name]
    return {
        "alone": alone,
        "alone_cpu_s_total": round(sum(r["cpu_s"] for r in alone.values()), 2),
        "together": start_and_measure(sys_, names),
    }


async def main() -> None:
    load = os.getloadavg()[0]
    tmp = Path(tempfile.mkdtemp(prefix="parley-bench-start-"))
    env = bench_env(tmp)
    for command in ("keys", "migrate"):
        subprocess.run([PARLEY, command], env=env, check=True, cwd=ROOT, capture_output=True)  # noqa: ASYNC221
    try:
        compiled = measure(system(env, tmp / "logs"))
        # An empty pycache prefix: no .pyc is found, and none is written (as before).
        no_pyc = {**env, "PYTHONPYCACHEPREFIX": str(tmp / "no-pyc"), "PYTHONDONTWRITEBYTECODE": "1"}
        uncompiled = measure(system(no_pyc, tmp / "logs"))
    finally:
        await remove_namespace(
            Settings(database_url=env["PARLEY_DATABASE_URL"], namespace=env["PARLEY_NAMESPACE"])
        )
    write_results(
        "process_start",
        {
            "what": "each Procfile process from spawn to /healthz (or its 'running' log line): "
            "wall seconds and CPU seconds, alone and all thirteen together",
            "load_average_at_start": load,
            "bytecode": compiled,
            "no_bytecode": uncompiled,
        },
    )
