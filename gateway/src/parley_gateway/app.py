"""The gateway: one public API, the stream, the chat box and the live demo."""

from __future__ import annotations

from contextlib import AsyncExitStack

from fastapi import APIRouter, FastAPI
from starlette.middleware.cors import CORSMiddleware

from parley_common.admission import Admission
from parley_common.app import LifespanHook, create_service_app
from parley_gateway import boot, openapi, upstream
from parley_gateway.agent_app import routes as agent_app
from parley_gateway.config import SERVICES, GatewaySettings, get_gateway_settings
from parley_gateway.paths import EdgeGuard
from parley_gateway.stream import routes as stream
from parley_gateway.widget import routes as widget


async def open_upstreams(app: FastAPI, stack: AsyncExitStack) -> None:
    settings = app.state.settings
    app.state.http = upstream.create_client(settings)
    app.state.upstreams = {
        service: Admission(settings.upstream_in_flight, wait=settings.upstream_wait_ms / 1000)
        for service in SERVICES
    }
    stack.push_async_callback(app.state.http.close)

    async def upstreams_ready() -> None:
        for service in SERVICES:
            url = app.state.settings.service_url(service) + "/healthz"
            async with app.state.http.get(url) as resp:
                if resp.status != 200:
                    raise RuntimeError(f"{service} answered {resp.status}")

    app.state.ready_checks = [("services", upstreams_ready)]


ROUTERS: list[APIRouter] = [
    openapi.router,
    boot.router,
    stream.router,
    widget.router,
    agent_app.router,
]
ON_STARTUP: list[LifespanHook] = [open_upstreams, stream.start_stream]


def create_app(settings: GatewaySettings | None = None) -> EdgeGuard:
    settings = settings or get_gateway_settings()
    app = create_service_app(
        "gateway", ROUTERS, uses_database=False, on_startup=ON_STARTUP, settings=settings
    )
    # The gateway's own routes (boot, stream tickets, docs); nginx answers CORS for the services.
    app.add_middleware(
        CORSMiddleware,
        allow_origins=settings.cors_origins,
        allow_methods=["*"],
        allow_headers=["*"],
        expose_headers=["x-request-id", "retry-after", "etag"],
        max_age=600,
    )
    return EdgeGuard(app, settings.gateway_internal_port)


app = create_app()
