"""The request path as the gateway checks it before routing.

An HTTP server hands an app the percent-decoded path, and the upstream's URL library resolves
dot-segments, so `/api/v1/auth/..%2f..%2fmetrics` would leave the service prefix it was routed
by. The gateway refuses any path whose segments, decoded once, are `.` or `..` or hold a
slash, backslash or NUL, and forwards the raw (still encoded) path it checked, unchanged.
"""

from __future__ import annotations

from urllib.parse import quote, unquote

from starlette.types import Scope

_FORBIDDEN_IN_SEGMENT = ("/", "\\", "\x00")


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
