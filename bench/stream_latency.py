"""Stream latency: event published to RabbitMQ → frame received on agent websockets.

Path measured: publisher (confirms) → RabbitMQ → sequencer worker (Lua in Redis, pipelined)
→ Redis pub/sub → gateway process → websocket (websockets-sansio) → aiohttp client.
Run: uv run python -m bench stream_latency  → bench/results/stream_latency.json
"""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any

import aio_pika
import aiohttp
import orjson

from bench.common import paced, percentiles, write_results
from bench.stream_env import agent_sockets, envelope, stream_deployment

SOCKETS = 10  # agents of one account, all on the one gateway process
RATES = (100, 500, 1000)  # events per second, open loop
SECONDS = 5
BURST = 5000


class Receivers:
    def __init__(self) -> None:
        self.latencies: list[list[float]] = []
        self.counts: list[int] = []
        self.last_at: list[float] = []

    async def listen(self, index: int, ws: aiohttp.ClientWebSocketResponse) -> None:
        async for msg in ws:
            frame = orjson.loads(msg.data)
            if frame["type"] != "event":
                continue
            now = time.perf_counter()
            self.latencies[index].append(now - frame["data"]["t0"])
            self.counts[index] += 1
            self.last_at[index] = now

    def reset(self, sockets: int) -> None:
        self.latencies = [[] for _ in range(sockets)]
        self.counts = [0] * sockets
        self.last_at = [0.0] * sockets

    async def wait_for(self, count: int, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while min(self.counts) < count:
            if time.monotonic() > deadline:
                raise RuntimeError(f"only {self.counts} of {count} frames arrived")
            await asyncio.sleep(0.01)


async def main() -> None:
    from parley_common.events import broker

    async with stream_deployment() as dep:
        settings = dep["settings"]
        ns = settings.namespace
        connection = await aio_pika.connect_robust(settings.rabbitmq_url)
        channel = await connection.channel(publisher_confirms=True)
        exchange = await broker.declare_exchanges(channel, ns)
        await broker.declare_queue(channel, ns, broker.queue_name(ns, "gateway", "stream"), ["#"])
        account = uuid.uuid4()
        receivers = Receivers()
        receivers.reset(SOCKETS)
        results: dict[str, Any] = {"sockets": SOCKETS, "ws": dep["ws"], "rates": []}
        async with aiohttp.ClientSession() as http:
            sockets = await agent_sockets(http, dep["port"], account, SOCKETS)
            tasks = [asyncio.create_task(receivers.listen(i, ws)) for i, ws in enumerate(sockets)]

            async def publish(n: int) -> None:
                body = envelope(
                    "chat.message.created",
                    account,
                    {
                        "conversation_id": str(uuid.uuid4()),
                        "message_id": str(uuid.uuid4()),
                        "author_type": "visitor",
                        "text": f"hello {n}",
                        "n": n,
                        "t0": time.perf_counter(),
                    },
                )
                await exchange.publish(aio_pika.Message(body), routing_key="chat.message.created")

            await asyncio.gather(*(publish(n) for n in range(200)))  # warm-up
            await receivers.wait_for(200)
            for rate in RATES:
                receivers.reset(SOCKETS)
                total = rate * SECONDS
                await paced(rate, total, publish)
                await receivers.wait_for(total)
                everyone = [x for per in receivers.latencies for x in per]
                results["rates"].append(
                    {
                        "events_per_s": rate,
                        "events": total,
                        "first_socket": percentiles(receivers.latencies[0]),
                        "all_sockets": percentiles(everyone),
                    }
                )
            receivers.reset(SOCKETS)
            started = time.perf_counter()
            for chunk in range(0, BURST, 500):
                await asyncio.gather(*(publish(n) for n in range(chunk, chunk + 500)))
            await receivers.wait_for(BURST)
            elapsed = max(receivers.last_at) - started
            results["burst"] = {
                "events": BURST,
                "seconds": round(elapsed, 3),
                "events_per_s": round(BURST / elapsed, 1),
                "frames_per_s": round(BURST * SOCKETS / elapsed, 1),
            }
            for ws in sockets:
                await ws.close()
            for task in tasks:
                task.cancel()
        await connection.close()
    write_results("stream_latency", results)


if __name__ == "__main__":
    asyncio.run(main())
