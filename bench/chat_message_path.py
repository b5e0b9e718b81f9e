"""The hottest path: a visitor message through the gateway to the agent's stream.

Starts every process like `make run` (Procfile) on free ports against a throw-away database
and namespace, signs up an account, opens the agent's websocket, then sends visitor messages
through the gateway at a fixed rate (open loop) and measures, per message:
- accept: POST /api/v1/widget/messages → 201;
- deliver: POST start → the agent's stream frame carrying the same client_message_id.
Then a closed loop (64 in flight) for the sustained maximum, through the gateway and straight
to the chat service.

Each phase also records every process's CPU milliseconds per delivered message (from /proc):
on the shared development machines latency is dominated by whatever else runs, while CPU per
message says where the cost is (every consumer of chat.message.created pays per message).

Run: uv run python -m bench chat_message_path  → bench/results/chat.json
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import aiohttp
import orjson

from bench.common import ROOT, free_port, percentiles, write_results
from parley_common.cli import remove_namespace
from parley_common.settings import Settings

PARLEY = str(ROOT / ".venv/bin/parley")
RATES = (100, 200)
VISITORS = 200


def bench_env(tmp: Path) -> dict[str, str]:
    run = uuid.uuid4().hex[:8]
    base = os.environ.get(
        "PARLEY_BENCH_DATABASE_BASE", "postgresql+asyncpg://postgres@127.0.0.1:5432"
    )
    return {
        **os.environ,
        "PARLEY_DATABASE_URL": f"{base}/parley_bench_{run}",
        "PARLEY_NAMESPACE": f"bench{run}",
        "PARLEY_JWT_PRIVATE_KEY_FILE": str(tmp / "jwt_private.pem"),
        "PARLEY_JWT_PUBLIC_KEY_FILE": str(tmp / "jwt_public.pem"),
        "PARLEY_STORAGE_DIR": str(tmp / "storage"),
        "PARLEY_RATE_LIMIT_IP_PER_MINUTE": "100000000",
        "PARLEY_LOG_LEVEL": "WARNING",
        "PARLEY_INBOUND_MAIL_PORT": str(free_port()),
        "PARLEY_SMTP_PORT": str(free_port()),
        "PARLEY_GATEWAY_INTERNAL_PORT": str(free_port()),  # the gateway's /readyz
    }


def start_system(env: dict[str, str]) -> tuple[str, dict[str, subprocess.Popen[bytes]]]:
    from parley_common.e2e import procfile_commands
    from parley_common.settings import SERVICE_PORTS

    subprocess.run([PARLEY, "keys"], env=env, check=True, cwd=ROOT, capture_output=True)
    subprocess.run([PARLEY, "migrate"], env=env, check=True, cwd=ROOT, capture_output=True)
    ports = {name: free_port() for name in SERVICE_PORTS}
    env.update(
        {
            f"PARLEY_{n.upper()}_URL": f"http://127.0.0.1:{p}"
            for n, p in ports.items()
            if n != "gateway"
        }
    )
    env["PARLEY_PUBLIC_URL"] = f"http://127.0.0.1:{ports['gateway']}"
    procs = {
        name: subprocess.Popen(
            argv,
            env=env,
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        for name, argv in procfile_commands(ports).items()
    }
    return env["PARLEY_PUBLIC_URL"], procs


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process (Linux /proc), robust to how busy the machine is."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def measured(procs: dict[str, subprocess.Popen[bytes]], run: Any) -> dict[str, Any]:
    """Run one load phase; add every process's CPU milliseconds per delivered message (every
    consumer of chat.message.created pays for each message, not only chat and the stream)."""
    before = {name: cpu_seconds(proc.pid) for name, proc in procs.items()}
    result: dict[str, Any] = await run
    delivered = result["deliver"].get("count") or 1
    result["cpu_ms_per_message"] = {
        name: round((cpu_seconds(procs[name].pid) - start) * 1000 / delivered, 3)
        for name, start in before.items()
    }
    return result


async def wait_ready(http: aiohttp.ClientSession, url: str, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            async with http.get(f"{url}/readyz") as resp:
                if resp.status == 200:
                    return
        except aiohttp.ClientError:
            pass
        await asyncio.sleep(0.5)
    raise RuntimeError("the system did not become ready")


class Run:
    """Sends visitor messages and matches them with the agent's stream frames."""

    def __init__(self, http: aiohttp.ClientSession, url: str, visitors: list[str]) -> None:
        self.http, self.url, self.visitors = http, url, visitors
        self.pending: dict[str, tuple[float, asyncio.Future[float]]] = {}
        self.accept: list[float] = []
        self.errors = 0
        self.n = 0

    async def listen(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        async for msg in ws:
            frame = orjson.loads(msg.data)
            if frame.get("type") != "event" or frame.get("event") != "chat.message.created":
                continue
            entry = self.pending.pop(frame["data"].get("client_message_id") or "", None)
            if entry is not None and not entry[1].done():
                entry[1].set_result(time.perf_counter() - entry[0])

    async def send(self) -> float | None:
        self.n += 1
        token = self.visitors[self.n % len(self.visitors)]
        key = uuid.uuid4().hex
        started = time.perf_counter()
        delivered: asyncio.Future[float] = asyncio.get_running_loop().create_future()
        self.pending[key] = (started, delivered)
        try:
            async with self.http.post(
                f"{self.url}/api/v1/widget/messages",
                headers={"Authorization": f"Bearer {token}"},
                json={"text": f"bench {self.n}", "client_message_id": key},
            ) as resp:
                await resp.read()
                if resp.status != 201:
                    raise RuntimeError(resp.status)
            self.accept.append(time.perf_counter() - started)
            return await asyncio.wait_for(delivered, 10)
        except Exception:
            self.errors += 1
            self.pending.pop(key, None)
            return None


async def open_loop(run: Run, rate: int, duration: float) -> dict[str, Any]:
    run.accept, run.errors = [], 0
    tasks = []
    started = time.perf_counter()
    for i in range(int(rate * duration)):
        delay = started + i / rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(run.send()))
    results = await asyncio.gather(*tasks)
    delivered = [r for r in results if r is not None]
    return {
        "mode": "open loop",
        "target_msg_per_s": rate,
        "duration_s": duration,
        "sent": len(tasks),
        "errors": run.errors,
        "accept": percentiles(run.accept),
        "deliver": percentiles(delivered),
    }


async def closed_loop(run: Run, concurrency: int, duration: float) -> dict[str, Any]:
    run.accept, run.errors = [], 0
    delivered: list[float] = []
    stop_at = time.perf_counter() + duration

    async def worker() -> None:
        while time.perf_counter() < stop_at:
            latency = await run.send()
            if latency is not None:
                delivered.append(latency)

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    elapsed = time.perf_counter() - started
    return {
        "mode": "closed loop",
        "concurrency": concurrency,
        "duration_s": duration,
        "delivered_msg_per_s": round(len(delivered) / elapsed, 1),
        "errors": run.errors,
        "accept": percentiles(run.accept),
        "deliver": percentiles(delivered),
    }


async def main(duration: float = 10.0) -> None:
    load = os.getloadavg()[0]  # the machines are shared: a busy one skews every number
    tmp = Path(tempfile.mkdtemp(prefix="parley-bench-chat-"))
    env = bench_env(tmp)
    url, procs = start_system(env)
    try:
        connector = aiohttp.TCPConnector(limit=256)
        async with aiohttp.ClientSession(connector=connector) as http:
            await wait_ready(http, f"http://127.0.0.1:{env['PARLEY_GATEWAY_INTERNAL_PORT']}")
            async with http.post(
                f"{url}/api/v1/auth/signup",
                json={
                    "email": f"bench-{uuid.uuid4().hex[:8]}@example.com",
                    "password": "bench password 123",
                    "name": "Bench",
                },
            ) as resp:
                owner = await resp.json()
            visitors = []
            for _ in range(VISITORS):
                async with http.post(
                    f"{url}/api/v1/widget/sessions",
                    json={
                        "widget_key": owner["account"]["widget_key"],
                        "page": {"url": "https://bench.example/", "title": "Bench"},
                    },
                ) as resp:
                    visitors.append((await resp.json())["visitor_token"])
            ws = await http.ws_connect(
                url.replace("http", "ws", 1) + "/api/v1/stream",
                headers={"Authorization": f"Bearer {owner['access_token']}"},
            )
            run = Run(http, url, visitors)
            listener = asyncio.create_task(run.listen(ws))
            await open_loop(run, 50, 2.0)  # warm-up: opens the visitors' conversations
            runs = [await measured(procs, open_loop(run, rate, duration)) for rate in RATES]
            runs.append(
                {"path": "gateway", **await measured(procs, closed_loop(run, 64, duration))}
            )
            # The same closed loop straight to the chat service: what the gateway costs.
            direct = Run(http, env["PARLEY_CHAT_URL"], visitors)
            direct.pending = run.pending
            runs.append(
                {"path": "chat direct", **await measured(procs, closed_loop(direct, 64, duration))}
            )
            listener.cancel()
            await ws.close()
        write_results(
            "chat",
            {
                "what": "visitor POST /api/v1/widget/messages through the gateway → chat "
                "(Core insert + conversation update + outbox) → relay → RabbitMQ → sequencer "
                "→ Redis → gateway → agent websocket; deliver = POST start to the agent's frame",
                "visitors": VISITORS,
                "load_average_at_start": load,
                "runs": runs,
            },
        )
    finally:
        for proc in procs.values():
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in procs.values():
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
        await remove_namespace(
            Settings(database_url=env["PARLEY_DATABASE_URL"], namespace=env["PARLEY_NAMESPACE"])
        )


if __name__ == "__main__":
    asyncio.run(main())
