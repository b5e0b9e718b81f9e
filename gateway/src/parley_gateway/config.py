"""Gateway settings and its routing table."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from parley_common.settings import Settings

# (path pattern under /api/v1, owning service); `*` is one path segment. First match wins,
# so the specific patterns come before the prefixes they override.
ROUTES: tuple[tuple[str, str], ...] = (
    ("/stream", "gateway"),
    ("/boot", "gateway"),
    ("/widget/stream", "gateway"),
    ("/visitors/*/conversations", "chat"),
    ("/widget/sessions", "visitors"),
    ("/widget/page-views", "visitors"),
    ("/widget/heartbeat", "visitors"),
    ("/widget/settings", "visitors"),
    ("/widget/visitor", "visitors"),
    ("/widget", "chat"),
    ("/auth", "auth"),
    ("/me/notification-settings", "notify"),
    ("/me", "auth"),
    ("/agents", "auth"),
    ("/invitations", "auth"),
    ("/account", "auth"),
    ("/avatars", "auth"),
    ("/billing", "auth"),
    ("/api-keys", "auth"),
    ("/bug-reports", "auth"),
    ("/app", "auth"),
    ("/devices", "notify"),
    ("/visitors", "visitors"),
    ("/erasures", "visitors"),
    ("/conversations", "chat"),
    ("/attachments", "chat"),
    ("/shortcuts", "chat"),
    ("/stats/chatbots", "bots"),
    ("/stats", "chat"),
    ("/integrations", "chat"),
    ("/webhooks/facebook", "chat"),
    ("/webhooks", "notify"),
    ("/chatbots", "bots"),
    ("/automatic-messages", "bots"),
)

SERVICES = ("auth", "visitors", "chat", "notify", "bots")


class GatewaySettings(Settings):
    max_body_bytes: int = 30 * 1024 * 1024
    # Admission control per upstream service: requests in flight at once. nginx (limit_conn)
    # refuses one more at once with 503 + Retry-After, so this is a service's own limit plus
    # its queue (max_requests_in_flight + admission_queue, 32 + 128): a burst nginx lets
    # through runs or waits briefly in the service's queue (admission_wait_ms), and only what
    # the service could not start within that wait is refused. The gateway's own calls (boot)
    # wait up to upstream_wait_ms for one of these slots (parley_common.admission).
    upstream_in_flight: int = 160
    upstream_wait_ms: int = 250
    # A backstop: with the limits above a healthy service answers long before this.
    upstream_timeout_seconds: float = 10.0
    upstream_connections: int = 200
    # nginx in front (`parley nginx`): worker processes (0 = one per core); its run directory
    # (config, pid, request bodies; default .local/nginx/<port>); the proxies in front of it
    # whose X-Forwarded-For names the client (an Ingress controller; none locally).
    nginx_workers: int = 1
    nginx_run_dir: Path | None = None
    nginx_real_ip_from: list[str] = []
    # Requests per minute per client IP, and per bearer token.
    rate_limit_ip_per_minute: int = 1200
    rate_limit_token_per_minute: int = 600
    cors_origins: list[str] = ["*"]
    # /readyz and /metrics are served only on this port (probes, Prometheus), never on the
    # public one; 0 = not served at all. PARLEY_GATEWAY_INTERNAL_PORT.
    gateway_internal_port: int = 0
    # The agent app's build (`make app`), served at /app/. PARLEY_APP_DIST_DIR.
    app_dist_dir: Path = Path(__file__).resolve().parents[3] / "app" / "dist"


@lru_cache
def get_gateway_settings() -> GatewaySettings:
    return GatewaySettings()


def _index(routes: tuple[tuple[str, str], ...]) -> dict[str, list[tuple[list[str], str]]]:
    """The routes by their first segment, each pattern as its remaining segments."""
    index: dict[str, list[tuple[list[str], str]]] = {}
    for pattern, service in routes:
        first, *rest = pattern.strip("/").split("/")
        index.setdefault(first, []).append((rest, service))
    return index


_ROUTE_INDEX = _index(ROUTES)


def route_for(path: str) -> str | None:
    """The service owning an /api/v1 path (``path`` without the /api/v1 prefix)."""
    first, *rest = path.strip("/").split("/")
    for pattern, service in _ROUTE_INDEX.get(first, ()):
        if len(rest) >= len(pattern) and all(
            p == "*" or p == s for p, s in zip(pattern, rest, strict=False)
        ):
            return service
    return None
