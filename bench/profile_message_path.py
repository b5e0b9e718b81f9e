"""Where the message path's CPU goes, per process: py-spy samples of the running system.

Starts every process like `make run` (bench/system.py), sends visitor messages through the
gateway at a fixed rate, and records each hot process with py-spy (`uv tool run py-spy`, from
PyPI; needs ptrace, i.e. root or CAP_SYS_PTRACE) for the same seconds. Writes, per process,
the functions with the most samples on top of the stack (self) and anywhere on it (total).

Run: uv run python -m bench.profile_message_path  → bench/results/profile_message_path.json
"""

from __future__ import annotations

import asyncio
import os
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

import aiohttp

from bench.chat_message_path import listening_run, open_loop, setup
from bench.common import ROOT, write_results
from bench.system import System, bench_env

PROCESSES = ("chat", "gateway", "chat-worker", "gateway-worker")
RATE = 100
SECONDS = 15
TOP = 25


def summarise(raw: str) -> dict[str, Any]:
    """py-spy's collapsed stacks ("a;b;c count" lines) → top functions by self and total."""
    own: Counter[str] = Counter()
    total: Counter[str] = Counter()
    samples = 0
    for line in raw.splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        frames = [f.split(" (", 1)[0] + " " + f.rsplit("/", 1)[-1] for f in stack.split(";")]
        n = int(count)
        samples += n
        own[frames[-1]] += n
        for frame in set(frames):
            total[frame] += n
    share = lambda c: [(f, round(n * 100 / max(samples, 1), 1)) for f, n in c.most_common(TOP)]  # noqa: E731
    return {"samples": samples, "self_pct": share(own), "total_pct": share(total)}


async def record(pid: int, out: Path) -> str:
    proc = await asyncio.create_subprocess_exec(
        "uv",
        "tool",
        "run",
        "py-spy",
        "record",
        "--pid",
        str(pid),
        "--duration",
        str(SECONDS),
        "--rate",
        "200",
        "--format",
        "raw",
        "--nonblocking",
        "--output",
        str(out),
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    await proc.wait()
    return read(out)


def read(path: Path) -> str:
    return path.read_text() if path.exists() else ""


async def main() -> None:
    tmp = Path(tempfile.mkdtemp(prefix="parley-profile-"))
    system = System(ROOT, bench_env(tmp))
    system.start()
    try:
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=1024)) as http:
            owner, visitors = await setup(http, system)
            run, ws, listener = await listening_run(http, system, owner, visitors)
            await open_loop(run, 50, 3.0)  # warm-up
            recordings = [record(system.procs[name].pid, tmp / f"{name}.txt") for name in PROCESSES]
            load = open_loop(run, RATE, SECONDS + 2)
            raws, _ = await asyncio.gather(asyncio.gather(*recordings), load)
            listener.cancel()
            await ws.close()
        write_results(
            "profile_message_path",
            {
                "what": f"py-spy, {SECONDS} s at {RATE} visitor messages/s through the gateway; "
                "% of samples with the function on top of the stack (self) or anywhere (total)",
                "load_average": os.getloadavg()[0],
                "processes": {
                    name: summarise(raw) for name, raw in zip(PROCESSES, raws, strict=True)
                },
            },
        )
    finally:
        await system.stop()


if __name__ == "__main__":
    asyncio.run(main())
