"""The FastAPI app every service starts from: errors, request ids, metrics, health."""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any

import aio_pika
from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from parley_common import openapi, telemetry
from parley_common.admission import Admission, AdmissionMiddleware
from parley_common.db import create_engine, create_session_factory, warm_pool
from parley_common.errors import (
    dependency_unavailable,
    install_error_handlers,
    internal_error,
    unavailable,
)
from parley_common.etag import ETagMiddleware
from parley_common.events.publisher import publish_what_commits
from parley_common.i18n import accept_language_var
from parley_common.logging import configure_logging, request_id_var
from parley_common.metrics import REQUEST_LATENCY
from parley_common.redis import RateLimiter, create_redis
from parley_common.revocation import Revocations
from parley_common.settings import Settings, get_settings
from parley_common.text import NulGuardMiddleware

log = logging.getLogger("parley.app")
LifespanHook = Callable[[FastAPI, AsyncExitStack], Awaitable[None]]


ROUTE_HEADER = b"x-parley-route"


class ProxyRoute:
    """Stands in for a route in the gateway's scope: its metrics label proxied requests by the
    upstream's route template (from the upstream's ``x-parley-route``), else by service."""

    def __init__(self, path: str) -> None:
        self.path = path


class RequestContextMiddleware:
    """Adopts the gateway's request id (or makes one), echoes it, and times the request; keeps
    the Accept-Language header for the problem titles."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = accept_language = None
        for name, value in scope["headers"]:
            if name == b"x-request-id":
                request_id = value.decode("latin-1")[:128]
            elif name == b"accept-language":
                accept_language = value.decode("latin-1")[:200]
        request_id = request_id or uuid.uuid4().hex
        token = request_id_var.set(request_id)
        language_token = accept_language_var.set(accept_language)  # for problem titles
        status = 500
        started = time.perf_counter()
        response_started = False

        async def send_with_id(message: Message) -> None:
            nonlocal status, response_started
            if message["type"] == "http.response.start":
                status = message["status"]
                response_started = True
                message["headers"] = [
                    *message.get("headers", []),
                    (b"x-request-id", request_id.encode("latin-1")),
                ]
                route = scope.get("route")
                if route is not None and not isinstance(route, ProxyRoute):
                    # The route template, for the gateway's per-route metrics (it strips it).
                    message["headers"].append((ROUTE_HEADER, route.path.encode()))
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception as exc:
            # Rendered here, inside the request's context, so the answer carries its request id.
            if response_started:
                raise
            if dependency_unavailable(exc):
                log.warning("dependency unavailable: %r", exc)
                await unavailable()(scope, receive, send_with_id)
            else:
                log.exception("unhandled error")
                await internal_error()(scope, receive, send_with_id)
        finally:
            route = scope.get("route")
            path = getattr(route, "path", "unmatched")
            REQUEST_LATENCY.labels(scope["method"], path, str(status)).observe(
                time.perf_counter() - started
            )
            request_id_var.reset(token)
            accept_language_var.reset(language_token)


async def _check(name: str, probe: Awaitable[Any]) -> tuple[str, str]:
    try:
        await asyncio.wait_for(probe, 2.0)
        return name, "ok"
    except Exception as exc:
        return name, f"failed: {type(exc).__name__}"


async def _broker_probe(url: str) -> None:
    connection = await aio_pika.connect(url, timeout=2)
    await connection.close()


def health_router() -> APIRouter:
    router = APIRouter(include_in_schema=False)

    @router.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @router.get("/readyz")
    async def readyz(request: Request) -> Response:
        state = request.app.state
        probes = [
            _check("redis", state.redis.ping()),
            _check("rabbitmq", _broker_probe(state.settings.rabbitmq_url)),
        ]
        if getattr(state, "engine", None) is not None:

            async def db() -> None:
                async with state.engine.connect() as conn:
                    await conn.execute(text("SELECT 1"))

            probes.append(_check("postgresql", db()))
        probes += [_check(name, check()) for name, check in getattr(state, "ready_checks", [])]
        checks = dict(await asyncio.gather(*probes))
        ok = all(v == "ok" for v in checks.values())
        return JSONResponse(
            {"status": "ok" if ok else "unavailable", "checks": checks},
            status_code=200 if ok else 503,
        )

    @router.get("/metrics")
    async def metrics() -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    return router


def create_service_app(
    name: str,
    routers: Sequence[APIRouter],
    *,
    uses_database: bool = True,
    on_startup: Sequence[LifespanHook] = (),
    settings: Settings | None = None,
    description: str = "",
) -> FastAPI:
    """A service's app. ``on_startup`` hooks open extra resources on the exit stack."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        cfg = settings or get_settings()
        cfg.check_production()
        configure_logging(name, level=cfg.log_level, json=cfg.log_json)
        app.state.settings = cfg
        async with AsyncExitStack() as stack:
            if uses_database and getattr(app.state, "session_factory", None) is None:
                engine = create_engine(
                    cfg.database_url,
                    pool_size=cfg.database_pool_size,
                    pool_timeout=cfg.database_pool_timeout_seconds,
                )
                stack.push_async_callback(engine.dispose)
                await warm_pool(engine, cfg.database_pool_size)
                app.state.engine = engine
                app.state.session_factory = create_session_factory(engine)
            if uses_database:
                await publish_what_commits(stack, cfg)
            app.state.redis = create_redis(cfg)
            stack.push_async_callback(app.state.redis.aclose)
            app.state.rate_limiter = RateLimiter(app.state.redis, cfg.namespace)
            app.state.admission = Admission(
                cfg.max_requests_in_flight,
                wait=cfg.admission_wait_ms / 1000,
                queue=cfg.admission_queue,
                from_front=cfg.admission_wait_from_front,
            )
            app.state.revocations = Revocations(app.state.redis, cfg)
            for hook in on_startup:
                await hook(app, stack)
            yield

    app = FastAPI(
        title=f"Parley {name}",
        version="1.0.0",
        description=description,
        lifespan=lifespan,
        openapi_url=None if name == "gateway" else "/openapi.json",
        docs_url=None if name == "gateway" else "/docs",
    )
    app.state.engine = None
    app.state.session_factory = None
    install_error_handlers(app)
    openapi.install(app)
    app.add_middleware(ETagMiddleware)
    app.add_middleware(AdmissionMiddleware)  # inside the request context: its 503s get an id
    app.add_middleware(NulGuardMiddleware)
    app.add_middleware(RequestContextMiddleware)  # the request id is on a 304 too
    if telemetry.enabled():
        from opentelemetry.instrumentation.asgi import OpenTelemetryMiddleware

        app.add_middleware(OpenTelemetryMiddleware, excluded_urls=telemetry.EXCLUDED_URLS)
    app.include_router(health_router())
    for router in routers:
        app.include_router(router)
    return app
