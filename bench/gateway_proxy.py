"""The proxy hop's overhead: a no-op upstream called directly, through nginx with the config
`parley nginx` generates (routing table, limits, request id, CORS, ...), and, with
``PARLEY_BENCH_BASE=<checkout>`` of an older commit, through that commit's Python gateway
proxy (the hop nginx took over), in one run.

Each path also reports the proxy's CPU milliseconds per request (/proc): on these shared
machines throughput moves with whatever else runs, CPU per request much less.

Run: [PARLEY_BENCH_BASE=/work/wt/load-base] uv run python -m bench gateway_proxy
→ bench/results/gateway_proxy.json
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import aiohttp

from bench.common import ROOT, closed_loop, free_port, spawn, wait_http, write_results
from parley_gateway.config import GatewaySettings
from parley_gateway.nginx import nginx_argv, render

UPSTREAM = """
from fastapi import FastAPI
app = FastAPI()
@app.get("/api/v1/chatbots")
async def noop() -> dict:
    return {"ok": True}
"""


# Every API call carries a token: the gateway checks the IP's and the token's rate limit.
TOKEN = {"Authorization": "Bearer bench-token"}


def cpu_seconds(pids: list[int]) -> float:
    total = 0.0
    for pid in pids:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def children(pid: int) -> list[int]:
    found = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    return [pid, *(int(p) for p in found)]


def start_nginx(upstream_port: int, port: int) -> subprocess.Popen[bytes]:
    tmp = Path(tempfile.mkdtemp(prefix="parley-bench-nginx-"))
    settings = GatewaySettings(
        bots_url=f"http://127.0.0.1:{upstream_port}",
        rate_limit_ip_per_minute=100_000_000,
        rate_limit_token_per_minute=100_000_000,
    )
    conf = tmp / "nginx.conf"
    conf.write_text(render(settings, port, tmp))
    return spawn(nginx_argv(tmp, conf))


async def measure(url: str, concurrency: int, duration: float, proxy: list[int]) -> dict:
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def call() -> None:
            async with session.get(url, headers=TOKEN) as resp:
                await resp.read()
                if resp.status != 200:
                    raise RuntimeError(resp.status)

        await closed_loop(call, concurrency, 1.0)  # warm-up
        before = cpu_seconds(proxy)
        result = await closed_loop(call, concurrency, duration)
        requests = result["requests_per_s"] * duration
        result["proxy_cpu_ms_per_request"] = round(
            (cpu_seconds(proxy) - before) * 1000 / max(requests, 1), 3
        )
        return result


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
    base = os.environ.get("PARLEY_BENCH_BASE")  # a checkout whose gateway still proxies
    parley = str(Path(base or ROOT) / ".venv/bin/parley")
    gateway = (
        spawn(
            [parley, "serve", "gateway", "--port", str(gateway_port)],
            {
                "PARLEY_BOTS_URL": f"http://127.0.0.1:{upstream_port}",
                "PARLEY_RATE_LIMIT_IP_PER_MINUTE": "100000000",
                "PARLEY_RATE_LIMIT_TOKEN_PER_MINUTE": "100000000",
                "PARLEY_LOG_LEVEL": "WARNING",
            },
        )
        if base
        else None
    )
    nginx_port = free_port()
    nginx = start_nginx(upstream_port, nginx_port)
    try:
        direct_url = f"http://127.0.0.1:{upstream_port}/api/v1/chatbots"
        paths = {"nginx": (f"http://127.0.0.1:{nginx_port}/api/v1/chatbots", nginx)}
        if gateway is not None:
            paths["gateway"] = (f"http://127.0.0.1:{gateway_port}/api/v1/chatbots", gateway)
        await wait_http(direct_url, timeout=180)
        for url, _ in paths.values():
            await wait_http(url, timeout=180)
        runs = []
        for concurrency in (1, 8, 32):
            runs.append({"path": "direct", **await measure(direct_url, concurrency, duration, [])})
            for name, (url, proc) in paths.items():
                proxy = children(proc.pid)
                runs.append({"path": name, **await measure(url, concurrency, duration, proxy)})
        write_results(
            "gateway_proxy",
            {
                "what": "GET no-op FastAPI endpoint; aiohttp load client; nginx = Debian nginx, "
                "1 worker, the config `parley nginx` generates; gateway = the base checkout's "
                "parley serve gateway (aiohttp proxy, rate limit in Redis, admission, request "
                "id, metrics)",
                "base": base,
                "duration_s": duration,
                "runs": runs,
            },
        )
    finally:
        for proc in (upstream, gateway, nginx):
            if proc is not None:
                proc.terminate()
                proc.wait()
        module.unlink(missing_ok=True)


if __name__ == "__main__":
    asyncio.run(main())
