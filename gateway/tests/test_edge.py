"""The gateway's own edge (behind nginx, and on its own port): unsafe paths are refused before
any route, and readiness and metrics are served on the internal port only."""

from __future__ import annotations

import json
from urllib.parse import unquote

import pytest
from starlette.requests import Request

from parley_common.testing import free_port, running_app
from parley_gateway.app import create_app
from parley_gateway.config import GatewaySettings
from parley_gateway.upstream import upstream_headers


def gateway_settings(**overrides) -> GatewaySettings:
    return GatewaySettings(**{"bots_url": f"http://127.0.0.1:{free_port()}"} | overrides)


async def asgi_get(app, raw_path: bytes, port: int = 80) -> tuple[int, dict]:
    """A GET with the path exactly as given (an HTTP client would resolve its dot-segments)."""
    path, _, query = raw_path.partition(b"?")
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": unquote(path.decode()),
        "raw_path": path,
        "query_string": query,
        "root_path": "",
        "headers": [(b"host", b"testserver")],
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", port),
    }
    sent: list[dict] = []

    async def receive() -> dict:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict) -> None:
        sent.append(message)

    await app(scope, receive, send)
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    headers = dict(sent[0]["headers"])
    if headers.get(b"content-type", b"").startswith(b"text/plain"):
        return sent[0]["status"], {"_text": body.decode(), "_headers": headers}
    return sent[0]["status"], {**json.loads(body), "_headers": headers}


@pytest.mark.parametrize(
    "path",
    [
        b"/api/v1/boot/../../../metrics",
        b"/api/v1/boot/..%2f..%2f..%2finternal/jwks",
        b"/api/v1/boot/%2e%2e/%2e%2e/%2e%2e/openapi.json",
        b"/api/v1/boot/.%2E/x",
        b"/api/v1/boot/a%5c..%5c..%5cmetrics",
        b"/api/v1/boot/./x",
        b"/api/v1/../metrics",
        b"/api/v1/boot/%2fetc",
        b"/api/v1/boot/a%00b",
    ],
)
async def test_dot_segments_and_encoded_separators_are_refused(path: bytes) -> None:
    app = create_app(gateway_settings())
    async with running_app(app):
        status, body = await asgi_get(app, path)
    assert status == 400
    assert body["code"] == "invalid_path"
    assert body["_headers"][b"content-type"] == b"application/problem+json"


async def test_readiness_and_metrics_only_on_the_internal_port() -> None:
    app = create_app(gateway_settings(gateway_internal_port=9999))
    async with running_app(app):
        public = {path: await asgi_get(app, path) for path in (b"/readyz", b"/metrics")}
        liveness = await asgi_get(app, b"/healthz")
        metrics = await asgi_get(app, b"/metrics", port=9999)
        ready = await asgi_get(app, b"/readyz", port=9999)
        api_on_internal = await asgi_get(app, b"/api/v1/chatbots", port=9999)
    for status, body in public.values():
        assert (status, body["code"]) == (404, "not_found")
    assert liveness[0] == 200
    assert metrics[0] == 200 and "parley_http_request" in metrics[1]["_text"]
    assert ready[0] in (200, 503) and "checks" in ready[1]
    assert api_on_internal[0] == 404


def test_the_gateways_own_calls_do_not_pass_on_nginxs_request_start() -> None:
    """A service counts its admission wait from X-Request-Start; the boot's calls are new
    requests, so the time the gateway spent before them must not count as queueing there."""
    request = Request(
        {
            "type": "http",
            "method": "GET",
            "path": "/api/v1/boot",
            "headers": [
                (b"authorization", b"Bearer t"),
                (b"x-request-start", b"t=1795920163.267"),
                (b"connection", b"keep-alive"),
            ],
            "client": ("127.0.0.1", 5000),
            "scheme": "http",
            "server": ("127.0.0.1", 8000),
            "query_string": b"",
        }
    )
    headers = upstream_headers(request)
    assert headers["authorization"] == "Bearer t"
    assert "x-request-start" not in headers and "connection" not in headers
