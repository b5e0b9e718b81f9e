"""Gateway proxy overhead: a no-op upstream called directly and through the gateway.

Run: uv run python bench/gateway_proxy.py  → bench/results/gateway_proxy.json
"""

from __future__ import annotations

import asyncio
import sys

import aiohttp

from bench.common import ROOT, closed_loop, free_port, spawn, wait_http, write_results

UPSTREAM = """
from fastapi import FastAPI
app = FastAPI()
@app.get("/api/v1/chatbots")
async def noop() -> dict:
    return {"ok": True}
"""


async def measure(url: str, concurrency: int, duration: float) -> dict:
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def call() -> None:
            async with session.get(url) as resp:
                await resp.read()
                if resp.status != 200:
                    raise RuntimeError(resp.status)

        await closed_loop(call, concurrency, 1.0)  # warm-up
        return await closed_loop(call, concurrency, duration)


async def main(duration: float = 5.0) -> None:
    upstream_port, gateway_port = free_port(), free_port()
    module = ROOT / "bench" / "results" / "_noop_upstream.py"
    module.parent.mkdir(parents=True, exist_ok=True)
    module.write_text(UPSTREAM)
    python = sys.executable
    upstream = spawn(
        [
            python,
            "-m",
            "uvicorn",
            "_noop_upstream:app",
            "--app-dir",
            str(module.parent),
            "--port",
            str(upstream_port),
            "--loop",
            "uvloop",
            "--http",
            "httptools",
            "--no-access-log",
        ]
    )
    gateway = spawn(
        [str(ROOT / ".venv/bin/parley"), "serve", "gateway", "--port", str(gateway_port)],
        {
            "PARLEY_BOTS_URL": f"http://127.0.0.1:{upstream_port}",
            "PARLEY_RATE_LIMIT_IP_PER_MINUTE": "100000000",
            "PARLEY_LOG_LEVEL": "WARNING",
        },
    )
    try:
        direct_url = f"http://127.0.0.1:{upstream_port}/api/v1/chatbots"
        proxied_url = f"http://127.0.0.1:{gateway_port}/api/v1/chatbots"
        await wait_http(direct_url)
        await wait_http(proxied_url)
        runs = []
        for concurrency in (1, 8, 32):
            runs.append({"path": "direct", **await measure(direct_url, concurrency, duration)})
            runs.append({"path": "gateway", **await measure(proxied_url, concurrency, duration)})
        write_results(
            "gateway_proxy",
            {
                "what": "GET no-op FastAPI endpoint; aiohttp load client; gateway = parley serve "
                "gateway (aiohttp proxy, rate limit in Redis, request id, metrics)",
                "duration_s": duration,
                "runs": runs,
            },
        )
    finally:
        for proc in (upstream, gateway):
            proc.terminate()
            proc.wait()
        module.unlink(missing_ok=True)


if __name__ == "__main__":
    asyncio.run(main())
