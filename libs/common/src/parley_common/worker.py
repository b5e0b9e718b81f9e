"""A service's worker process: its outbox relay, its consumers and its background tasks.

In development the worker runs inside the service's API process instead
(``parley serve <name> --with-worker``, the Procfile): ``attach_worker``.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
from aio_pika.abc import AbstractChannel, AbstractExchange, AbstractRobustConnection
from fastapi import FastAPI
from prometheus_client import start_http_server
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from parley_common.db import create_engine, create_session_factory
from parley_common.definition import ServiceDef
from parley_common.events import broker
from parley_common.events.consumer import BatchingHandler
from parley_common.events.outbox import OutboxRelay
from parley_common.events.publisher import open_publisher
from parley_common.logging import configure_logging
from parley_common.metrics import QUEUE_CONSUMERS, QUEUE_MESSAGES
from parley_common.redis import create_redis
from parley_common.settings import Settings, get_settings
from parley_common.tasks import stop_tasks

log = logging.getLogger("parley.worker")
QUEUE_POLL_SECONDS = 15


@dataclass
class WorkerContext:
    """The worker's long-lived resources, one of each per process."""

    service: ServiceDef
    settings: Settings
    redis: Redis
    connection: AbstractRobustConnection
    channel: AbstractChannel
    exchange: AbstractExchange
    http: httpx.AsyncClient
    engine: AsyncEngine | None = None
    session_factory: async_sessionmaker[AsyncSession] | None = None
    state: dict[str, Any] = field(default_factory=dict)


_context: WorkerContext | None = None


def worker_context() -> WorkerContext:
    """The running worker's resources, for handlers that need more than a session."""
    if _context is None:
        raise RuntimeError("no worker is running in this process")
    return _context


async def declare_consumer_queues(
    channel: AbstractChannel, service: ServiceDef, namespace: str
) -> None:
    """Declare the service's queues and bindings (the CLI's migrate does it for all)."""
    for consumer in service.consumers:
        await broker.declare_queue(
            channel,
            namespace,
            broker.queue_name(namespace, service.name, consumer.purpose),
            consumer.routing_patterns(),
        )


async def start_worker(
    service: ServiceDef, stack: AsyncExitStack, settings: Settings | None = None
) -> tuple[WorkerContext, list[asyncio.Task[None]]]:
    """Open the worker's resources on ``stack`` and start its tasks (tests call this too)."""
    global _context
    cfg = settings or get_settings()
    # One connection and confirm channel per process: the API's when it runs in this process.
    connection, channel, exchange = await open_publisher(
        stack, cfg.rabbitmq_url, cfg.namespace, cfg.database_url
    )
    redis = create_redis(cfg)
    stack.push_async_callback(redis.aclose)
    http = httpx.AsyncClient(timeout=10)
    stack.push_async_callback(http.aclose)
    ctx = WorkerContext(service, cfg, redis, connection, channel, exchange, http)
    if service.metadata is not None:
        # Workers wait for a connection as long as it takes (the default pool timeout).
        ctx.engine = create_engine(cfg.database_url, pool_size=cfg.database_pool_size)
        stack.push_async_callback(ctx.engine.dispose)
        ctx.session_factory = create_session_factory(ctx.engine)
    _context = ctx

    tasks: list[asyncio.Task[None]] = []
    if service.outbox is not None and ctx.engine is not None:
        relay = OutboxRelay(service.outbox, ctx.engine, exchange, cfg.database_url)
        tasks.append(asyncio.create_task(relay.run(), name=f"{service.name}-outbox-relay"))
    for consumer in service.consumers:
        assert ctx.session_factory is not None and service.outbox is not None
        consumer_channel = await connection.channel()
        await consumer_channel.set_qos(prefetch_count=consumer.prefetch)
        name = broker.queue_name(cfg.namespace, service.name, consumer.purpose)
        queue = await broker.declare_queue(
            consumer_channel, cfg.namespace, name, consumer.routing_patterns()
        )
        handler = BatchingHandler(
            ctx.session_factory,
            service.outbox.processed,
            name,
            consumer,
            erased=service.outbox.erased,
        )
        stack.push_async_callback(handler.aclose)
        await queue.consume(handler)
    queues = [broker.queue_name(cfg.namespace, service.name, c.purpose) for c in service.consumers]
    queues += [broker.queue_name(cfg.namespace, service.name, p) for p, _ in service.queues]
    if queues:
        tasks.append(asyncio.create_task(_watch_queues(ctx, queues), name="queue-depth"))
    for job in service.background:
        tasks.append(asyncio.create_task(_forever(job, ctx), name=f"{service.name}-{job.__name__}"))
    return ctx, tasks


async def _watch_queues(ctx: WorkerContext, names: list[str]) -> None:
    """``parley_queue_messages`` / ``_consumers`` of this service's queues, every 15 s."""
    channel = await ctx.connection.channel()
    try:
        while True:
            for name in names:
                try:
                    queue = await channel.declare_queue(name, passive=True)
                except Exception as exc:  # not declared yet (before migrate), broker away
                    log.debug("queue %s not readable: %r", name, exc)
                    if channel.is_closed:
                        channel = await ctx.connection.channel()
                    continue
                result = queue.declaration_result
                QUEUE_MESSAGES.labels(name).set(result.message_count or 0)
                QUEUE_CONSUMERS.labels(name).set(result.consumer_count or 0)
            await asyncio.sleep(QUEUE_POLL_SECONDS)
    finally:
        await channel.close()


async def _forever(job: Any, ctx: WorkerContext) -> None:
    """Background jobs restart after an error instead of silently dying."""
    while True:
        try:
            await job(ctx)
            return
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("background task %s failed; restarting", job.__name__)
            await asyncio.sleep(1)


async def run_worker(service: ServiceDef) -> None:
    cfg = get_settings()
    configure_logging(f"{service.name}-worker", level=cfg.log_level, json=cfg.log_json)
    if cfg.worker_metrics_port:
        start_http_server(cfg.worker_metrics_port)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async with AsyncExitStack() as stack:
        _, tasks = await start_worker(service, stack, cfg)
        log.info(
            "%s worker running (%d tasks, %d consumers)",
            service.name,
            len(tasks),
            len(service.consumers),
        )
        await stop.wait()
        await stop_tasks(tasks)


def attach_worker(app: Any, service: ServiceDef) -> None:
    """Run the service's worker in ``app``'s lifespan: one process carries the API and the
    worker (development: ``parley serve <name> --with-worker``; deployments keep them apart,
    as they scale independently). The app serves once the worker has started, its readiness
    fails while a worker task has died or the worker's broker connection is closed, and on
    shutdown the worker's tasks stop before its resources and the API's close. ``app``: a
    FastAPI app, or an ASGI wrapper holding it as ``.app`` (the gateway's ``EdgeGuard``)."""
    while not isinstance(app, FastAPI):
        app = app.app
    api_lifespan = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[Any]:
        async with api_lifespan(app) as state, AsyncExitStack() as stack:
            ctx, tasks = await start_worker(service, stack, app.state.settings)
            stack.push_async_callback(stop_tasks, tasks)

            async def worker_running() -> None:
                # A job may finish (a one-off at start); a task that died makes it not ready.
                died = [t for t in tasks if t.done() and (t.cancelled() or t.exception())]
                for task in died:
                    error = "cancelled" if task.cancelled() else task.exception()
                    log.error("worker task %s died: %r", task.get_name(), error)
                if died:
                    raise RuntimeError("a worker task died")
                if ctx.connection.is_closed:
                    raise ConnectionError("the worker's broker connection is closed")

            checks = getattr(app.state, "ready_checks", [])
            app.state.ready_checks = [*checks, ("worker", worker_running)]
            log.info("%s worker running in the API process (%d tasks)", service.name, len(tasks))
            yield state

    app.router.lifespan_context = lifespan
