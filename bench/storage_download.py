"""Attachment downloads from S3: streamed through the service vs a presigned-URL redirect.

Against moto's S3 server (its own process). For each object size it measures, per download:
- ``stream``: what chat does now, Storage.open() and every chunk through the service process
  (the service's CPU time and the wall time until the last byte);
- ``presign``: what a redirect would cost the service (signing a URL: its CPU time), and the
  client's wall time for sign + fetching the URL from the bucket directly.
Writes bench/results/storage_download.json.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from datetime import timedelta

import aiohttp
import obstore

from bench.common import RESULTS, free_port, spawn, wait_http
from parley_common.settings import Settings
from parley_common.storage import open_storage

SIZES = {"64KiB": 64 * 1024, "1MiB": 1024 * 1024, "8MiB": 8 * 1024 * 1024}
ROUNDS = 20


async def measure(storage, key: str, http: aiohttp.ClientSession) -> dict[str, float]:
    cpu = wall = 0.0
    for _ in range(ROUNDS):
        c0, w0 = time.process_time(), time.perf_counter()
        async for _chunk in await storage.open(key):
            pass
        cpu += time.process_time() - c0
        wall += time.perf_counter() - w0
    sign_cpu = redirect_wall = 0.0
    for _ in range(ROUNDS):
        c0, w0 = time.process_time(), time.perf_counter()
        url = await obstore.sign_async(storage.store, "GET", key, timedelta(minutes=5))
        sign_cpu += time.process_time() - c0
        async with http.get(url) as resp:
            assert resp.status == 200, await resp.text()
            await resp.read()
        redirect_wall += time.perf_counter() - w0
    ms = 1000 / ROUNDS
    return {
        "stream_service_cpu_ms": round(cpu * ms, 3),
        "stream_wall_ms": round(wall * ms, 3),
        "presign_service_cpu_ms": round(sign_cpu * ms, 3),
        "presign_redirect_wall_ms": round(redirect_wall * ms, 3),
    }


async def main() -> None:
    port = free_port()
    endpoint = f"http://127.0.0.1:{port}"
    moto = spawn([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)])
    try:
        await wait_http(endpoint, timeout=60)
        async with aiohttp.ClientSession() as http:
            async with http.put(f"{endpoint}/bench") as resp:
                assert resp.status == 200
            settings = Settings(
                storage="s3",
                s3_bucket="bench",
                s3_endpoint_url=endpoint,
                s3_access_key_id="bench",
                s3_secret_access_key="bench",
            )
            storage = open_storage("chat", settings)
            results = {}
            for label, size in SIZES.items():
                key = f"bench/{label}"
                await storage.save(key, os.urandom(size))
                results[label] = await measure(storage, key, http)
                print(label, results[label], flush=True)
    finally:
        moto.terminate()
        moto.wait()
    out = {
        "benchmark": "storage_download",
        "backend": "moto server (S3 protocol), one process, localhost",
        "rounds": ROUNDS,
        "load_at_start": os.getloadavg()[0],
        "results": results,
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "storage_download.json").write_text(json.dumps(out, indent=2) + "\n")


if __name__ == "__main__":
    asyncio.run(main())
