"""Gateway proxy overhead: a no-op upstream called directly, through the gateway, and (when
Debian's nginx is installed) through nginx configured like the gateway's proxy, in one run.

Each path also reports the proxy's CPU milliseconds per request (/proc): on these shared
machines throughput moves with whatever else runs, CPU per request much less.

Run: uv run python -m bench gateway_proxy  → bench/results/gateway_proxy.json
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

UPSTREAM = """
from fastapi import FastAPI
app = FastAPI()
@app.get("/api/v1/chatbots")
async def noop() -> dict:
    return {"ok": True}
"""


# nginx doing what the gateway's proxy does for a request: routing by path prefix, a rate
# limit (per instance in memory, where the gateway's is in Redis, shared by replicas), body
# limit, a request id in and out, the forwarded client IP, CORS, upstream keep-alive.
NGINX_CONF = """
worker_processes 1;
daemon off;
pid {tmp}/nginx.pid;
error_log {tmp}/error.log warn;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    client_body_temp_path {tmp}/body;
    proxy_temp_path {tmp}/proxy;
    fastcgi_temp_path {tmp}/fastcgi;
    uwsgi_temp_path {tmp}/uwsgi;
    scgi_temp_path {tmp}/scgi;
    limit_req_zone $binary_remote_addr zone=ip:10m rate=100000r/s;
    upstream bots {{ server 127.0.0.1:{upstream}; keepalive 64; }}
    server {{
        listen 127.0.0.1:{port};
        client_max_body_size 30m;
        location /api/v1/chatbots {{
            limit_req zone=ip burst=100000 nodelay;
            limit_req_status 429;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header X-Request-ID $request_id;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            add_header X-Request-ID $request_id always;
            add_header Access-Control-Allow-Origin * always;
            proxy_pass http://bots;
        }}
    }}
}}
"""
NGINX = Path("/usr/sbin/nginx")
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


def start_nginx(upstream_port: int, port: int) -> subprocess.Popen[bytes] | None:
    if not NGINX.exists():
        return None  # `apt-get install nginx` to compare
    tmp = Path(tempfile.mkdtemp(prefix="parley-bench-nginx-"))
    conf = tmp / "nginx.conf"
    conf.write_text(NGINX_CONF.format(tmp=tmp, upstream=upstream_port, port=port))
    return spawn([str(NGINX), "-c", str(conf), "-p", str(tmp)])


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
    gateway = spawn(
        [str(ROOT / ".venv/bin/parley"), "serve", "gateway", "--port", str(gateway_port)],
        {
            "PARLEY_BOTS_URL": f"http://127.0.0.1:{upstream_port}",
            "PARLEY_RATE_LIMIT_IP_PER_MINUTE": "100000000",
            "PARLEY_RATE_LIMIT_TOKEN_PER_MINUTE": "100000000",
            "PARLEY_LOG_LEVEL": "WARNING",
        },
    )
    nginx_port = free_port()
    nginx = start_nginx(upstream_port, nginx_port)
    try:
        direct_url = f"http://127.0.0.1:{upstream_port}/api/v1/chatbots"
        paths = {"gateway": (f"http://127.0.0.1:{gateway_port}/api/v1/chatbots", gateway)}
        if nginx is not None:
            paths["nginx"] = (f"http://127.0.0.1:{nginx_port}/api/v1/chatbots", nginx)
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
                "what": "GET no-op FastAPI endpoint; aiohttp load client; gateway = parley serve "
                "gateway (aiohttp proxy, rate limit in Redis, admission, request id, metrics); "
                "nginx = Debian nginx, 1 worker, configured like the proxy (NGINX_CONF)",
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
