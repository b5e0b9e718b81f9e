"""A service's hottest request answered below FastAPI's routing, dependency and validation
machinery, which costs more CPU than the request's own work (bench/README.md, issue 12).

``install(app, method, path, handler)`` puts a layer inside the app's own middlewares (request
ids, metrics, 500s, admission, NUL guard, ETag all still apply) that answers that one request
with ``handler``; everything else goes on to the app. The FastAPI route stays: it documents the
request in the OpenAPI and answers it the same way when the layer is absent.

The handler may decline (return ``None``): FastAPI's route then answers the same request, body
and all. That is how a body that fails validation gets exactly the route's 422 (the same
errors, in the same order against the token check), without a second copy of FastAPI's rules.
An exception the handler raises is rendered by the app's own handler for it, as a route's is.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar, cast

from fastapi import FastAPI
from pydantic import BaseModel, ValidationError
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

Handler = Callable[[Request], Awaitable[Response | None]]
ExceptionHandler = Callable[[Request, Exception], Awaitable[Response]]
M = TypeVar("M", bound=BaseModel)


class FastPath:
    def __init__(self, app: ASGIApp, *, method: str, path: str, handler: Handler) -> None:
        self.app = app
        self.method = method
        self.path = path
        self.handler = handler
        self._route: object | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] != self.path or scope["method"] != self.method:
            await self.app(scope, receive, send)
            return
        service: FastAPI = scope["app"]
        scope["route"] = self._route or self._find_route(service)  # the metric's path label
        request = Request(scope, receive)
        try:
            response = await self.handler(request)
        except Exception as exc:
            exception_handler = _handler_for(service, exc)
            if exception_handler is None:
                raise  # the request-context middleware renders it, as for a route
            response = await exception_handler(request, exc)
        if response is None:
            await self.app(scope, _replay(await request.body(), receive), send)
            return
        await response(scope, receive, send)

    def _find_route(self, service: FastAPI) -> object | None:
        pending: list[Any] = list(service.routes)
        while pending and self._route is None:
            route = pending.pop()
            if getattr(route, "path", None) == self.path and self.method in getattr(
                route, "methods", ()
            ):
                self._route = route
            included = getattr(route, "original_router", None)  # FastAPI's included routers
            pending += getattr(included or route, "routes", [])
        return self._route


def _handler_for(service: FastAPI, exc: Exception) -> ExceptionHandler | None:
    """The app's handler for the exception's class or its nearest base (Starlette's lookup)."""
    for cls in type(exc).__mro__:
        if cls in service.exception_handlers:
            return cast(ExceptionHandler, service.exception_handlers[cls])
    return None


def _replay(body: bytes, receive: Receive) -> Receive:
    """The request's body again (the handler read it), then the client's later messages."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if sent:
            return await receive()
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return replay


async def json_body(request: Request, model: type[M]) -> M | None:
    """The body as ``model``, or None when it is not plainly that model in JSON (let the route
    answer: its 422 is the documented one). Only ``application/json``: FastAPI reads other
    content types its own way."""
    content_type = request.headers.get("content-type", "")
    if content_type.partition(";")[0].strip().lower() != "application/json":
        return None
    try:
        return model.model_validate_json(await request.body())
    except ValidationError:
        return None


def install(app: FastAPI, method: str, path: str, handler: Handler) -> None:
    """Innermost of the app's own middlewares: inside request ids, metrics, 500s, admission."""
    app.user_middleware.append(Middleware(FastPath, method=method, path=path, handler=handler))
