"""Stream path CPU per event: the sequencer and one gateway process, per websocket implementation.

Publishes `chat.message.created` events to RabbitMQ (confirms) at fixed rates and as a burst,
with SOCKETS agent sockets of one account on the gateway, waits until every socket has every
frame, and reads each process's CPU (/proc, user + system) over the phase. RabbitMQ and Redis
are shared servers: their figures include whatever else ran meanwhile. Then RabbitMQ alone:
publish (confirms), consume and ack through a quorum and through a classic durable queue.

Run: uv run python -m bench stream_cpu  → bench/results/stream_cpu.json
(`STREAM_CPU_WS=wsproto,websockets-sansio` picks the implementations, `STREAM_CPU_QUEUE_ROUNDS`
the rounds of the queue comparison, `STREAM_CPU_OUT` the results' name.)
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import time
import uuid
from pathlib import Path
from typing import Any

import aio_pika
import aiohttp
import orjson

from bench.common import paced, percentiles, write_results
from bench.stream_env import agent_sockets, envelope, rss_kb, stream_deployment

SOCKETS = 10
PHASES = (("rate_100", 100, 1500), ("rate_200", 200, 2000), ("burst", None, 4000))
QUEUE_MESSAGES = 4000
TICK_MS = 1000 / os.sysconf("SC_CLK_TCK")


def cpu_ms(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) * TICK_MS


def children() -> list[int]:
    """This process's child pids (the deployment's gateway and sequencer)."""
    me = str(os.getpid())
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            if stat.read_text().rsplit(")", 1)[1].split()[1] == me:
                found.append(int(stat.parent.name))
        except (OSError, IndexError):
            continue
    return found


def server_pid(name: str) -> int | None:
    out = subprocess.run(["pgrep", "-o", name], capture_output=True, text=True).stdout.split()
    return int(out[0]) if out else None


async def stream_phases(ws: str) -> dict[str, Any]:
    from parley_common.events import broker

    async with stream_deployment(ws=ws) as dep:
        ns = dep["settings"].namespace
        gateway = dep["pid"]
        sequencer = next(p for p in children() if p != gateway)
        pids = {
            "gateway-worker": sequencer,
            "gateway": gateway,
            "rabbitmq": server_pid("beam.smp"),
            "redis": server_pid("redis-server"),
        }
        connection = await aio_pika.connect_robust(dep["settings"].rabbitmq_url)
        channel = await connection.channel(publisher_confirms=True)
        exchange = await broker.declare_exchanges(channel, ns)
        await broker.declare_queue(channel, ns, broker.queue_name(ns, "gateway", "stream"), ["#"])
        account = uuid.uuid4()
        counts = [0] * SOCKETS
        latencies: list[float] = []
        out: dict[str, Any] = {"ws": ws, "sockets": SOCKETS}
        async with aiohttp.ClientSession() as http:
            sockets = await agent_sockets(http, dep["port"], account, SOCKETS)

            async def listen(index: int, sock: aiohttp.ClientWebSocketResponse) -> None:
                async for msg in sock:
                    frame = orjson.loads(msg.data)
                    if frame["type"] == "event":
                        counts[index] += 1
                        if index == 0:
                            latencies.append(time.perf_counter() - frame["data"]["t0"])

            tasks = [asyncio.create_task(listen(i, s)) for i, s in enumerate(sockets)]

            async def publish(n: int) -> None:
                data: dict[str, Any] = {
                    "conversation_id": str(uuid.uuid4()),
                    "visitor_id": str(uuid.uuid4()),
                }
                data |= {"author_type": "visitor", "text": f"hello {n}", "t0": time.perf_counter()}
                body = envelope("chat.message.created", account, data)
                await exchange.publish(aio_pika.Message(body), routing_key="chat.message.created")

            async def arrived(total: int) -> None:
                deadline = time.monotonic() + 120
                while min(counts) < total:
                    if time.monotonic() > deadline:
                        raise RuntimeError(f"only {counts} of {total} frames arrived")
                    await asyncio.sleep(0.01)

            await asyncio.gather(*(publish(n) for n in range(300)))  # warm-up
            await arrived(300)
            for name, rate, events in PHASES:
                counts[:] = [0] * SOCKETS
                latencies.clear()
                before = {k: cpu_ms(p) for k, p in pids.items() if p}
                started = time.perf_counter()
                if rate is None:
                    for chunk in range(0, events, 500):
                        await asyncio.gather(*(publish(n) for n in range(chunk, chunk + 500)))
                else:
                    await paced(rate, events, publish, started)
                await arrived(events)
                spent = {k: cpu_ms(p) - before[k] for k, p in pids.items() if p}
                out[name] = {
                    "events": events,
                    "seconds": round(time.perf_counter() - started, 2),
                    "cpu_ms_per_event": {k: round(v / events, 4) for k, v in spent.items()},
                    "delivery": percentiles(latencies),
                }
            out["gateway_rss_kb"] = rss_kb(gateway)
            for sock in sockets:
                await sock.close()
            for task in tasks:
                task.cancel()
        await connection.close()
    return out


async def queue_type(kind: str) -> dict[str, Any]:
    """RabbitMQ's CPU per message through one queue: publish with confirms, consume, ack."""
    from parley_common.settings import get_settings

    beam = server_pid("beam.smp")
    assert beam is not None
    connection = await aio_pika.connect_robust(get_settings().rabbitmq_url)
    channel = await connection.channel(publisher_confirms=True)
    await channel.set_qos(prefetch_count=200)
    name = f"bench-queue-{kind}-{uuid.uuid4().hex[:8]}"
    arguments: dict[str, Any] = {"x-queue-type": kind}
    queue = await channel.declare_queue(name, durable=True, arguments=arguments)
    done = asyncio.Event()
    received = 0

    async def on_message(message: aio_pika.abc.AbstractIncomingMessage) -> None:
        nonlocal received
        await message.ack()
        received += 1
        if received == QUEUE_MESSAGES:
            done.set()

    await queue.consume(on_message)
    body = b"x" * 600
    before = cpu_ms(beam)
    started = time.perf_counter()
    for chunk in range(0, QUEUE_MESSAGES, 200):
        await asyncio.gather(
            *(
                channel.default_exchange.publish(
                    aio_pika.Message(body, delivery_mode=aio_pika.DeliveryMode.PERSISTENT),
                    routing_key=name,
                )
                for _ in range(chunk, chunk + 200)
            )
        )
    await asyncio.wait_for(done.wait(), 120)
    spent = cpu_ms(beam) - before
    await queue.delete(if_unused=False, if_empty=False)
    await connection.close()
    return {
        "queue": kind,
        "messages": QUEUE_MESSAGES,
        "seconds": round(time.perf_counter() - started, 2),
        "rabbitmq_cpu_ms_per_message": round(spent / QUEUE_MESSAGES, 4),
    }


async def main() -> None:
    wanted = os.environ.get("STREAM_CPU_WS", "wsproto,websockets-sansio").split(",")
    results: dict[str, Any] = {"stream": [], "queues": []}
    for ws in wanted:
        results["stream"].append(await stream_phases(ws))
    for _ in range(int(os.environ.get("STREAM_CPU_QUEUE_ROUNDS", "2"))):
        for kind in ("quorum", "classic"):
            results["queues"].append(await queue_type(kind))
    write_results(os.environ.get("STREAM_CPU_OUT", "stream_cpu"), results)


if __name__ == "__main__":
    asyncio.run(main())
