"""What the gateway refuses before routing: unsafe paths, and internal paths on the public port.

nginx in front refuses such paths already (parley_gateway.nginx); the gateway checks its own
requests again so that it is safe on its own port too.

An HTTP server hands an app the percent-decoded path, and the upstream's URL library resolves
dot-segments, so `/api/v1/auth/..%2f..%2fmetrics` would leave the service prefix it was routed
by. The gateway refuses any path whose segments, decoded once, are `.` or `..` or hold a
slash, backslash or NUL, and forwards the raw (still encoded) path it checked, unchanged.

Readiness and metrics are served on the internal port only (PARLEY_GATEWAY_INTERNAL_PORT, for
probes and Prometheus); the internal port serves nothing else. The process listens on both
sockets and tells them apart by the local address of the connection (scope["server"]).
"""

from __future__ import annotations

from urllib.parse import quote, unquote

from fastapi import FastAPI
from fastapi.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from parley_common.errors import problem

_FORBIDDEN_IN_SEGMENT = ("/", "\\", "\x00")
INTERNAL_PATHS = frozenset({"/readyz", "/metrics"})
# A cheap liveness answer that tells nobody anything; on both ports.
BOTH_PORTS = frozenset({"/healthz"})


def raw_path(scope: Scope) -> str:
    """The path as the client sent it (percent-encoding kept)."""
    raw = scope.get("raw_path")
    if raw:
        return bytes(raw).decode("latin-1").partition("?")[0]
    return quote(scope["path"])


def path_is_safe(path: str) -> bool:
    """False when a segment of the (raw) path is a dot-segment or hides a separator."""
    for segment in path.split("/"):
        decoded = unquote(segment)
        if decoded in (".", "..") or any(c in decoded for c in _FORBIDDEN_IN_SEGMENT):
            return False
    return "\\" not in path


def served_here(scope: Scope, internal_port: int) -> bool:
    """The public port serves everything but INTERNAL_PATHS; the internal port only those."""
    server = scope.get("server")
    internal = bool(internal_port) and server is not None and server[1] == internal_port
    if internal:
        return scope["path"] in INTERNAL_PATHS | BOTH_PORTS
    return scope["path"] not in INTERNAL_PATHS


def edge_refusal(scope: Scope, internal_port: int) -> Response | None:
    """The answer to an HTTP request the gateway must not route, or None to go on."""
    if not path_is_safe(raw_path(scope)):
        detail = "The path has a dot-segment or an encoded separator; send it normalised."
        return problem(400, "invalid_path", "Invalid path", detail)
    if not served_here(scope, internal_port):
        return problem(404, "not_found", "Not found", "No such path on this port.")
    return None


class EdgeGuard:
    """The gateway's ASGI entry point: ``edge_refusal`` before the app sees a request."""

    def __init__(self, app: FastAPI, internal_port: int = 0) -> None:
        self.app: ASGIApp = app
        self.state = app.state
        self.internal_port = internal_port

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        refusal = edge_refusal(scope, self.internal_port) if scope["type"] == "http" else None
        await (refusal or self.app)(scope, receive, send)
