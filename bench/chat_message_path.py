"""The hottest path: a visitor message through the gateway to the agent's stream, and what the
system does under overload.

Starts every process like `make run` (Procfile) on free ports against a throw-away database
and namespace, signs up an account, opens the agent's websocket, then sends visitor messages
through the gateway and measures, per message:
- accept: POST /api/v1/widget/messages → its answer (201, or a refusal: 503/429);
- deliver: POST start → the agent's stream frame carrying the same client_message_id.
Phases: open loops at 50, 100 and 200 msg/s; a closed loop (64 in flight) for the sustained
maximum; then overload at 2x and 5x that maximum (accepted p99, refusals and how fast they
came, 504s, client time-outs, lost and duplicated messages).

Every phase records each process's CPU milliseconds per delivered message (/proc), including
our PostgreSQL backends, RabbitMQ and Redis, and the PostgreSQL connections opened per 1,000
messages. A fixed calibration loop gives the machine's speed of the day; with
``--base <checkout>`` the same phases run against another commit's checkout (a git worktree
with its own .venv) in the same run, so the comparison is A/B on the same machine and hour.

Run: uv run python -m bench.chat_message_path [--base /work/wt/load-base] [--duration 10]
(or `make bench`, with PARLEY_BENCH_BASE=<checkout> for the A/B)
→ bench/results/chat.json
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import aiohttp
import orjson

from bench.common import ROOT, percentiles, write_results
from bench.system import CpuMeter, System, bench_env, calibrate

RATES = (50, 100, 200)
OVERLOAD = (2, 5)
VISITORS = 200
ANSWER_TIMEOUT = 20.0  # a request unanswered after this is a hang
DELIVERY_WAIT = 15.0  # an accepted message not on the stream after this is lost


class Run:
    """Sends visitor messages and matches them with the agent's stream frames."""

    def __init__(self, http: aiohttp.ClientSession, url: str, visitors: list[str]) -> None:
        self.http, self.url, self.visitors = http, url, visitors
        self.sent_at: dict[str, float] = {}
        self.waiting: dict[str, asyncio.Future[float]] = {}
        self.frames: Counter[str] = Counter()
        self.n = 0

    async def listen(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        async for msg in ws:
            frame = orjson.loads(msg.data)
            if frame.get("type") != "event" or frame.get("event") != "chat.message.created":
                continue
            key = frame["data"].get("client_message_id") or ""
            self.frames[key] += 1
            waiter = self.waiting.get(key)
            if waiter is not None and not waiter.done():
                waiter.set_result(time.perf_counter() - self.sent_at[key])

    async def send(self) -> dict[str, Any]:
        self.n += 1
        token = self.visitors[self.n % len(self.visitors)]
        key = uuid.uuid4().hex
        self.sent_at[key] = started = time.perf_counter()
        self.waiting[key] = asyncio.get_running_loop().create_future()
        outcome: dict[str, Any] = {"key": key}
        try:
            async with self.http.post(
                f"{self.url}/api/v1/widget/messages",
                headers={"Authorization": f"Bearer {token}"},
                json={"text": f"bench {self.n}", "client_message_id": key},
                timeout=aiohttp.ClientTimeout(total=ANSWER_TIMEOUT),
            ) as resp:
                await resp.read()
                outcome["status"] = resp.status
                outcome["retry_after"] = resp.headers.get("Retry-After")
        except TimeoutError:
            outcome["status"] = "timeout"
        except aiohttp.ClientError:
            outcome["status"] = "error"
        outcome["answer"] = time.perf_counter() - started
        if outcome["status"] == 201:
            try:
                outcome["deliver"] = await asyncio.wait_for(self.waiting[key], DELIVERY_WAIT)
            except TimeoutError:
                outcome["deliver"] = None
        self.waiting.pop(key, None)
        return outcome


def summary(outcomes: list[dict[str, Any]], frames: Counter[str]) -> dict[str, Any]:
    statuses = Counter(str(o["status"]) for o in outcomes)
    accepted = [o for o in outcomes if o["status"] == 201]
    refused = [o for o in outcomes if o["status"] in (429, 503)]
    return {
        "sent": len(outcomes),
        "statuses": dict(statuses),
        "accept": percentiles([o["answer"] for o in accepted]),
        "deliver": percentiles([o["deliver"] for o in accepted if o.get("deliver") is not None]),
        "refused": len(refused),
        "refused_answer": percentiles([o["answer"] for o in refused]),
        "refused_without_retry_after": sum(1 for o in refused if not o.get("retry_after")),
        "answers_slower_than_2s": sum(1 for o in outcomes if o["answer"] > 2.0),
        "gateway_timeouts_504": statuses.get("504", 0),
        "client_timeouts": statuses.get("timeout", 0),
        "lost": sum(1 for o in accepted if o.get("deliver") is None),
        "duplicated": sum(1 for o in accepted if frames[o["key"]] > 1),
    }


async def open_loop(run: Run, rate: float, duration: float) -> dict[str, Any]:
    tasks = []
    started = time.perf_counter()
    for i in range(int(rate * duration)):
        delay = started + i / rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(run.send()))
    outcomes = await asyncio.gather(*tasks)
    return {"mode": "open loop", "target_msg_per_s": round(rate), "duration_s": duration} | (
        summary(outcomes, run.frames)
    )


async def closed_loop(run: Run, concurrency: int, duration: float) -> dict[str, Any]:
    outcomes: list[dict[str, Any]] = []
    stop_at = time.perf_counter() + duration

    async def worker() -> None:
        while time.perf_counter() < stop_at:
            outcomes.append(await run.send())

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    elapsed = time.perf_counter() - started
    delivered = sum(1 for o in outcomes if o.get("deliver") is not None)
    return {
        "mode": "closed loop",
        "concurrency": concurrency,
        "duration_s": duration,
        "delivered_msg_per_s": round(delivered / elapsed, 1),
    } | summary(outcomes, run.frames)


async def measured(meter: CpuMeter, phase: Any, calibration_ms: float) -> dict[str, Any]:
    result, cpu, connections = await meter.measure(phase)
    delivered = result["deliver"].get("count") or 1
    per_message = {name: round(s * 1000 / delivered, 3) for name, s in cpu.items()}
    ours = sum(v for k, v in per_message.items() if k not in SHARED)
    result["cpu_ms_per_message"] = per_message
    result["cpu_ms_per_message_ours"] = round(ours, 3)  # our processes + our PG backends
    result["cpu_per_message_in_calibration_units"] = round(ours / calibration_ms, 4)
    result["pg_connections_opened_per_1000_messages"] = round(connections * 1000 / delivered, 1)
    return result


# Shared by every user of the machine: reported, but not in "ours".
SHARED = ("rabbitmq", "redis", "postgresql-server", "postgresql-exited-backends")


async def setup(http: aiohttp.ClientSession, system: System) -> tuple[dict[str, Any], list[str]]:
    url = system.url
    deadline = time.monotonic() + 180
    while True:
        # Older commits serve /readyz on the public port, newer ones on the internal one.
        for ready in (system.ready_url, f"{url}/readyz"):
            try:
                async with http.get(ready) as resp:
                    if resp.status == 200:
                        break
            except aiohttp.ClientError:
                pass
        else:
            if time.monotonic() > deadline:
                raise RuntimeError("the system did not become ready")
            await asyncio.sleep(0.5)
            continue
        break
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
        for _attempt in range(100):  # the visitors service learns the widget key by event
            async with http.post(
                f"{url}/api/v1/widget/sessions",
                json={
                    "widget_key": owner["account"]["widget_key"],
                    "page": {"url": "https://bench.example/", "title": "Bench"},
                },
            ) as resp:
                if resp.status in (200, 201):
                    visitors.append((await resp.json())["visitor_token"])
                    break
            await asyncio.sleep(0.1)
    return owner, visitors


async def bench_system(root: Path, duration: float, calibration_ms: float) -> dict[str, Any]:
    tmp = Path(tempfile.mkdtemp(prefix="parley-bench-chat-"))
    system = System(root, bench_env(tmp))
    system.start()
    meter = CpuMeter(system)
    try:
        connector = aiohttp.TCPConnector(limit=2048)
        async with aiohttp.ClientSession(connector=connector) as http:
            owner, visitors = await setup(http, system)
            await meter.open()
            ws = await http.ws_connect(
                system.url.replace("http", "ws", 1) + "/api/v1/stream",
                headers={"Authorization": f"Bearer {owner['access_token']}"},
            )
            run = Run(http, system.url, visitors)
            listener = asyncio.create_task(run.listen(ws))
            await open_loop(run, 50, 3.0)  # warm-up: opens the visitors' conversations
            phases = [
                await measured(meter, open_loop(run, rate, duration), calibration_ms)
                for rate in RATES
            ]
            closed = await measured(meter, closed_loop(run, 64, duration), calibration_ms)
            phases.append(closed)
            sustained = closed["delivered_msg_per_s"]
            for factor in OVERLOAD:
                phase = await measured(
                    meter, open_loop(run, sustained * factor, duration), calibration_ms
                )
                phases.append({"overload": f"{factor}x sustained"} | phase)
            listener.cancel()
            await ws.close()
            await meter.close()
        return {"root": str(root), "commit": system.commit, "sustained_msg_per_s": sustained} | {
            "phases": phases
        }
    finally:
        await system.stop()


def headline(run: dict[str, Any]) -> dict[str, Any]:
    at100 = next(p for p in run["phases"] if p.get("target_msg_per_s") == 100)
    overload = run["phases"][-1]
    return {
        "commit": run["commit"],
        "sustained_msg_per_s": run["sustained_msg_per_s"],
        "cpu_ms_per_message_at_100": at100["cpu_ms_per_message_ours"],
        "deliver_p99_ms_at_100": at100["deliver"].get("p99_ms"),
        "overload_5x_accept_p99_ms": overload["accept"].get("p99_ms"),
        "overload_5x_refused": overload["refused"],
        "overload_5x_504": overload["gateway_timeouts_504"],
        "overload_5x_lost": overload["lost"],
    }


async def main(duration: float = 10.0, base: str | None = None) -> None:
    base = base or os.environ.get("PARLEY_BENCH_BASE")
    load = os.getloadavg()[0]  # the machines are shared: a busy one skews every number
    calibration_ms = calibrate()
    runs = {}
    if base:
        runs["base"] = await bench_system(Path(base), duration, calibration_ms)
    runs["this"] = await bench_system(ROOT, duration, calibration_ms)
    calibration_after = calibrate()
    results: dict[str, Any] = {
        "what": "visitor POST /api/v1/widget/messages through the gateway → chat → outbox "
        "relay → RabbitMQ → sequencer → Redis → gateway → agent websocket; deliver = POST "
        "start to the agent's frame. CPU per delivered message from /proc (ours = our "
        "processes and our database's PostgreSQL backends; RabbitMQ, Redis and PostgreSQL's "
        "server processes are shared with everyone on the machine).",
        "visitors": VISITORS,
        "load_average_at_start": load,
        "calibration_ms": [calibration_ms, calibration_after],
        "headline": {name: headline(run) for name, run in runs.items()},
        "runs": runs,
    }
    if base:
        this, before = results["headline"]["this"], results["headline"]["base"]
        results["this_vs_base"] = {
            "cpu_per_message_ratio": round(
                this["cpu_ms_per_message_at_100"] / before["cpu_ms_per_message_at_100"], 3
            ),
            "sustained_ratio": round(
                this["sustained_msg_per_s"] / max(before["sustained_msg_per_s"], 0.1), 2
            ),
        }
    write_results("chat", results)


def cli() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--duration", type=float, default=10.0)
    parser.add_argument("--base", help="another checkout (with .venv) to run first: A/B")
    args = parser.parse_args()
    asyncio.run(main(args.duration, args.base))


if __name__ == "__main__":
    cli()
