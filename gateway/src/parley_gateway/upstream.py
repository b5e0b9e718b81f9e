"""The gateway's own calls to the services (GET /api/v1/boot) with one pooled client.

The public /api/v1 proxy is nginx's (parley_gateway.nginx); what stays here is what the
gateway's own routes need: the client, the caller's headers for an internal call, the
gateway's rate limits for its own API routes, and 502/504 as problems.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager

import aiohttp
from fastapi import Request

from parley_common.errors import UNAVAILABLE_RETRY_AFTER, DomainError, TooManyRequests
from parley_common.logging import request_id_var
from parley_common.security import client_ip, trusted_proxy
from parley_gateway.config import GatewaySettings

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
# Not on an internal call either: nginx's X-Request-Start dates the caller's request, and a
# service counts its admission wait from it; the gateway's call is a new request (its own
# admission guards it). Passed on, the gateway's own time before the call (a cold boot's
# first reads on a slow machine) counted as queueing, and the service refused it (503).
NOT_PASSED_ON = HOP_BY_HOP | {"x-request-start"}


class UpstreamUnavailable(DomainError):
    """The service cannot be reached (down, restarting): refused at once, retry shortly."""

    status, code, title = 503, "upstream_unavailable", "Service unavailable"

    def __init__(self, detail: str) -> None:
        super().__init__(detail, headers={"Retry-After": str(UNAVAILABLE_RETRY_AFTER)})


class UpstreamTimeout(DomainError):
    status, code, title = 504, "upstream_timeout", "Service timed out"


# The pool gives up an idle connection before the service would
# (parley_common.cli.KEEP_ALIVE_SECONDS).
IDLE_SECONDS = 30


def create_client(settings: GatewaySettings) -> aiohttp.ClientSession:
    connector = aiohttp.TCPConnector(
        limit=settings.upstream_connections,
        limit_per_host=0,
        keepalive_timeout=IDLE_SECONDS,
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
    """The caller's headers for an internal call, with the request id and the client's
    address: X-Forwarded-For as nginx sent it (its last hop is the client), else the peer."""
    headers = {k: v for k, v in request.headers.items() if k not in NOT_PASSED_ON}
    headers["x-request-id"] = request_id_var.get() or ""
    forwarded = request.headers.get("x-forwarded-for")
    peer = request.client.host if request.client else "unknown"
    if not (forwarded and trusted_proxy(peer)):
        headers["x-forwarded-for"] = f"{forwarded}, {peer}" if forwarded else peer
    headers.setdefault("x-forwarded-proto", request.url.scheme)
    headers.setdefault("x-forwarded-host", request.headers.get("host", ""))
    return headers


@contextmanager
def upstream_errors(service: str) -> Iterator[None]:
    """A service that cannot be reached or does not answer in time: 503 / 504 problems."""
    try:
        yield
    except aiohttp.ClientConnectionError as exc:
        if isinstance(exc, aiohttp.ServerTimeoutError):
            raise UpstreamTimeout(f"The {service} service did not answer in time.") from exc
        raise UpstreamUnavailable(f"The {service} service is unavailable.") from exc
    except TimeoutError as exc:
        raise UpstreamTimeout(f"The {service} service did not answer in time.") from exc
