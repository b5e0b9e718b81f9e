"""The public API's proxy: /api/v1/... forwarded to the owning service with one pooled client.

aiohttp's client keeps its throughput under concurrency where httpx's falls away
(../shared/PERFORMANCE-NOTES.md), so it carries the hot path.
"""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from typing import Any

import aiohttp
from fastapi import FastAPI, Request
from fastapi.responses import Response, StreamingResponse
from starlette.background import BackgroundTask
from starlette.middleware.cors import CORSMiddleware
from starlette.types import Receive, Scope, Send
from yarl import URL

from parley_common import telemetry
from parley_common.app import ROUTE_HEADER, ProxyRoute, RequestContextMiddleware
from parley_common.errors import (
    UNAVAILABLE_RETRY_AFTER,
    DomainError,
    PayloadTooLarge,
    TooManyRequests,
    problem,
)
from parley_common.logging import request_id_var
from parley_gateway.config import GatewaySettings, route_for
from parley_gateway.paths import edge_refusal, raw_path

HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "trailers",
        "transfer-encoding",
        "upgrade",
        "host",
        "content-length",
        "date",
        "server",
    }
)
UPSTREAM_ROUTE = ROUTE_HEADER.decode()
# The upstream's own: the gateway sends its request id, and uses the route for metrics.
INTERNAL_HEADERS = frozenset({"x-request-id", UPSTREAM_ROUTE})
API_PREFIX = "/api/v1/"
BUFFER_LIMIT = 1024 * 1024  # responses up to this size are read whole; bigger ones stream


class UpstreamUnavailable(DomainError):
    """The service cannot be reached (down, restarting): refused at once, retry shortly."""

    status, code, title = 503, "upstream_unavailable", "Service unavailable"

    def __init__(self, detail: str) -> None:
        super().__init__(detail, headers={"Retry-After": str(UNAVAILABLE_RETRY_AFTER)})


class UpstreamTimeout(DomainError):
    status, code, title = 504, "upstream_timeout", "Service timed out"


def create_client(settings: GatewaySettings) -> aiohttp.ClientSession:
    connector = aiohttp.TCPConnector(
        limit=settings.upstream_connections,
        limit_per_host=0,
        keepalive_timeout=30,
        ttl_dns_cache=300,
    )
    timeout = aiohttp.ClientTimeout(
        total=None, sock_connect=3, sock_read=settings.upstream_timeout_seconds
    )
    return aiohttp.ClientSession(
        connector=connector,
        timeout=timeout,
        auto_decompress=False,
        cookie_jar=aiohttp.DummyCookieJar(),
    )


def client_ip(request: Request) -> str:
    return request.client.host if request.client else "unknown"


async def check_rate_limits(request: Request, settings: GatewaySettings) -> None:
    limiter = request.app.state.rate_limiter
    checks = [(f"ip:{client_ip(request)}", settings.rate_limit_ip_per_minute, 60)]
    auth = request.headers.get("authorization")
    if auth:
        digest = hashlib.sha256(auth.encode()).hexdigest()[:24]
        checks.append((f"token:{digest}", settings.rate_limit_token_per_minute, 60))
    wait = await limiter.hit_all(checks)  # both counters in one round trip
    if wait is not None:
        raise TooManyRequests(wait, "Too many requests; retry after the given seconds.")


def upstream_headers(request: Request) -> dict[str, str]:
    headers = {k: v for k, v in request.headers.items() if k not in HOP_BY_HOP}
    headers["x-request-id"] = request_id_var.get() or ""
    forwarded = request.headers.get("x-forwarded-for")
    ip = client_ip(request)
    headers["x-forwarded-for"] = f"{forwarded}, {ip}" if forwarded else ip
    headers["x-forwarded-proto"] = request.url.scheme
    headers["x-forwarded-host"] = request.headers.get("host", "")
    return headers


async def limited_body(request: Request, limit: int) -> AsyncIterator[bytes]:
    seen = 0
    async for chunk in request.stream():
        seen += len(chunk)
        if seen > limit:
            raise PayloadTooLarge(f"The request body is larger than {limit} bytes.")
        yield chunk


async def request_body(request: Request, limit: int) -> bytes | AsyncIterator[bytes] | None:
    if (
        request.method in ("GET", "HEAD", "OPTIONS", "DELETE")
        and "content-length" not in request.headers
        and "transfer-encoding" not in request.headers
    ):
        return None
    length = request.headers.get("content-length")
    if length is not None and length.isdigit():
        if int(length) > limit:
            raise PayloadTooLarge(f"The request body is larger than {limit} bytes.")
        if int(length) <= BUFFER_LIMIT:
            return await request.body()
    return limited_body(request, limit)


class GatewayApp:
    """The gateway's ASGI entry point: proxied /api/v1 requests take a short path.

    FastAPI's stack (routing, dependency machinery, its own middleware) costs more CPU than
    forwarding a request (bench/gateway_proxy.py), so a request owned by a service goes through
    only the request-id/metrics and CORS middleware to ``forward``. Everything else — the
    gateway's own routes (stream, widget, docs), unknown paths, the lifespan — is FastAPI's.
    """

    def __init__(self, app: FastAPI, cors: dict[str, Any], internal_port: int = 0) -> None:
        self.app = app
        self.internal_port = internal_port
        self.state = app.state
        self._proxy = CORSMiddleware(
            telemetry.wrap_asgi(RequestContextMiddleware(self._forward)), **cors
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        refusal = edge_refusal(scope, self.internal_port) if scope["type"] == "http" else None
        if refusal is not None:
            await refusal(scope, receive, send)
            return
        if scope["type"] == "http" and scope["path"].startswith(API_PREFIX):
            service = route_for(scope["path"][len(API_PREFIX) - 1 :])
            if service is not None and service != "gateway":
                scope["app"] = self.app
                scope["route"] = ProxyRoute(f"{API_PREFIX}* -> {service}")
                scope["parley.service"] = service
                await self._proxy(scope, receive, send)
                return
        await self.app(scope, receive, send)

    async def _forward(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive)
        try:
            response = await forward(request, scope["parley.service"])
        except DomainError as exc:
            response = problem(exc.status, exc.code, exc.title, exc.detail, exc.headers)
        await response(scope, receive, send)


@contextmanager
def upstream_errors(service: str) -> Iterator[None]:
    """A service that cannot be reached or does not answer in time: 502 / 504 problems."""
    try:
        yield
    except aiohttp.ClientConnectionError as exc:
        if isinstance(exc, aiohttp.ServerTimeoutError):
            raise UpstreamTimeout(f"The {service} service did not answer in time.") from exc
        raise UpstreamUnavailable(f"The {service} service is unavailable.") from exc
    except TimeoutError as exc:
        raise UpstreamTimeout(f"The {service} service did not answer in time.") from exc


async def forward(request: Request, service: str) -> Response:
    state = request.app.state
    settings: GatewaySettings = state.settings
    await check_rate_limits(request, settings)
    client: aiohttp.ClientSession = state.http
    # The raw path checked by path_is_safe, sent as it is (yarl would resolve dot-segments).
    url = settings.service_url(service) + raw_path(request.scope)
    if request.url.query:
        url += "?" + request.url.query
    body = await request_body(request, settings.max_body_bytes)
    # A bounded number in flight per service; past it a short wait, then 503 at once. The slot
    # is held until the answer's head (and a small body) is in: a streamed body is only I/O.
    async with state.upstreams[service].slot():
        with upstream_errors(service):
            upstream = await client.request(
                request.method,
                URL(url, encoded=True),
                headers=upstream_headers(request),
                data=body,
                allow_redirects=False,
            )
        route = upstream.headers.get(UPSTREAM_ROUTE)
        if route is not None:
            request.scope["route"] = ProxyRoute(route)
        headers = {
            k: v
            for k, v in upstream.headers.items()
            if k.lower() not in HOP_BY_HOP and k.lower() not in INTERNAL_HEADERS
        }
        if upstream.content_length is not None and upstream.content_length <= BUFFER_LIMIT:
            try:
                content = await upstream.read()
            except (aiohttp.ClientError, TimeoutError) as exc:
                raise UpstreamTimeout(f"The {service} service did not finish its answer.") from exc
            finally:
                upstream.release()
            return Response(content, status_code=upstream.status, headers=headers)
    return StreamingResponse(
        _stream(upstream),
        status_code=upstream.status,
        headers=headers,
        background=BackgroundTask(upstream.release),
    )


async def _stream(upstream: Any) -> AsyncIterator[bytes]:
    async for chunk in upstream.content.iter_chunked(64 * 1024):
        yield chunk
