"""Idle stream sockets: RSS of one gateway process per open, authenticated, idle websocket.

Opens N agent sockets (100 accounts) against one gateway process, waits for each `hello`,
and reports the process's RSS growth per socket, for each uvicorn websocket implementation.
Target: 10,000 sockets at <= 40 KB each. Needs `ulimit -n` above N + a few hundred.
Run: uv run python -m bench stream_idle_memory  → bench/results/stream_idle_memory.json
"""

from __future__ import annotations

import asyncio
import gc
import os
import resource
import sys
import time
import uuid
from typing import Any

import aiohttp
import orjson

from bench.common import write_results
from bench.stream_env import rss_kb, stream_deployment

ACCOUNTS = 100
# Browsers offer permessage-deflate; 15 asks for it, 0 (the default here) does not.
COMPRESS = int(os.environ.get("STREAM_BENCH_COMPRESS", "0"))


async def measure(ws_impl: str, sockets: int) -> dict[str, Any]:
    from parley_common.security import issue_agent_token

    async with stream_deployment(ws=ws_impl, sequencer=False) as dep:
        url = f"ws://127.0.0.1:{dep['port']}/api/v1/stream"
        accounts = [uuid.uuid4() for _ in range(ACCOUNTS)]
        connector = aiohttp.TCPConnector(limit=0)
        async with aiohttp.ClientSession(connector=connector) as http:
            # Warm the process up (imports, first socket, Redis pools) before the baseline.
            warm = [await open_one(http, url, accounts[0], issue_agent_token) for _ in range(20)]
            for ws in warm:
                await ws.close()
            await asyncio.sleep(1)
            before = rss_kb(dep["pid"])
            started = time.perf_counter()
            opened: list[aiohttp.ClientWebSocketResponse] = []
            for chunk in range(0, sockets, 250):
                opened += await asyncio.gather(
                    *(
                        open_one(http, url, accounts[n % ACCOUNTS], issue_agent_token)
                        for n in range(chunk, min(sockets, chunk + 250))
                    )
                )
            connect_seconds = time.perf_counter() - started
            await asyncio.sleep(3)
            after = rss_kb(dep["pid"])
            for ws in opened:
                await ws.close()
        delta = after - before
        return {
            "ws": ws_impl,
            "sockets": len(opened),
            "rss_before_kb": before,
            "rss_after_kb": after,
            "kb_per_socket": round(delta / len(opened), 2),
            "connect_per_s": round(len(opened) / connect_seconds, 1),
        }


async def open_one(
    http: aiohttp.ClientSession, url: str, account: uuid.UUID, issue: Any
) -> aiohttp.ClientWebSocketResponse:
    token = issue(uuid.uuid4(), account, "agent", uuid.uuid4())
    ws = await http.ws_connect(
        url,
        headers={"Authorization": f"Bearer {token}"},
        autoping=True,
        heartbeat=None,
        compress=COMPRESS,
    )
    hello = orjson.loads(await ws.receive_str())
    if hello["type"] != "hello":
        raise RuntimeError(hello)
    return ws


async def main() -> None:
    sockets = int(os.environ.get("STREAM_BENCH_SOCKETS", "10000"))
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    if hard < sockets + 500:
        sys.exit(f"ulimit -n is {hard}; need {sockets + 500}")
    impls = os.environ.get("STREAM_BENCH_WS", "wsproto,websockets-sansio,websockets").split(",")
    runs = []
    for impl in impls:
        runs.append(await measure(impl, sockets))
        print(runs[-1], flush=True)
        gc.collect()
    write_results(
        "stream_idle_memory_deflate" if COMPRESS else "stream_idle_memory",
        {
            "target_kb_per_socket": 40,
            "accounts": ACCOUNTS,
            "client_deflate": bool(COMPRESS),
            "runs": runs,
        },
    )


if __name__ == "__main__":
    asyncio.run(main())
