"""End-to-end fixtures (part of the test plugin): the Procfile started like `make run`.

``system`` starts the services, their workers and the gateway on free ports against this
run's database, broker namespace and Redis keys, waits for the gateway's /readyz (on its
internal port, ``internal_url``), and gives a client for the gateway only. Extra environment
for the processes comes from the ``system_env`` fixture: override it in a conftest (session
scope) to point a process at a test double (e.g. notify at an APNs double).
"""

from __future__ import annotations

import asyncio
import importlib.util
import os
import shlex
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import orjson
import pytest
import pytest_asyncio

from parley_common.settings import SERVICE_PORTS


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


ROOT = Path.cwd()
LOGS = ROOT / "test-artifacts" / "logs"


@dataclass
class System:
    url: str
    env: dict[str, str]
    internal_url: str = ""  # the gateway's /readyz and /metrics (never on the public port)
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    def client(self, **kwargs: Any) -> httpx.AsyncClient:
        return httpx.AsyncClient(base_url=self.url, timeout=15, **kwargs)

    async def signup(self, client: httpx.AsyncClient, **fields: Any) -> dict[str, Any]:
        """A new account through the gateway; returns the signup body plus `headers`."""
        body = {
            "email": f"owner-{uuid.uuid4().hex[:10]}@example.com",
            "password": "correct horse battery",
            "name": "Olivia Owner",
            "account_name": "Olivia's shop",
            **fields,
        }
        resp = await client.post("/api/v1/auth/signup", json=body)
        assert resp.status_code == 201, resp.text
        data: dict[str, Any] = resp.json()
        data["headers"] = {"Authorization": f"Bearer {data['access_token']}"}
        data["password"] = body["password"]
        return data

    def log(self, name: str) -> str:
        return (LOGS / f"{name}.log").read_text(errors="replace")

    def stop(self, name: str) -> None:
        proc = self.processes[name]
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=10)

    def start(self, name: str) -> None:
        self.processes[name] = _spawn(name, self.commands[name], self.env)

    async def restart(self, name: str, timeout: float = 30) -> None:
        """Stop and start one process; return once it serves (HTTP) or says it runs (log)."""
        log = LOGS / f"{name}.log"
        self.stop(name)
        offset = log.stat().st_size if log.exists() else 0
        self.start(name)
        argv = self.commands[name]
        port = argv[argv.index("--port") + 1] if "--port" in argv else None

        async def started() -> bool:
            if self.processes[name].poll() is not None:
                raise RuntimeError(f"{name} exited on restart; see {log}")
            if port is None:
                with log.open("rb") as f:
                    f.seek(offset)
                    said = f.read()
                return b"running" in said or b"inbound mail on" in said
            try:
                async with httpx.AsyncClient() as client:
                    resp = await client.get(f"http://127.0.0.1:{port}/healthz", timeout=2)
                return resp.status_code == 200
            except httpx.HTTPError:
                return False

        deadline = time.monotonic() + timeout
        while not await started():
            if time.monotonic() > deadline:
                raise RuntimeError(f"{name} did not come back within {timeout}s; see {log}")
            await asyncio.sleep(0.2)

    @asynccontextmanager
    async def reconfigured(self, name: str, env: dict[str, str]) -> AsyncIterator[None]:
        """Run one process with extra environment (e.g. pointing at a test double) for the
        block, then restart it as it was."""
        original = self.env
        self.env = {**original, **env}
        try:
            await self.restart(name)
            yield
        finally:
            self.env = original
            await self.restart(name)

    def ws_url(self, path: str) -> str:
        return self.url.replace("http://", "ws://", 1) + path

    commands: dict[str, list[str]] = field(default_factory=dict)


def load_test_module(relative_path: str) -> ModuleType:
    """A helper module from a service's tests (a protocol double, a signer) by its path."""
    path = ROOT / relative_path
    name = "e2e_" + path.stem
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


async def next_event(ws: Any, predicate: Any, timeout: float = 15) -> dict[str, Any]:
    """The first stream event frame matching ``predicate`` (other frames are skipped)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        remaining = deadline - asyncio.get_running_loop().time()
        if remaining <= 0:
            raise AssertionError("no matching stream event")
        frame = orjson.loads(await asyncio.wait_for(ws.recv(), remaining))
        if frame.get("type") == "event" and predicate(frame):
            return dict(frame)


def procfile_commands(ports: dict[str, int], root: Path = ROOT) -> dict[str, list[str]]:
    """The Procfile's processes, with free ports instead of the fixed ones (``root``: another
    checkout's, for a benchmark comparing two commits)."""
    commands: dict[str, list[str]] = {}
    for line in (root / "Procfile").read_text().splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        name, _, command = line.partition(":")
        argv = shlex.split(command)
        argv[0] = str(root / argv[0])
        if argv[1:2] == ["serve"]:
            argv += ["--port", str(ports[argv[2]])]
        commands[name.strip()] = argv
    return commands


def _spawn(name: str, argv: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
    LOGS.mkdir(parents=True, exist_ok=True)
    log = open(LOGS / f"{name}.log", "ab")
    return subprocess.Popen(
        argv, env=env, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT, start_new_session=True
    )


@pytest.fixture(scope="session")
def system_env() -> dict[str, str]:
    return {}


@pytest.fixture(scope="session")
def system(database: str, system_env: dict[str, str]) -> Iterator[System]:
    ports = {name: free_port() for name in SERVICE_PORTS}
    env = dict(os.environ)
    env.update(
        {
            f"PARLEY_{name.upper()}_URL": f"http://127.0.0.1:{port}"
            for name, port in ports.items()
            if name != "gateway"
        }
    )
    env.update(
        {
            "PARLEY_PUBLIC_URL": f"http://127.0.0.1:{ports['gateway']}",
            "PARLEY_INBOUND_MAIL_PORT": str(free_port()),
            "PARLEY_GATEWAY_INTERNAL_PORT": str(free_port()),
            "PARLEY_RATE_LIMIT_IP_PER_MINUTE": "100000",
            "PARLEY_STREAM_UPGRADES_PER_MINUTE_PER_ADDRESS": "100000",
            # A dozen processes share PostgreSQL's connection limit with the in-process tests.
            "PARLEY_DATABASE_POOL_SIZE": "2",
            "PARLEY_LOG_JSON": "true",
            **system_env,
        }
    )
    system = System(
        url=env["PARLEY_PUBLIC_URL"],
        env=env,
        internal_url=f"http://127.0.0.1:{env['PARLEY_GATEWAY_INTERNAL_PORT']}",
        commands=procfile_commands(ports),
    )
    for name in system.commands:
        system.start(name)
    try:
        _wait_ready(system)
        yield system
    finally:
        for proc in system.processes.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in system.processes.values():
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()


def _wait_ready(system: System, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    last = ""
    while time.monotonic() < deadline:
        dead = [n for n, p in system.processes.items() if p.poll() is not None]
        if dead:
            raise RuntimeError(f"processes exited at start: {dead}; see {LOGS}")
        try:
            resp = httpx.get(system.internal_url + "/readyz", timeout=3)
            if resp.status_code == 200:
                return
            last = resp.text
        except httpx.HTTPError as exc:
            last = repr(exc)
        time.sleep(0.3)
    raise RuntimeError(f"gateway not ready after {timeout}s: {last}")


@pytest_asyncio.fixture
async def gateway(system: System) -> AsyncIterator[httpx.AsyncClient]:
    """An httpx client talking to the gateway only."""
    async with system.client() as client:
        yield client
