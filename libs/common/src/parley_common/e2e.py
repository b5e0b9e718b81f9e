"""End-to-end fixtures (part of the test plugin): the Procfile's processes, as deployed.

``system`` starts the services, their workers and the gateway on free ports against this
run's database, broker namespace and Redis keys: each service's API and worker as separate
processes (``<name>`` and ``<name>-worker``), as deploy/ and compose run them, where `make run`
starts one process per service (``--with-worker``); waits for the gateway's /readyz (on its
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
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import orjson
import pytest
import pytest_asyncio

from parley_common.contracts import SERVICE_PORTS


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


ROOT = Path.cwd()
LOGS = ROOT / "test-artifacts" / "logs"

# Fourteen processes starting at once on a busy 2-core machine (other test runs, `make run`)
# take far longer than on a quiet one; a process that fails says so at once anyway.
READY_TIMEOUT = float(os.environ.get("PARLEY_E2E_READY_TIMEOUT", "240"))


@dataclass
class System:
    url: str
    env: dict[str, str]
    internal_url: str = ""  # the gateway's /readyz and /metrics (never on the public port)
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    log_offsets: dict[str, int] = field(default_factory=dict)
    logs: Path = LOGS
    root: Path = ROOT  # the checkout the processes run from

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

    async def ready(self, timeout: float = 60) -> None:
        """Wait until the gateway's readiness (every service answering) holds again, e.g.
        after an earlier test stopped and restarted a service."""
        deadline = time.monotonic() + timeout
        async with httpx.AsyncClient(base_url=self.internal_url, timeout=5) as client:
            while True:
                try:
                    if (await client.get("/readyz")).status_code == 200:
                        return
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline:
                    raise AssertionError(f"the system is not ready after {timeout}s")
                await asyncio.sleep(0.3)

    async def widget_session(
        self,
        client: httpx.AsyncClient,
        owner: dict[str, Any],
        url: str = "https://shop.example/",
        title: str | None = None,
    ) -> dict[str, Any]:
        """A visitor session on ``owner``'s chat box, once visitors has seen the account;
        the body plus ``headers`` for the visitor."""
        from parley_common.testing import eventually

        async def attempt() -> httpx.Response | None:
            resp = await client.post(
                "/api/v1/widget/sessions",
                json={
                    "widget_key": owner["account"]["widget_key"],
                    "page": {"url": url} if title is None else {"url": url, "title": title},
                },
            )
            return resp if resp.status_code in (200, 201) else None

        resp = await eventually(attempt, timeout=20, interval=0.2)
        data: dict[str, Any] = resp.json()
        data["headers"] = {"Authorization": f"Bearer {data['visitor_token']}"}
        return data

    async def invite(
        self, client: httpx.AsyncClient, owner: dict[str, Any], role: str = "agent"
    ) -> dict[str, Any]:
        """A second agent of the owner's account, invited and accepted through the gateway."""
        invite = await client.post(
            "/api/v1/agents",
            headers=owner["headers"],
            json={"email": f"bob-{uuid.uuid4().hex[:8]}@example.com", "role": role},
        )
        assert invite.status_code == 201, invite.text
        accepted = await client.post(
            "/api/v1/invitations/accept",
            json={
                "token": invite.json()["token"],
                "name": "Bob Agent",
                "password": "correct horse bob",
            },
        )
        assert accepted.status_code == 201, accepted.text
        data: dict[str, Any] = accepted.json()
        data["headers"] = {"Authorization": f"Bearer {data['access_token']}"}
        return data

    def log(self, name: str) -> str:
        return (self.logs / f"{name}.log").read_text(errors="replace")

    def stop(self, name: str) -> None:
        proc = self.processes[name]
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=10)

    def start(self, name: str) -> None:
        log = self.logs / f"{name}.log"
        self.log_offsets[name] = log.stat().st_size if log.exists() else 0
        self.processes[name] = _spawn(log, self.commands[name], self.env, self.root)

    def start_all(self) -> None:
        for name in self.commands:
            self.start(name)

    def kill(self, name: str) -> None:
        """SIGKILL: no shutdown code runs (a crash, an OOM kill, a pulled plug). To the whole
        process group: nginx's workers would outlive their master and keep its port."""
        os.killpg(self.processes[name].pid, signal.SIGKILL)
        self.processes[name].wait()

    def stop_all(self) -> None:
        for proc in self.processes.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in self.processes.values():
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()

    def started(self, name: str) -> bool:
        """Whether a process serves (HTTP /healthz) or says it runs (log); raises if it exited."""
        code = self.processes[name].poll()
        if code is not None:
            raise RuntimeError(f"{name} exited with code {code}\n{self.log_tail(name)}")
        argv = self.commands[name]
        if "--port" not in argv:
            said = self.log_since_start(name)
            return b"running" in said or b"inbound mail on" in said
        port = argv[argv.index("--port") + 1]
        try:
            return httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    def log_since_start(self, name: str) -> bytes:
        path = self.logs / f"{name}.log"
        if not path.exists():
            return b""
        with path.open("rb") as f:
            f.seek(self.log_offsets.get(name, 0))
            return f.read()

    def log_tail(self, name: str, lines: int = 15) -> str:
        said = self.log_since_start(name).decode(errors="replace").splitlines()
        tail = "\n".join(f"    {line}" for line in said[-lines:]) or "    (log empty)"
        return f"  last lines of {self.logs / f'{name}.log'}:\n{tail}"

    async def wait_started(self, name: str, timeout: float = READY_TIMEOUT) -> None:
        deadline = time.monotonic() + timeout
        while not await asyncio.to_thread(self.started, name):
            if time.monotonic() > deadline:
                raise RuntimeError(f"{name} not started within {timeout}s\n{self.log_tail(name)}")
            await asyncio.sleep(0.2)

    async def restart(self, name: str) -> None:
        """Stop and start one process; return once it serves (HTTP) or says it runs (log)."""
        self.stop(name)
        self.start(name)
        await self.wait_started(name)

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

    def agent_stream(self, headers: dict[str, str], query: str = "") -> Any:
        """The agent's stream socket through the public port (``async with``: a websockets
        client connection); ``query`` such as ``?since=12&epoch=...``."""
        from websockets.asyncio.client import connect

        url = self.ws_url("/api/v1/stream" + query)
        return connect(url, additional_headers=headers, proxy=None, open_timeout=5)

    def visitor_stream(self, visitor_token: str) -> Any:
        """The visitor's stream socket (the chat box's) through the public port."""
        from websockets.asyncio.client import connect

        url = self.ws_url(f"/api/v1/widget/stream?token={visitor_token}")
        return connect(url, proxy=None, open_timeout=5)

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


def procfile_commands(
    ports: dict[str, int], root: Path = ROOT, *, separate_workers: bool = True
) -> dict[str, list[str]]:
    """The Procfile's processes, with free ports instead of the fixed ones (``ports``: one per
    service and ``public`` for nginx; ``root``: another checkout's, for a benchmark comparing
    two commits). ``separate_workers``: a ``serve <name> --with-worker`` line becomes two
    processes, ``<name>`` (the API) and ``<name>-worker``, as deployed; else one, as `make run`
    starts it."""
    commands: dict[str, list[str]] = {}
    for line in (root / "Procfile").read_text().splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        name, _, command = line.partition(":")
        name = name.strip()
        argv = shlex.split(command)
        argv[0] = str(root / argv[0])
        if argv[1:2] == ["serve"]:
            if separate_workers and "--with-worker" in argv:
                argv.remove("--with-worker")
                commands[f"{name}-worker"] = [argv[0], "worker", argv[2]]
            argv += ["--port", str(ports[argv[2]])]
        elif argv[1:2] == ["nginx"]:  # in front of the gateway, on the public port
            argv += ["--port", str(ports["public"])]
        commands[name] = argv
    return commands


def _spawn(
    path: Path, argv: list[str], env: dict[str, str], root: Path = ROOT
) -> subprocess.Popen[bytes]:
    path.parent.mkdir(parents=True, exist_ok=True)
    log = open(path, "ab")
    return subprocess.Popen(
        argv, env=env, stdout=log, stderr=subprocess.STDOUT, cwd=root, start_new_session=True
    )


def service_urls(ports: dict[str, int]) -> dict[str, str]:
    """PARLEY_<NAME>_URL for every service and the gateway, and PARLEY_PUBLIC_URL (nginx's)."""
    urls = {
        f"PARLEY_{name.upper()}_URL": f"http://127.0.0.1:{ports[name]}" for name in SERVICE_PORTS
    }
    return {**urls, "PARLEY_PUBLIC_URL": f"http://127.0.0.1:{ports['public']}"}


@pytest.fixture(scope="session")
def system_env() -> dict[str, str]:
    return {}


def make_system(
    extra_env: dict[str, str],
    logs: Path = LOGS,
    *,
    root: Path = ROOT,
    separate_workers: bool = True,
) -> System:
    """The Procfile's processes (not started) on free ports, with this environment on top
    (``root``, ``separate_workers``: see ``procfile_commands``)."""
    ports = {name: free_port() for name in [*SERVICE_PORTS, "public"]}
    env = dict(os.environ)
    env.update(service_urls(ports))
    env.update(
        {
            "PARLEY_INBOUND_MAIL_PORT": str(free_port()),
            "PARLEY_GATEWAY_INTERNAL_PORT": str(free_port()),
            "PARLEY_RATE_LIMIT_IP_PER_MINUTE": "100000",
            # Every e2e test signs up its own accounts from 127.0.0.1.
            "PARLEY_SIGNUPS_PER_IP_PER_HOUR": "100000",
            "PARLEY_STREAM_UPGRADES_PER_MINUTE_PER_ADDRESS": "100000",
            # A dozen processes share PostgreSQL's connection limit with the in-process tests.
            "PARLEY_DATABASE_POOL_SIZE": "2",
            "PARLEY_LOG_JSON": "true",
            **extra_env,
        }
    )
    return System(
        url=env["PARLEY_PUBLIC_URL"],
        env=env,
        internal_url=f"http://127.0.0.1:{env['PARLEY_GATEWAY_INTERNAL_PORT']}",
        commands=procfile_commands(ports, root, separate_workers=separate_workers),
        logs=logs,
        root=root,
    )


@contextmanager
def running(system: System) -> Iterator[System]:
    """The system started and ready; stopped at the end, whatever happens."""
    try:
        system.start_all()
        wait_ready(system)
        yield system
    finally:
        system.stop_all()


@pytest.fixture(scope="session")
def system(database: str, system_env: dict[str, str]) -> Iterator[System]:
    with running(make_system(system_env)) as system:
        yield system


def wait_ready(system: System, timeout: float = READY_TIMEOUT) -> None:
    """Every process started, then the gateway's /readyz (its dependencies) answers 200.

    On failure, says which process is not ready and why: its exit code or the tail of its log.
    """
    deadline = time.monotonic() + timeout
    waiting = set(system.processes)
    while waiting and time.monotonic() < deadline:
        waiting = {name for name in waiting if not system.started(name)}
        time.sleep(0.3)
    last = ""
    while not waiting and time.monotonic() < deadline:
        try:
            resp = httpx.get(system.internal_url + "/readyz", timeout=3)
            if resp.status_code == 200:
                return
            last = resp.text
        except httpx.HTTPError as exc:
            last = repr(exc)
        time.sleep(0.3)
    if not waiting:
        raise RuntimeError(f"every process started but the gateway is not ready: {last}")
    report = "\n".join(f"{name}: still starting\n{system.log_tail(name)}" for name in waiting)
    raise RuntimeError(f"not ready after {timeout}s: {sorted(waiting)}\n{report}")


@pytest_asyncio.fixture
async def gateway(system: System) -> AsyncIterator[httpx.AsyncClient]:
    """An httpx client talking to the gateway only."""
    async with system.client() as client:
        yield client
