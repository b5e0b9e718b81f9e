"""The gateway's proxy against a real upstream HTTP server on localhost."""

from __future__ import annotations

import asyncio
import hashlib
import json
from urllib.parse import unquote

import httpx
import pytest
from aiohttp import web

from parley_common.testing import eventually, free_port, running_app
from parley_gateway.app import create_app
from parley_gateway.config import GatewaySettings, route_for


@pytest.fixture
async def upstream():
    """A stand-in `bots` service: echoes, streams, sleeps, and records what it received."""
    seen: list[dict] = []

    async def echo(request: web.Request) -> web.Response:
        body = await request.read()
        seen.append({"path": request.path_qs, "headers": dict(request.headers), "body": body})
        return web.json_response(
            {
                "path": request.path_qs,
                "method": request.method,
                "size": len(body),
                "sha256": hashlib.sha256(body).hexdigest(),
            },
            status=201 if request.method == "POST" else 200,
            headers={"X-Upstream": "bots"},
        )

    async def big(request: web.Request) -> web.StreamResponse:
        resp = web.StreamResponse(headers={"Content-Type": "application/octet-stream"})
        await resp.prepare(request)
        for _ in range(40):
            await resp.write(b"x" * 65536)
        await resp.write_eof()
        return resp

    async def slow(request: web.Request) -> web.Response:
        await asyncio.sleep(5)
        return web.json_response({})

    async def hold(request: web.Request) -> web.Response:
        seen.append({"path": request.path_qs, "held": True})
        await release.wait()
        return web.json_response({"held": True})

    release = asyncio.Event()

    async def let_go(request: web.Request) -> web.Response:
        release.set()
        return web.json_response({})

    app = web.Application(client_max_size=64 * 1024 * 1024)
    app.router.add_route("*", "/api/v1/chatbots/slow", slow)
    app.router.add_route("*", "/api/v1/chatbots/hold", hold)
    app.router.add_route("*", "/api/v1/chatbots/release", let_go)
    app.router.add_route("*", "/api/v1/chatbots/big", big)
    app.router.add_route("*", "/api/v1/{tail:.*}", echo)
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    yield f"http://127.0.0.1:{port}", seen
    release.set()
    await runner.cleanup()


def gateway_settings(upstream_url: str, **overrides) -> GatewaySettings:
    return GatewaySettings(
        **{"bots_url": upstream_url, "chat_url": upstream_url, "upstream_timeout_seconds": 1.0}
        | overrides
    )


async def test_forwards_method_path_query_body_and_headers(upstream) -> None:
    url, seen = upstream
    async with running_app(create_app(gateway_settings(url))) as client:
        resp = await client.post(
            "/api/v1/chatbots?x=1",
            json={"name": "Welcome"},
            headers={"Authorization": "Bearer abc", "X-Request-ID": "rid-1"},
        )
    assert resp.status_code == 201
    assert resp.json()["path"] == "/api/v1/chatbots?x=1"
    assert resp.headers["x-upstream"] == "bots"
    assert resp.headers["x-request-id"] == "rid-1"
    got = seen[-1]["headers"]
    assert got["Authorization"] == "Bearer abc"
    assert got["X-Request-ID"] == "rid-1"
    assert got["X-Forwarded-For"] == "127.0.0.1"
    assert seen[-1]["body"] == b'{"name":"Welcome"}'


async def test_routes_visitor_conversations_to_chat() -> None:
    assert route_for("/visitors/123/conversations") == "chat"
    assert route_for("/visitors/123") == "visitors"
    assert route_for("/widget/messages") == "chat"
    assert route_for("/widget/sessions") == "visitors"
    assert route_for("/me/notification-settings") == "notify"
    assert route_for("/me") == "auth"
    assert route_for("/media") is None


async def test_streams_large_upload_and_download(upstream) -> None:
    url, _ = upstream
    payload = b"p" * (3 * 1024 * 1024)

    async def chunks():
        for i in range(0, len(payload), 256 * 1024):
            yield payload[i : i + 256 * 1024]

    async with running_app(create_app(gateway_settings(url))) as client:
        up = await client.post("/api/v1/chatbots/upload", content=chunks())
        down = await client.get("/api/v1/chatbots/big")
    assert up.json()["size"] == len(payload)
    assert up.json()["sha256"] == hashlib.sha256(payload).hexdigest()
    assert down.status_code == 200 and len(down.content) == 40 * 65536


async def test_body_over_limit_is_413_and_not_forwarded(upstream) -> None:
    url, seen = upstream
    async with running_app(create_app(gateway_settings(url, max_body_bytes=1000))) as client:
        resp = await client.post("/api/v1/chatbots", content=b"x" * 2000)
    assert resp.status_code == 413
    assert resp.json()["code"] == "payload_too_large"
    assert seen == []


async def test_slow_upstream_is_504(upstream) -> None:
    url, _ = upstream
    async with running_app(create_app(gateway_settings(url))) as client:
        resp = await client.get("/api/v1/chatbots/slow")
    assert resp.status_code == 504
    assert resp.headers["content-type"] == "application/problem+json"
    assert resp.json()["code"] == "upstream_timeout"


async def test_down_upstream_is_503_with_retry_after() -> None:
    dead = f"http://127.0.0.1:{free_port()}"
    async with running_app(create_app(gateway_settings(dead))) as client:
        resp = await client.get("/api/v1/chatbots")
    assert resp.status_code == 503
    assert resp.headers["content-type"] == "application/problem+json"
    assert resp.headers["retry-after"] == "2"
    assert resp.json()["code"] == "upstream_unavailable"


async def test_rate_limit_per_token_gives_429_with_retry_after(upstream) -> None:
    url, _ = upstream
    settings = gateway_settings(url, rate_limit_token_per_minute=3)
    headers = {"Authorization": f"Bearer limit-{free_port()}"}
    async with running_app(create_app(settings)) as client:
        statuses = [
            (await client.get("/api/v1/chatbots", headers=headers)).status_code for _ in range(4)
        ]
        limited = await client.get("/api/v1/chatbots", headers=headers)
        other = await client.get("/api/v1/chatbots", headers={"Authorization": "Bearer other"})
    assert statuses == [200, 200, 200, 429]
    assert limited.status_code == 429 and int(limited.headers["retry-after"]) >= 1
    assert limited.json()["code"] == "rate_limited"
    assert other.status_code == 200


async def test_cors_preflight_for_widget_origins(upstream) -> None:
    url, _ = upstream
    async with running_app(create_app(gateway_settings(url))) as client:
        resp = await client.options(
            "/api/v1/widget/messages",
            headers={
                "Origin": "https://shop.example",
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "authorization,content-type",
            },
        )
    assert resp.status_code == 200
    assert resp.headers["access-control-allow-origin"] in ("*", "https://shop.example")


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
        b"/api/v1/chatbots/../../../metrics",
        b"/api/v1/chatbots/..%2f..%2f..%2finternal/jwks",
        b"/api/v1/chatbots/%2e%2e/%2e%2e/%2e%2e/openapi.json",
        b"/api/v1/chatbots/.%2E/x",
        b"/api/v1/chatbots/a%5c..%5c..%5cmetrics",
        b"/api/v1/chatbots/./x",
        b"/api/v1/../metrics",
        b"/api/v1/chatbots/%2fetc",
        b"/api/v1/chatbots/a%00b",
    ],
)
async def test_dot_segments_and_encoded_separators_are_refused(upstream, path: bytes) -> None:
    url, seen = upstream
    app = create_app(gateway_settings(url))
    async with running_app(app):
        status, body = await asgi_get(app, path)
    assert status == 400
    assert body["code"] == "invalid_path"
    assert body["_headers"][b"content-type"] == b"application/problem+json"
    assert seen == []


async def test_upstream_gets_the_raw_path_it_was_routed_by(upstream) -> None:
    url, _ = upstream
    app = create_app(gateway_settings(url))
    async with running_app(app):
        status, body = await asgi_get(app, b"/api/v1/chatbots/%252e%252e/a%20b?q=%2e%2e")
    assert status == 200
    assert body["path"] == "/api/v1/chatbots/%252e%252e/a%20b?q=%2e%2e"


async def test_readiness_and_metrics_only_on_the_internal_port(upstream) -> None:
    url, _ = upstream
    app = create_app(gateway_settings(url, gateway_internal_port=9999))
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


async def test_a_full_upstream_is_refused_at_once_with_503_and_retry_after(upstream) -> None:
    url, seen = upstream
    # The held request must outlive the steps below however busy the machine is.
    settings = gateway_settings(
        url, upstream_in_flight=1, upstream_wait_ms=20, upstream_timeout_seconds=60
    )
    async with running_app(create_app(settings)) as client:
        held = asyncio.create_task(client.get("/api/v1/chatbots/hold"))
        await eventually(lambda: any(s.get("held") for s in seen))
        refused = await client.post("/api/v1/chatbots", json={"name": "x"})
        other_service = await client.get("/api/v1/widget/messages")  # chat: its own limit
        assert not held.done()  # refused while the upstream is still busy
        async with httpx.AsyncClient() as direct:  # straight to the upstream, not the gateway
            await direct.post(f"{url}/api/v1/chatbots/release")
        assert (await held).status_code == 200
        after = await client.post("/api/v1/chatbots", json={"name": "y"})
    assert refused.status_code == 503
    assert refused.headers["content-type"] == "application/problem+json"
    assert refused.headers["retry-after"] == "1"
    assert refused.json()["code"] == "overloaded"
    assert [s["body"] for s in seen if "body" in s and s["path"] == "/api/v1/chatbots"] == [
        b'{"name":"y"}'
    ]  # the refused request never reached the service
    assert other_service.status_code == 200
    assert after.status_code == 201
