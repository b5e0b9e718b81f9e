"""PostgreSQL, RabbitMQ and Redis of the chaos run's own, on free ports in a temporary directory.

Chaos stops and restarts them; the machine's shared servers (other engineers' test runs, a
developer's `make run`) are never touched. Each ``stop_*``/``start_*`` pair is a fault; ``close``
stops everything whatever state it is in.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

PG_BIN = Path("/usr/lib/postgresql") / (
    sorted(os.listdir("/usr/lib/postgresql"))[-1] if Path("/usr/lib/postgresql").exists() else ""
)
RABBIT_BIN = Path("/usr/lib/rabbitmq/bin")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def answers(port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.5):
        return True
    return False


def wait_until(check: object, what: str, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while not check():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what} not up within {timeout}s")
        time.sleep(0.2)


class PrivateServers:
    def __init__(self) -> None:
        # Its own directory, readable by the postgres user (a test's tmp_path is not).
        self.base = Path(tempfile.mkdtemp(prefix="parley-chaos-servers-"))
        self.base.chmod(0o755)
        self.pg_port, self.redis_port = free_port(), free_port()
        self.amqp_port, self.dist_port = free_port(), free_port()
        self.node = f"chaos{self.amqp_port}@localhost"
        self.redis: subprocess.Popen[bytes] | None = None
        self.rabbit: subprocess.Popen[bytes] | None = None

    @staticmethod
    def installed() -> bool:
        return (
            (PG_BIN / "bin" / "initdb").exists()
            and (RABBIT_BIN / "rabbitmq-server").exists()
            and shutil.which("redis-server") is not None
        )

    @property
    def env(self) -> dict[str, str]:
        return {
            "PARLEY_DATABASE_URL": f"postgresql+asyncpg://postgres@127.0.0.1:{self.pg_port}/chaos",
            "PARLEY_RABBITMQ_URL": f"amqp://guest:guest@127.0.0.1:{self.amqp_port}/",
            "PARLEY_REDIS_URL": f"redis://127.0.0.1:{self.redis_port}/0",
        }

    def start(self) -> None:
        self._init_pg()
        self.start_pg()
        self.start_redis()
        self._start_rabbit()

    def close(self) -> None:
        for stop in (self.stop_pg, self.stop_redis, self._stop_rabbit):
            with contextlib.suppress(Exception):
                stop()
        shutil.rmtree(self.base, ignore_errors=True)

    # --- PostgreSQL: a cluster in the temporary directory ----------------------------------
    def _pg(self, tool: str, *args: str) -> None:
        argv = [str(PG_BIN / "bin" / tool), *args]
        if os.geteuid() == 0:  # PostgreSQL refuses to run as root
            argv = ["runuser", "-u", "postgres", "--", *argv]
        subprocess.run(argv, check=True, capture_output=True)

    def _init_pg(self) -> None:
        data = self.base / "pg"
        data.mkdir()
        if os.geteuid() == 0:
            shutil.chown(data, "postgres")
        self._pg("initdb", "-D", str(data), "-A", "trust", "-U", "postgres", "--no-sync")

    def start_pg(self) -> None:
        data = self.base / "pg"
        options = (
            f"-p {self.pg_port} -k {data} -c listen_addresses=127.0.0.1 "
            "-c max_connections=200 -c fsync=off -c synchronous_commit=off"
        )
        self._pg(
            "pg_ctl", "-D", str(data), "-o", options, "-l", str(data / "server.log"), "-w", "start"
        )

    def stop_pg(self) -> None:
        self._pg("pg_ctl", "-D", str(self.base / "pg"), "-m", "fast", "-w", "stop")

    # --- Redis: nothing on disk, like the development server -------------------------------
    def start_redis(self) -> None:
        argv = ["redis-server", "--port", str(self.redis_port), "--bind", "127.0.0.1"]
        argv += ["--save", "", "--appendonly", "no"]
        log = open(self.base / "redis.log", "ab")
        self.redis = subprocess.Popen(argv, stdout=log, stderr=log, start_new_session=True)
        wait_until(lambda: answers(self.redis_port), "redis")

    def stop_redis(self) -> None:
        if self.redis is not None and self.redis.poll() is None:
            self.redis.kill()
            self.redis.wait()

    # --- RabbitMQ: a node of its own (name, ports, database, cookie) ----------------------
    def _rabbit_env(self) -> dict[str, str]:
        conf = self.base / "rabbitmq.conf"
        if not conf.exists():
            conf.write_text(f"listeners.tcp.local = 127.0.0.1:{self.amqp_port}\n")
            (self.base / "enabled_plugins").write_text("[].\n")
        return {
            **os.environ,
            "HOME": str(self.base),  # its own Erlang cookie
            "RABBITMQ_NODENAME": self.node,
            "RABBITMQ_NODE_PORT": str(self.amqp_port),
            "RABBITMQ_DIST_PORT": str(self.dist_port),
            "RABBITMQ_MNESIA_BASE": str(self.base / "rabbit-db"),
            "RABBITMQ_LOG_BASE": str(self.base / "rabbit-log"),
            "RABBITMQ_CONFIG_FILE": str(conf),
            "RABBITMQ_ENABLED_PLUGINS_FILE": str(self.base / "enabled_plugins"),
            "RABBITMQ_PID_FILE": str(self.base / "rabbit.pid"),
            "RABBITMQ_CONF_ENV_FILE": "/dev/null",
            "ERL_EPMD_ADDRESS": "127.0.0.1",
        }

    def rabbitmqctl(self, *args: str, timeout: float = 120) -> None:
        subprocess.run(
            [str(RABBIT_BIN / "rabbitmqctl"), "-n", self.node, *args],
            env=self._rabbit_env(),
            check=True,
            capture_output=True,
            timeout=timeout,
        )

    def _start_rabbit(self) -> None:
        log = open(self.base / "rabbit.out", "ab")
        self.rabbit = subprocess.Popen(
            [str(RABBIT_BIN / "rabbitmq-server")],
            env=self._rabbit_env(),
            stdout=log,
            stderr=log,
            start_new_session=True,
        )
        self.rabbitmqctl("wait", str(self.base / "rabbit.pid"), "--timeout", "180", timeout=200)

    def stop_rabbit_app(self) -> None:
        self.rabbitmqctl("stop_app")

    def start_rabbit_app(self) -> None:
        self.rabbitmqctl("start_app")
        wait_until(lambda: answers(self.amqp_port), "rabbitmq")

    def _stop_rabbit(self) -> None:
        if self.rabbit is None or self.rabbit.poll() is not None:
            return
        with contextlib.suppress(Exception):
            self.rabbitmqctl("stop", timeout=60)
        if self.rabbit.poll() is None:
            os.killpg(self.rabbit.pid, 9)
        self.rabbit.wait()
