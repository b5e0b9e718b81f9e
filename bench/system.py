"""The whole system for a benchmark: every process of a checkout's Procfile on free ports, and
the CPU each of them (and PostgreSQL, RabbitMQ, Redis) spends, from /proc.

``root`` may be another checkout (a git worktree of an older commit) with its own .venv, so
one benchmark run can compare two commits on the same machine at the same time.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg

from bench.common import free_port
from parley_common.cli import remove_namespace
from parley_common.e2e import procfile_commands, service_urls
from parley_common.settings import SERVICE_PORTS, Settings

TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process (Linux /proc); 0 if it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError):
        return 0.0
    return (int(fields[11]) + int(fields[12])) / TICK


def tree_cpu_seconds(pid: int) -> float:
    """CPU of a process and its live children: nginx's master and its workers."""
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except (FileNotFoundError, ProcessLookupError):
        children = []
    return cpu_seconds(pid) + sum(cpu_seconds(int(child)) for child in children)


def children_cpu_seconds(pid: int) -> float:
    """CPU of a process's exited (and waited-for) children: for the postmaster, every backend
    that has ended, of any database on the server."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError):
        return 0.0
    return (int(fields[13]) + int(fields[14])) / TICK


def pids_named(needle: str) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if needle in (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode():
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


def calibrate() -> float:
    """CPU milliseconds of a fixed pure-Python loop: the machine's speed today, so figures can
    be given per calibration unit (the machines here differ up to 2x from day to day)."""
    best = float("inf")
    for _ in range(3):
        started = time.process_time()
        total = 0
        for i in range(1_000_000):
            total += i * i % 7
        best = min(best, time.process_time() - started)
    return round(best * 1000, 2)


def bench_env(tmp: Path) -> dict[str, str]:
    run = uuid.uuid4().hex[:8]
    base = os.environ.get(
        "PARLEY_BENCH_DATABASE_BASE", "postgresql+asyncpg://postgres@127.0.0.1:5432"
    )
    return {
        **os.environ,
        "PARLEY_DATABASE_URL": f"{base}/parley_bench_{run}",
        "PARLEY_NAMESPACE": f"bench{run}",
        "PARLEY_JWT_PRIVATE_KEY_FILE": str(tmp / "jwt_private.pem"),
        "PARLEY_JWT_PUBLIC_KEY_FILE": str(tmp / "jwt_public.pem"),
        "PARLEY_STORAGE_DIR": str(tmp / "storage"),
        # Rate limits are not what is measured: 200 visitors send thousands of messages.
        "PARLEY_RATE_LIMIT_IP_PER_MINUTE": "100000000",
        "PARLEY_RATE_LIMIT_TOKEN_PER_MINUTE": "100000000",
        "PARLEY_LOG_LEVEL": "WARNING",
        "PARLEY_INBOUND_MAIL_PORT": str(free_port()),
        "PARLEY_SMTP_PORT": str(free_port()),
        "PARLEY_GATEWAY_INTERNAL_PORT": str(free_port()),  # the gateway's /readyz
    }


@dataclass
class System:
    root: Path
    env: dict[str, str]
    url: str = ""
    commit: str = ""

    @property
    def ready_url(self) -> str:
        """The gateway's /readyz: on its internal port (older commits: the public one)."""
        internal = self.env.get("PARLEY_GATEWAY_INTERNAL_PORT")
        return f"http://127.0.0.1:{internal}/readyz" if internal else f"{self.url}/readyz"

    procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    @property
    def database(self) -> str:
        return self.env["PARLEY_DATABASE_URL"].rsplit("/", 1)[1]

    def start(self) -> None:
        parley = str(self.root / ".venv/bin/parley")
        self.commit = subprocess.run(
            ["git", "-C", str(self.root), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
        ).stdout.strip()
        for step in ("keys", "migrate"):
            subprocess.run(
                [parley, step], env=self.env, check=True, cwd=self.root, capture_output=True
            )
        ports = {name: free_port() for name in [*SERVICE_PORTS, "public"]}
        commands = procfile_commands(ports, self.root)
        if "nginx" not in commands:  # an older commit: the Python gateway is the public port
            ports["public"] = ports["gateway"]
        self.env.update(service_urls(ports))
        self.url = self.env["PARLEY_PUBLIC_URL"]
        for name, argv in commands.items():
            self.procs[name] = subprocess.Popen(
                argv,
                env=self.env,
                cwd=self.root,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                start_new_session=True,
            )

    async def stop(self) -> None:
        """Stop every process, then remove the run's database, queues and Redis keys."""
        self._terminate()
        await remove_namespace(
            Settings(
                database_url=self.env["PARLEY_DATABASE_URL"], namespace=self.env["PARLEY_NAMESPACE"]
            )
        )

    def _terminate(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in self.procs.values():
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)


class CpuMeter:
    """CPU seconds per process over a phase: our processes, our database's PostgreSQL backends
    (sampled while they live, so short-lived ones count too), and the shared servers.

    RabbitMQ, Redis and PostgreSQL's background processes serve every user of this machine, so
    those figures include whatever else runs (the shared development boxes): read them as an
    upper bound. Connections opened to our database come from pg_stat_database.sessions.
    """

    def __init__(self, system: System) -> None:
        self.system = system
        self.shared = {
            "rabbitmq": pids_named("beam.smp"),
            "redis": pids_named("redis-server"),
            "postgresql-server": [
                p
                for p in pids_named("postgres")
                if "parley" not in Path(f"/proc/{p}/cmdline").read_bytes().decode(errors="replace")
            ],
        }
        self.postmaster = min(self.shared["postgresql-server"], default=0)
        self._conn: asyncpg.Connection | None = None
        self._backends: dict[int, tuple[float, float]] = {}  # pid: (first seen, last seen)

    async def open(self) -> None:
        dsn = self.system.env["PARLEY_DATABASE_URL"].replace("+asyncpg", "")
        self._conn = await asyncpg.connect(dsn)

    async def close(self) -> None:
        if self._conn is not None:
            await self._conn.close()

    async def _sample(self) -> int:
        assert self._conn is not None
        rows = await self._conn.fetch(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
            "AND pid <> pg_backend_pid()"
        )
        for row in rows:
            now = cpu_seconds(row["pid"])
            first, _ = self._backends.get(row["pid"], (now, now))
            self._backends[row["pid"]] = (first, now)
        sessions: int = await self._conn.fetchval(
            "SELECT sessions FROM pg_stat_database WHERE datname = current_database()"
        )
        return sessions

    async def _sample_until(self, done: asyncio.Event) -> None:
        while not done.is_set():
            await self._sample()
            try:
                await asyncio.wait_for(done.wait(), 0.25)
            except TimeoutError:
                pass

    async def measure(self, phase: Any) -> tuple[Any, dict[str, float], int]:
        """Run ``phase`` (an awaitable); return its result, CPU seconds by process and the
        number of PostgreSQL connections opened to our database meanwhile."""
        procs = self.system.procs
        before = {name: tree_cpu_seconds(proc.pid) for name, proc in procs.items()}
        shared_before = {k: sum(cpu_seconds(p) for p in v) for k, v in self.shared.items()}
        exited_before = children_cpu_seconds(self.postmaster)
        self._backends = {}
        sessions_before = await self._sample()
        # Backends alive at the start count from here; ones born later count from zero.
        self._backends = {pid: (last, last) for pid, (_, last) in self._backends.items()}
        known = set(self._backends)
        done = asyncio.Event()
        sampler = asyncio.create_task(self._sample_until(done))
        try:
            result = await phase
        finally:
            done.set()
            await sampler
        sessions_after = await self._sample()
        born = set(self._backends) - known
        cpu = {name: tree_cpu_seconds(proc.pid) - before[name] for name, proc in procs.items()}
        cpu["postgresql"] = sum(
            last - (0.0 if pid in born else first) for pid, (first, last) in self._backends.items()
        )
        for key, pids in self.shared.items():
            cpu[key] = sum(cpu_seconds(p) for p in pids) - shared_before[key]
        cpu["postgresql-exited-backends"] = children_cpu_seconds(self.postmaster) - exited_before
        return result, cpu, sessions_after - sessions_before
