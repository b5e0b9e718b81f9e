"""nginx in front: the public port's proxy, generated from the one routing table (ROUTES).

nginx forwards /api/v1/... straight to the owning service (it costs about a tenth of the
Python proxy's CPU per request: bench/README.md) and sends everything else to the Python
gateway (stream, boot, OpenAPI, docs, widget.js, demo, /app/). It keeps what the gateway's
proxy did: the routing table (a regex `location` per pattern, in ROUTES' first-match order),
rate limits per client address and per Authorization header (429 + Retry-After), the body
limit (413), problem+json for its own refusals, request ids, the forwarded client address,
CORS, and path normalisation (dot-segments and encoded separators never reach a service).
Admission: at most ``upstream_in_flight`` requests at once per service (limit_conn); one
more is refused at once, 503 + Retry-After (nginx has no queue for limit_conn). That limit
is the service's own in-flight limit plus its admission queue: a burst within it is not
refused here but runs or waits briefly at the service (parley_common.admission), which
refuses what it could not start within its wait; past it nginx refuses at about 20 µs of CPU
a refusal, where a refusal by the Python service costs it an HTTP request's parsing.
The upstream keeps as many idle connections as may be in flight, so a burst opens none.
Each request carries the time nginx took it (X-Request-Start): the service's wait counts
from there, so time spent in a starved service's backlog counts against it.

``render(settings, port)`` is the whole config; ``parley nginx`` writes it to a run directory
and runs nginx in the foreground; ``parley nginx-config`` prints it (for Kubernetes/compose).
"""

from __future__ import annotations

import json
import math
import os
import re
import shutil
from pathlib import Path

from parley_common.errors import PROBLEM_JSON, PROBLEM_TYPE_BASE
from parley_common.i18n import LANGUAGES, SOURCE_LANGUAGE, gettext
from parley_gateway.config import ROUTES, SERVICES, GatewaySettings

NGINX = "/usr/sbin/nginx"
# Seconds a websocket may stay quiet (the gateway pings every 20 s) before nginx cuts it.
STREAM_READ_TIMEOUT = 3600
UNAVAILABLE_RETRY_AFTER = 2  # parley_common.errors.UNAVAILABLE_RETRY_AFTER
OVERLOADED_RETRY_AFTER = 1
INVALID_PATH_DETAIL = "The path has a dot-segment or an encoded separator; send it normalised."

# A request line whose raw path (before the query) has a segment `.`/`..` (maybe
# percent-encoded), or an encoded slash, backslash or NUL, or a literal backslash: refused
# before routing. The request line, not $request_uri: that is empty when nginx's own URI
# parser refused the path (`/..` above the root). (`\\\\` in the config is one backslash in
# the regex: nginx unescapes quoted strings.)
UNSAFE_PATH = r"^\S+ [^? ]*(/(\.|%2e){1,2}(/|\?| |$)|%2f|%5c|%00|\\\\)"


def location_regex(pattern: str) -> str:
    """A ROUTES pattern (under /api/v1, `*` one segment) as the regex route_for matches."""
    segments = ["[^/]+" if s == "*" else re.escape(s) for s in pattern.strip("/").split("/")]
    return "^/api/v1/" + "/".join(segments) + "(/|$)"


def retry_after_429(settings: GatewaySettings) -> int:
    """Seconds until the stricter of the two buckets lets one more request through."""
    per_minute = min(settings.rate_limit_ip_per_minute, settings.rate_limit_token_per_minute)
    return max(1, math.ceil(60 / max(per_minute, 1)))


def _problem_location(
    name: str, status: int, code: str, title: str, detail: str, retry_after: int | None = None
) -> str:
    text = json.dumps(_body(status, code, title, detail))
    retry = f"\n        add_header Retry-After {retry_after} always;" if retry_after else ""
    return f"""
    location @{name} {{
        default_type {PROBLEM_JSON};{retry}
        add_header X-Request-Id $parley_request_id always;
        add_header Access-Control-Allow-Origin $cors_origin always;
        add_header Access-Control-Expose-Headers $cors_expose always;
        return {status} '{text}';
    }}"""


def _problems(settings: GatewaySettings) -> str:
    limit = settings.max_body_bytes
    unavailable = "The service is unavailable; retry after the given seconds."
    invalid_path = json.dumps(_body(400, "invalid_path", "Invalid path", INVALID_PATH_DETAIL))
    bad_request = json.dumps(_body(400, "bad_request", "Bad request", "Bad request"))
    return "".join(
        [
            # nginx's own 400s and unsafe paths: invalid_path for those, else a malformed request.
            f"""
    location = /_parley/bad_request {{
        internal;
        default_type {PROBLEM_JSON};
        add_header X-Request-Id $parley_request_id always;
        if ($parley_unsafe_path) {{
            return 400 '{invalid_path}';
        }}
        return 400 '{bad_request}';
    }}""",
            _problem_location("not_found", 404, "not_found", "Not found", "No such path."),
            _problem_location(
                "payload_too_large",
                413,
                "payload_too_large",
                "Payload too large",
                f"The request body is larger than {limit} bytes.",
            ),
            _problem_location(
                "rate_limited",
                429,
                "rate_limited",
                "Too many requests",
                "Too many requests; retry after the given seconds.",
                retry_after_429(settings),
            ),
            _problem_location(
                "internal_error", 500, "internal_error", "Internal error", "Internal error"
            ),
            # The service cannot be reached (down, restarting): nginx's 502 answered as 503.
            _problem_location(
                "upstream_unavailable",
                503,
                "upstream_unavailable",
                "Service unavailable",
                unavailable,
                UNAVAILABLE_RETRY_AFTER,
            ),
            _problem_location(
                "overloaded",
                503,
                "overloaded",
                "Service overloaded",
                "Too many requests in progress; retry after the given seconds.",
                OVERLOADED_RETRY_AFTER,
            ),
            _problem_location(
                "upstream_timeout",
                504,
                "upstream_timeout",
                "Service timed out",
                "The service did not answer in time.",
            ),
        ]
    )


def _body(status: int, code: str, title: str, detail: str) -> dict[str, object]:
    return {
        "type": PROBLEM_TYPE_BASE + code,
        "title": f"${_title_variable(title)}",  # in the client's language (_title_maps)
        "status": status,
        "detail": detail,
        "code": code,
        "request_id": "$parley_request_id",
    }


TITLES = (
    "Invalid path",
    "Bad request",
    "Not found",
    "Payload too large",
    "Too many requests",
    "Internal error",
    "Service unavailable",
    "Service overloaded",
    "Service timed out",
)


def _title_variable(title: str) -> str:
    return "parley_title_" + title.lower().replace(" ", "_")


def _title_maps() -> str:
    """Problem titles in the Accept-Language's first language, as the services answer them
    (parley_common.i18n catalogues); nginx looks at the first language only, not q-values."""
    languages = "".join(
        f'\n    "~*^\\s*{lang}" {lang};' for lang in LANGUAGES if lang != SOURCE_LANGUAGE
    )
    maps = [f"\nmap $http_accept_language $parley_language {{\n    default en;{languages}\n}}"]
    for title in TITLES:
        translated = {lang: gettext(lang, title) for lang in LANGUAGES}
        assert not any(c in t for t in translated.values() for c in '"\\$'), title
        entries = "".join(f'\n    {lang} "{text}";' for lang, text in translated.items())
        maps.append(
            f"\nmap $parley_language ${_title_variable(title)} {{\n"
            f'    default "{title}";{entries}\n}}'
        )
    return "".join(maps)


def _cors_maps(settings: GatewaySettings) -> str:
    """Access-Control-Allow-Origin as the gateway's CORSMiddleware answers it: only to a
    request with an Origin; `*` when every origin is allowed, else the origin if listed."""
    if "*" in settings.cors_origins:
        origins = '    "" "";\n    default "*";'
    else:
        listed = "".join(f'    "{o}" "{o}";\n' for o in settings.cors_origins)
        origins = f'    default "";\n{listed}'.rstrip("\n")
    return f"""
map $http_origin $cors_origin {{
{origins}
}}
map $cors_origin $cors_expose {{
    "" "";
    default "x-request-id, retry-after, etag";
}}
map "$request_method:$cors_origin:$http_access_control_request_method" $cors_preflight {{
    default 0;
    "~^OPTIONS:.+:.+$" 1;
}}"""


PROXY_HEADERS = """
        proxy_set_header Host $host;
        proxy_set_header X-Request-Id $parley_request_id;
        proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
        proxy_set_header X-Real-IP $remote_addr;
        proxy_set_header X-Forwarded-Proto $scheme;
        proxy_set_header X-Forwarded-Host $host;
        proxy_set_header X-Request-Start "t=$msec";"""


def _burst(per_minute: int) -> str:
    """N requests at once, then N per minute: a bucket of N (nginx counts the first apart)."""
    return f" burst={per_minute - 1}" if per_minute > 1 else ""


def _service_location(pattern: str, service: str, settings: GatewaySettings) -> str:
    return f"""
    location ~ {location_regex(pattern)} {{
        set $parley_service {service};
        limit_conn upstream {settings.upstream_in_flight};
        limit_req zone=per_address{_burst(settings.rate_limit_ip_per_minute)} nodelay;
        limit_req zone=per_token{_burst(settings.rate_limit_token_per_minute)} nodelay;
        if ($cors_preflight) {{
            add_header Access-Control-Allow-Origin $cors_origin;
            add_header Access-Control-Allow-Methods "DELETE, GET, HEAD, OPTIONS, PATCH, POST, PUT";
            add_header Access-Control-Allow-Headers $http_access_control_request_headers;
            add_header Access-Control-Max-Age 600;
            add_header Vary Origin;
            return 204;
        }}
        add_header Access-Control-Allow-Origin $cors_origin always;
        add_header Access-Control-Expose-Headers $cors_expose always;
        proxy_pass http://{service};{PROXY_HEADERS}
        proxy_set_header Connection "";
    }}"""


def _gateway_location(location: str) -> str:
    """The Python gateway's own paths; websockets (the stream) pass through, each on a
    connection of its own ($gateway_upstream)."""
    return f"""
    location {location} {{
        proxy_pass http://$gateway_upstream;{PROXY_HEADERS}
        proxy_set_header Upgrade $http_upgrade;
        proxy_set_header Connection $connection_upgrade;
        proxy_read_timeout {STREAM_READ_TIMEOUT}s;
        proxy_send_timeout {STREAM_READ_TIMEOUT}s;
    }}"""


def _real_ip(settings: GatewaySettings) -> str:
    """Behind another proxy (an Ingress controller): the client's address from its
    X-Forwarded-For, so limits and the forwarded address are the client's, not the proxy's."""
    if not settings.nginx_real_ip_from:
        return ""
    trusted = "".join(f"\n    set_real_ip_from {cidr};" for cidr in settings.nginx_real_ip_from)
    return f"{trusted}\n    real_ip_header X-Forwarded-For;\n    real_ip_recursive on;"


# nginx closes an idle upstream connection after this; services keep one open longer
# (parley_common.cli.KEEP_ALIVE_SECONDS), so nginx never reuses one a service is closing.
UPSTREAM_IDLE_SECONDS = 60


def _upstream(name: str, url: str, keepalive: int) -> str:
    """``keepalive`` 0: no pool, a connection per request (websocket upgrades: the gateway
    closes the connection of a refused handshake, which a pool could reuse: a 502)."""
    address = url.split("://", 1)[-1].rstrip("/")
    pool = (
        f"""
    keepalive {keepalive};
    keepalive_timeout {UPSTREAM_IDLE_SECONDS}s;"""
        if keepalive
        else ""
    )
    return f"""
upstream {name} {{
    server {address};{pool}
}}"""


def render(settings: GatewaySettings, port: int, run_dir: Path | None = None) -> str:
    """The whole nginx config; ``run_dir`` holds the pid file and temp files (None: nginx's
    prefix, given with -p)."""
    prefix = f"{run_dir}/" if run_dir is not None else ""
    locations = "".join(
        _gateway_location(f"~ {location_regex(pattern)}")
        if service == "gateway"
        else _service_location(pattern, service, settings)
        for pattern, service in ROUTES
    )
    upstreams = "".join(
        _upstream(s, settings.service_url(s), settings.upstream_in_flight)
        for s in (*SERVICES, "gateway")
    ) + _upstream("gateway_upgrade", settings.service_url("gateway"), 0)
    workers = settings.nginx_workers or "auto"
    timeout_ms = int(settings.upstream_timeout_seconds * 1000)
    per_address, per_token = settings.rate_limit_ip_per_minute, settings.rate_limit_token_per_minute
    return f"""# Generated by `parley nginx-config` from parley_gateway.config.ROUTES: do not edit.
worker_processes {workers};
pid {prefix}nginx.pid;
error_log stderr warn;
events {{
    worker_connections 4096;
}}
http {{
    access_log off;
    server_tokens off;
    client_body_temp_path {prefix}client_body;
    proxy_temp_path {prefix}proxy;
    fastcgi_temp_path {prefix}fastcgi;
    uwsgi_temp_path {prefix}uwsgi;
    scgi_temp_path {prefix}scgi;

    client_max_body_size {settings.max_body_bytes};
    client_body_buffer_size 1m;
    proxy_http_version 1.1;
    proxy_connect_timeout 3s;
    proxy_read_timeout {timeout_ms}ms;
    proxy_send_timeout {timeout_ms}ms;
    proxy_next_upstream off;
    proxy_hide_header X-Parley-Route;
    proxy_buffers 16 16k;

    map $http_x_request_id $parley_request_id {{
        default $request_id;
        "~^[A-Za-z0-9._:-]{{1,128}}$" $http_x_request_id;
    }}
    map $request $parley_unsafe_path {{
        default 0;
        "~*{UNSAFE_PATH}" 1;
    }}
    map $http_upgrade $connection_upgrade {{
        default upgrade;
        "" "";
    }}
    map $http_upgrade $gateway_upstream {{
        default gateway_upgrade;
        "" gateway;
    }}{_cors_maps(settings)}{_title_maps()}

{_real_ip(settings)}
    limit_req_zone $binary_remote_addr zone=per_address:10m rate={per_address}r/m;
    limit_req_zone $http_authorization zone=per_token:20m rate={per_token}r/m;
    limit_req_status 429;
    limit_conn_zone $parley_service zone=upstream:1m;
    limit_conn_status 503;
    limit_conn_log_level warn;
    limit_req_log_level warn;
{upstreams}

    server {{
        listen {settings.host}:{port};
        set $parley_service "";
        # A URI, not a named location: a request line nginx cannot parse has no URI to keep.
        if ($parley_unsafe_path) {{
            rewrite ^ /_parley/bad_request last;
        }}
        error_page 400 /_parley/bad_request;
        error_page 404 @not_found;
        error_page 413 @payload_too_large;
        error_page 429 @rate_limited;
        error_page 500 @internal_error;
        error_page 502 =503 @upstream_unavailable;
        error_page 503 @overloaded;
        error_page 504 @upstream_timeout;

        # Readiness and metrics: never on the public port (the gateway's internal port).
        location = /readyz {{
            return 404;
        }}
        location = /metrics {{
            return 404;
        }}
        # An /api/v1 path no route owns.
        location /api/v1/ {{
            return 404;
        }}
{_gateway_location("/")}
{locations}
{_problems(settings)}
    }}
}}
"""


def run_dir_for(settings: GatewaySettings, port: int) -> Path:
    return settings.nginx_run_dir or Path.cwd() / ".local" / "nginx" / str(port)


def nginx_binary() -> str:
    return shutil.which("nginx") or NGINX


# Admission only holds if the process that refuses gets the CPU to refuse: on a machine
# saturated by the work it admits (or by anything else) nginx at the same priority as the
# services answered refusals in seconds (bench/README.md). Its workers run at this nice
# value where the process may raise its priority (root on a development box); elsewhere
# (Kubernetes, non-root) nginx has its own CPU request and this is left out.
WORKER_PRIORITY = -5


def nginx_argv(run_dir: Path, conf: Path) -> list[str]:
    """nginx in the foreground, errors to stderr. Started as root (a development box), its
    workers stay root too: they must write request bodies into the run directory; and they
    run ahead of the services (WORKER_PRIORITY)."""
    root = os.geteuid() == 0
    main = "daemon off;" + (f" user root; worker_priority {WORKER_PRIORITY};" if root else "")
    return [nginx_binary(), "-e", "stderr", "-p", str(run_dir), "-c", str(conf), "-g", main]


def exec_nginx(settings: GatewaySettings, port: int, run_dir: Path) -> None:
    """Write the config into ``run_dir`` and become nginx, in the foreground."""
    run_dir.mkdir(parents=True, exist_ok=True)
    conf = run_dir / "nginx.conf"
    conf.write_text(render(settings, port, run_dir))
    argv = nginx_argv(run_dir, conf)
    os.execv(argv[0], argv)  # noqa: S606 -- nginx takes this process's place (Procfile)
