"""The pytest plugin every Parley test uses: real PostgreSQL, RabbitMQ and Redis.

- One fresh database per run (``parley_test_<run>``), built with every service's Alembic
  migrations, so the migrations are tested too.
- ``session``: a session inside an outer transaction that is rolled back after the test.
- ``service_client(app)``: an httpx client over ASGI against a service app whose lifespan ran;
  API calls commit for real (tests isolate by using fresh accounts: ``agent``,
  ``other_account``).
- A namespace per run for RabbitMQ names and Redis keys, removed at the end.
- ``smtp_sink``: an aiosmtpd server that keeps every mail it receives.
- ``s3_server`` / ``storage_backend``: moto's S3 server; a test run against both storage backends.
- ``system`` / ``gateway``: every process started like `make run`; see parley_common.e2e.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import tempfile
import threading
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine
from starlette.types import ASGIApp

from parley_common.contracts import SERVICE_PORTS
from parley_common.security import AgentPrincipal, generate_key_pair, issue_agent_token
from parley_common.settings import Settings, get_settings

RUN_ID = uuid.uuid4().hex[:8]


from parley_common.e2e import System, free_port, gateway, system, system_env  # noqa: E402,F401
from parley_common.testing_storage import S3Server, s3_server, storage_backend  # noqa: E402,F401


@dataclass
class SmtpSink:
    """Mail received by the test SMTP server."""

    port: int
    messages: list[EmailMessage] = field(default_factory=list)

    def to(self, address: str) -> list[EmailMessage]:
        return [m for m in self.messages if address.lower() in str(m["To"]).lower()]

    async def wait_for(
        self, address: str, count: int = 1, timeout: float = 10
    ) -> list[EmailMessage]:
        deadline = asyncio.get_running_loop().time() + timeout
        while len(self.to(address)) < count:
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"no mail to {address} within {timeout}s")
            await asyncio.sleep(0.05)
        return self.to(address)


def _start_smtp_sink() -> tuple[SmtpSink, Any]:
    from aiosmtpd.controller import Controller

    sink = SmtpSink(port=free_port())

    class Handler:
        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
            msg = message_from_bytes(
                envelope.original_content or envelope.content, policy=policy.default
            )
            assert isinstance(msg, EmailMessage)
            sink.messages.append(msg)
            return "250 OK"

    controller = Controller(Handler(), hostname="127.0.0.1", port=sink.port)
    controller.start()
    return sink, controller


def pytest_configure(config: pytest.Config) -> None:
    """Point every process and every get_settings() call of this run at test resources."""
    base = Path(os.environ.get("PARLEY_TEST_TMP", tempfile.gettempdir())) / f"parley-test-{RUN_ID}"
    keys = base / "keys"
    if not (keys / "jwt_private.pem").exists():
        generate_key_pair(keys / "jwt_private.pem", keys / "jwt_public.pem")
    db_base = os.environ.get(
        "PARLEY_TEST_DATABASE_BASE", "postgresql+asyncpg://postgres@127.0.0.1:5432"
    )
    os.environ.update(
        {
            "PARLEY_DATABASE_URL": f"{db_base}/parley_test_{RUN_ID}",
            "PARLEY_NAMESPACE": f"test{RUN_ID}",
            "PARLEY_JWT_PRIVATE_KEY_FILE": str(keys / "jwt_private.pem"),
            "PARLEY_JWT_PUBLIC_KEY_FILE": str(keys / "jwt_public.pem"),
            "PARLEY_STORAGE_DIR": str(base / "storage"),
            "PARLEY_LOG_JSON": "false",
            "PARLEY_TEST_TMP_DIR": str(base),
        }
    )
    # Services a unit test does not start answer nowhere: never a `make run` on the default
    # ports of this machine (the e2e system points its processes at its own ports).
    os.environ.update(
        {
            f"PARLEY_{name.upper()}_URL": f"http://127.0.0.1:{free_port()}"
            for name in SERVICE_PORTS
            if name != "gateway"
        }
    )
    sink, controller = _start_smtp_sink()
    os.environ["PARLEY_SMTP_PORT"] = str(sink.port)
    config._parley_smtp = (sink, controller)  # type: ignore[attr-defined]
    get_settings.cache_clear()


def pytest_unconfigure(config: pytest.Config) -> None:
    smtp = getattr(config, "_parley_smtp", None)
    if smtp is not None:
        smtp[1].stop()


@pytest.fixture(scope="session")
def settings() -> Settings:
    return get_settings()


@pytest.fixture(scope="session")
def smtp_sink(pytestconfig: pytest.Config) -> SmtpSink:
    sink: SmtpSink = pytestconfig._parley_smtp[0]  # type: ignore[attr-defined]
    return sink


def _in_thread(fn: Callable[[], None]) -> None:
    """Alembic runs its own event loop; keep it off the test loop's thread."""
    errors: list[BaseException] = []

    def target() -> None:
        try:
            fn()
        except BaseException as exc:
            errors.append(exc)

    thread = threading.Thread(target=target)
    thread.start()
    thread.join()
    if errors:
        raise errors[0]


@pytest.fixture(scope="session")
def database(settings: Settings) -> Iterator[str]:
    """A fresh database with every service's migrations applied, dropped after the run."""
    from parley_common.cli import declare_topology, migrate_all, remove_namespace
    from parley_common.migrations import ensure_database

    _in_thread(lambda: asyncio.run(ensure_database(settings.database_url, recreate=True)))
    _in_thread(lambda: migrate_all(settings.database_url))
    _in_thread(lambda: asyncio.run(declare_topology()))
    yield settings.database_url
    if os.environ.get("PARLEY_KEEP_TEST_DB") != "1":
        _in_thread(lambda: asyncio.run(remove_namespace(settings)))


@pytest_asyncio.fixture(scope="session")
async def engine(database: str) -> AsyncIterator[Any]:
    eng = create_async_engine(database, pool_size=5)
    yield eng
    await eng.dispose()


@pytest_asyncio.fixture
async def session(engine: Any) -> AsyncIterator[AsyncSession]:
    """A session whose work is rolled back after the test (commits become savepoints)."""
    async with engine.connect() as conn:
        outer = await conn.begin()
        sess = AsyncSession(
            bind=conn, expire_on_commit=False, join_transaction_mode="create_savepoint"
        )
        try:
            yield sess
        finally:
            await sess.close()
            await outer.rollback()


@pytest_asyncio.fixture
async def redis(settings: Settings) -> AsyncIterator[Any]:
    from parley_common.redis import create_redis

    client = create_redis(settings)
    yield client
    await client.aclose()


@pytest_asyncio.fixture(scope="session")
async def broker(settings: Settings, database: str) -> AsyncIterator[Any]:
    """A robust RabbitMQ connection for the run (the topology is declared by ``database``)."""
    from parley_common.events import broker as broker_mod

    connection = await broker_mod.connect(settings.rabbitmq_url)
    yield connection
    await connection.close()


@asynccontextmanager
async def lifespan(app: ASGIApp) -> AsyncIterator[None]:
    """Run an ASGI app's lifespan (startup before the block, shutdown after)."""
    to_app: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    from_app: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    scope = {"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}}
    task: asyncio.Task[None] = asyncio.create_task(
        app(scope, to_app.get, from_app.put)  # type: ignore[arg-type]
    )
    await to_app.put({"type": "lifespan.startup"})
    started = await from_app.get()
    if started["type"] != "lifespan.startup.complete":
        await task
        raise RuntimeError(f"app failed to start: {started.get('message')}")
    try:
        yield
    finally:
        await to_app.put({"type": "lifespan.shutdown"})
        await from_app.get()
        await task


@asynccontextmanager
async def running_app(app: ASGIApp) -> AsyncIterator[httpx.AsyncClient]:
    """Run the app's lifespan and give an httpx client over ASGI."""
    async with lifespan(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            yield client


@pytest.fixture
def service_client(database: str) -> Callable[[FastAPI], Any]:
    """``async with service_client(app) as client:`` (the database is migrated first)."""
    return running_app


@asynccontextmanager
async def running_worker(service_name: str) -> AsyncIterator[Any]:
    """Start a service's worker (relay, consumers, background jobs) inside the test."""
    from parley_common.definition import load_service
    from parley_common.tasks import stop_tasks
    from parley_common.worker import start_worker

    async with AsyncExitStack() as stack:
        ctx, tasks = await start_worker(load_service(service_name), stack)
        try:
            yield ctx
        finally:
            await stop_tasks(tasks)


def close_connections(name: str) -> int:
    """Force-close the broker connections named ``name`` (as a broker restart would)."""
    listing = subprocess.run(
        ["rabbitmqctl", "-q", "list_connections", "pid", "client_properties"],  # noqa: S607 (the broker's own tool, on PATH)
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    pids = [line.split("\t")[0] for line in listing.splitlines() if name in line]
    for pid in pids:
        subprocess.run(
            ["rabbitmqctl", "-q", "close_connection", pid, "test: broker restart"],  # noqa: S607
            check=True,
            capture_output=True,
        )
    return len(pids)


@pytest.fixture
def worker(database: str) -> Callable[[str], Any]:
    """``async with worker("chat") as ctx:`` runs the chat worker for the test's duration."""
    return running_worker


@dataclass(frozen=True)
class SignedInAgent:
    principal: AgentPrincipal
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    @property
    def account_id(self) -> uuid.UUID:
        return self.principal.account_id

    @property
    def agent_id(self) -> uuid.UUID:
        return self.principal.agent_id


def make_agent(role: str = "owner", account_id: uuid.UUID | None = None) -> SignedInAgent:
    """A signed-in agent of a fresh (or the given) account, with a real access token."""
    principal = AgentPrincipal(uuid.uuid4(), account_id or uuid.uuid4(), role, uuid.uuid4())
    token = issue_agent_token(principal.agent_id, principal.account_id, role, principal.session_id)
    return SignedInAgent(principal, token)


@pytest.fixture
def agent(settings: Settings) -> SignedInAgent:
    return make_agent()


@pytest.fixture
def other_account(settings: Settings) -> SignedInAgent:
    return make_agent()


async def eventually(check: Callable[[], Any], timeout: float = 10, interval: float = 0.05) -> Any:
    """Poll an async or sync check until it returns a truthy value; return that value."""
    deadline = asyncio.get_running_loop().time() + timeout
    last: Any = None
    while True:
        result = check()
        if asyncio.iscoroutine(result):
            result = await result
        if result:
            return result
        last = result
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"condition not met within {timeout}s (last: {last!r})")
        await asyncio.sleep(interval)
