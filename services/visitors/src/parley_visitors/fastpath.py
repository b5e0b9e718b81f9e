"""Heartbeats answered below FastAPI's routing, exception and dependency machinery.

The chat box of every visitor on every website sends one about every 20 seconds: the
hottest request of the service. This ASGI middleware sits inside the common request-context
middleware (request id, timing metric, 500 rendering) and answers
``POST /api/v1/widget/heartbeat`` itself; everything else goes on to the app. The route in
``routes/widget.py`` documents it and answers the same way when this layer is absent.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, cast

from fastapi import FastAPI
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from parley_common.errors import DomainError
from parley_common.security import bearer_token, verify_visitor_token
from parley_visitors import widget_sessions
from parley_visitors.schemas import PresenceOut

HEARTBEAT_PATH = "/api/v1/widget/heartbeat"
DomainErrorHandler = Callable[[Request, Exception], Awaitable[Response]]
ACTIVE_BODY = PresenceOut().model_dump_json().encode()


async def heartbeat_response(request: Request) -> Response:
    """Verify the visitor token, refresh presence (arriving again if it had gone)."""
    visitor = verify_visitor_token(bearer_token(request))
    state = request.app.state
    await widget_sessions.heartbeat(state.session_factory, state.presence, visitor)
    return Response(ACTIVE_BODY, media_type="application/json")


class HeartbeatFastPath:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self._route: object | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] != HEARTBEAT_PATH or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        service: FastAPI = scope["app"]
        scope["route"] = self._route or self._find_route(service)  # the metric's path label
        request = Request(scope, receive)
        try:
            response = await heartbeat_response(request)
        except DomainError as exc:
            handler = cast(DomainErrorHandler, service.exception_handlers[DomainError])
            response = await handler(request, exc)
        await response(scope, receive, send)

    def _find_route(self, service: FastAPI) -> object | None:
        pending: list[Any] = list(service.routes)
        while pending and self._route is None:
            route = pending.pop()
            if getattr(route, "path", None) == HEARTBEAT_PATH:
                self._route = route
            included = getattr(route, "original_router", None)  # FastAPI's included routers
            pending += getattr(included or route, "routes", [])
        return self._route


def install(app: FastAPI) -> None:
    """Innermost of the app's own middlewares: inside request ids, metrics and 500s."""
    app.user_middleware.append(Middleware(HeartbeatFastPath))
