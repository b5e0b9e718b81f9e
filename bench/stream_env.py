"""A throwaway stream deployment for the stream benchmarks: own namespace, keys, processes."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import tempfile
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import orjson

from bench.common import ROOT, free_port, wait_http
from parley_common.cli import remove_namespace


@contextlib.asynccontextmanager
async def stream_deployment(
    *,
    ws: str = "websockets-sansio",
    sequencer: bool = True,
) -> AsyncIterator[dict[str, Any]]:
    """One gateway process (uvicorn with ``ws``) and, optionally, the sequencer worker."""
    from parley_common.security import generate_key_pair
    from parley_common.settings import get_settings

    tmp = Path(tempfile.mkdtemp(prefix="parley-bench-stream-"))
    generate_key_pair(tmp / "private.pem", tmp / "public.pem")
    env = {
        "PARLEY_NAMESPACE": f"bench{uuid.uuid4().hex[:8]}",
        "PARLEY_JWT_PRIVATE_KEY_FILE": str(tmp / "private.pem"),
        "PARLEY_JWT_PUBLIC_KEY_FILE": str(tmp / "public.pem"),
        "PARLEY_LOG_JSON": "false",
        "PARLEY_LOG_LEVEL": "WARNING",
        # Every benchmark socket comes from 127.0.0.1: lift the per-address stream limits.
        "PARLEY_STREAM_SOCKETS_PER_ADDRESS": "1000000",
        "PARLEY_STREAM_SOCKETS_PER_AGENT": "1000000",
        "PARLEY_STREAM_SOCKETS_PER_VISITOR": "1000000",
        "PARLEY_STREAM_UPGRADES_PER_MINUTE_PER_ADDRESS": "1000000",
    }
    os.environ.update(env)
    get_settings.cache_clear()
    settings = get_settings()
    port = free_port()
    procs: list[subprocess.Popen[bytes]] = []
    try:
        # The same server options as `parley serve`, with the websocket implementation chosen.
        log = (tmp / "processes.log").open("ab")
        argvs = [[sys.executable, "-c", SERVE, str(port), ws]]
        if sequencer:
            argvs.append([sys.executable, "-m", "parley_common.cli", "worker", "gateway"])
        for argv in argvs:
            procs.append(
                subprocess.Popen(  # noqa: ASYNC220 - started once, before any load
                    argv, env={**os.environ, **env}, cwd=ROOT, stdout=log, stderr=log
                )
            )
        await wait_http(f"http://127.0.0.1:{port}/healthz")
        yield {
            "log": tmp / "processes.log",
            "port": port,
            "pid": procs[0].pid,
            "settings": settings,
            "ws": ws,
        }
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
        await remove_namespace(settings, database=False)


SERVE = """
import os, sys, uvicorn
uvicorn.run("parley_gateway.app:app", host="127.0.0.1", port=int(sys.argv[1]), loop="uvloop",
            http="httptools", ws=sys.argv[2], log_config=None, access_log=False,
            ws_ping_interval=20, ws_ping_timeout=20, backlog=4096,
            ws_per_message_deflate=os.environ.get("STREAM_BENCH_SERVER_DEFLATE") == "1")
"""


def rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for {pid}")


def envelope(event_type: str, account_id: uuid.UUID, data: dict[str, Any]) -> bytes:
    from parley_common.events.envelope import Event

    event = Event(type=event_type, account_id=account_id, data=data)
    return orjson.dumps(event.model_dump(mode="json"))


async def agent_sockets(http: Any, port: int, account: uuid.UUID, count: int) -> list[Any]:
    """``count`` agent stream sockets of ``account``, each past its hello frame."""
    from parley_common.security import issue_agent_token

    sockets = []
    for _ in range(count):
        token = issue_agent_token(uuid.uuid4(), account, "agent", uuid.uuid4())
        sock = await http.ws_connect(
            f"ws://127.0.0.1:{port}/api/v1/stream", headers={"Authorization": f"Bearer {token}"}
        )
        assert orjson.loads(await sock.receive_str())["type"] == "hello"
        sockets.append(sock)
    return sockets
