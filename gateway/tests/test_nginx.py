"""nginx in front, with the config generated from ROUTES, against stand-in services on
localhost: each records what reached it and says who it is (real nginx, real HTTP)."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import subprocess
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from aiohttp import web

from parley_common.cli import KEEP_ALIVE_SECONDS
from parley_common.testing import eventually, free_port
from parley_gateway.config import ROUTES, SERVICES, GatewaySettings, route_for
from parley_gateway.nginx import UPSTREAM_IDLE_SECONDS, location_regex, nginx_argv, render
from parley_gateway.upstream import IDLE_SECONDS


@dataclass
class Upstream:
    """A stand-in service: echoes, streams, sleeps, holds; records every request."""

    name: str
    seen: list[dict] = field(default_factory=list)
    release: asyncio.Event = field(default_factory=asyncio.Event)
    url: str = ""

    async def echo(self, request: web.Request) -> web.Response:
        body = await request.read()
        peer = request.transport.get_extra_info("peername") if request.transport else None
        self.seen.append(
            {"path": request.path_qs, "headers": request.headers.copy(), "body": body, "peer": peer}
        )
        return web.json_response(
            {
                "service": self.name,
                "path": request.path_qs,
                "size": len(body),
                "sha256": hashlib.sha256(body).hexdigest(),
            },
            status=201 if request.method == "POST" else 200,
            # What a service answers: its route template (internal) and the request id.
            headers={
                "X-Parley-Route": "/api/v1/internal-template",
                "X-Request-Id": request.headers.get("X-Request-Id", ""),
            },
        )

    async def big(self, request: web.Request) -> web.StreamResponse:
        resp = web.StreamResponse(headers={"Content-Type": "application/octet-stream"})
        await resp.prepare(request)
        for _ in range(40):
            await resp.write(b"x" * 65536)
        await resp.write_eof()
        return resp

    async def slow(self, request: web.Request) -> web.Response:
        await asyncio.sleep(5)
        return web.json_response({})

    async def hold(self, request: web.Request) -> web.Response:
        self.seen.append({"path": request.path_qs, "held": True})
        await self.release.wait()
        return web.json_response({"held": True})

    def app(self) -> web.Application:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/api/v1/chatbots/slow", self.slow)
        app.router.add_route("*", "/api/v1/chatbots/hold", self.hold)
        app.router.add_route("*", "/api/v1/chatbots/big", self.big)
        app.router.add_route("*", "/{tail:.*}", self.echo)
        return app


@dataclass
class Front:
    url: str
    upstreams: dict[str, Upstream]


@contextlib.asynccontextmanager
async def running_front(tmp_path: Path, **overrides: object) -> AsyncIterator[Front]:
    """Stand-ins for every service and the gateway, and nginx in front of them."""
    upstreams = {name: Upstream(name) for name in (*SERVICES, "gateway")}
    runners = []
    for upstream in upstreams.values():
        runner = web.AppRunner(upstream.app())
        await runner.setup()
        port = free_port()
        await web.TCPSite(runner, "127.0.0.1", port).start()
        upstream.url = f"http://127.0.0.1:{port}"
        runners.append(runner)
    urls = {f"{name}_url": up.url for name, up in upstreams.items()}
    settings = GatewaySettings(**{"upstream_timeout_seconds": 1.0, **urls, **overrides})
    port = free_port()
    (tmp_path / "nginx.conf").write_text(render(settings, port, tmp_path))
    log = open(tmp_path / "nginx.log", "ab")
    nginx = subprocess.Popen(
        nginx_argv(tmp_path, tmp_path / "nginx.conf"),
        stdout=log,
        stderr=log,
    )
    url = f"http://127.0.0.1:{port}"
    try:

        async def answers() -> bool:
            assert nginx.poll() is None, (tmp_path / "nginx.log").read_text()
            with contextlib.suppress(httpx.HTTPError):
                async with httpx.AsyncClient() as client:
                    return (await client.get(url + "/healthz")).status_code == 200
            return False

        await eventually(answers, timeout=30)
        yield Front(url, upstreams)
    finally:
        nginx.terminate()
        nginx.wait(10)
        for upstream in upstreams.values():
            upstream.release.set()
        for runner in runners:
            await runner.cleanup()


async def raw_request(url: str, request_line: str) -> tuple[int, dict[str, str], bytes]:
    """A request with the path byte for byte (an HTTP client would normalise it)."""
    host, port = url.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    writer.write(f"{request_line}\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
    raw = await asyncio.wait_for(reader.read(), 15)
    writer.close()
    head, _, body = raw.partition(b"\r\n\r\n")
    status_line, *lines = head.decode("latin-1").split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, _, v in (x.partition(":") for x in lines)}
    return int(status_line.split()[1]), headers, body


def assert_problem(resp: httpx.Response, status: int, code: str) -> None:
    assert resp.status_code == status, resp.text
    assert resp.headers["content-type"] == "application/problem+json"
    assert resp.json()["code"] == code
    assert resp.json()["request_id"] == resp.headers["x-request-id"]


async def test_every_route_reaches_the_service_route_for_names(tmp_path) -> None:
    paths = [pattern.replace("*", "x1") for pattern, _ in ROUTES]
    paths += [p + "/deeper/still" for p in paths] + ["/visitors/x1", "/widget/messages"]
    async with running_front(tmp_path) as front, httpx.AsyncClient(base_url=front.url) as c:
        reached = {p: (await c.get("/api/v1" + p)).json()["service"] for p in paths}
    assert reached == {p: route_for(p) for p in paths}


async def test_forwards_method_path_query_body_request_id_and_client_address(tmp_path) -> None:
    async with running_front(tmp_path) as front, httpx.AsyncClient(base_url=front.url) as c:
        resp = await c.post(
            "/api/v1/chatbots?x=1",
            json={"name": "Welcome"},
            headers={
                "Authorization": "Bearer abc",
                "X-Request-ID": "rid-1",
                "X-Forwarded-For": "6.6.6.6",
            },
        )
        fresh = await c.get("/api/v1/chatbots")
    assert resp.status_code == 201
    assert resp.json()["path"] == "/api/v1/chatbots?x=1"
    assert resp.headers["x-request-id"] == "rid-1"
    assert "x-parley-route" not in resp.headers  # the services' internal header stays inside
    got = front.upstreams["bots"].seen[0]
    assert got["headers"]["Authorization"] == "Bearer abc"
    assert got["headers"]["X-Request-Id"] == "rid-1"
    # The client's claim first, the address nginx saw last (the one services believe).
    assert got["headers"]["X-Forwarded-For"] == "6.6.6.6, 127.0.0.1"
    assert got["body"] == b'{"name":"Welcome"}'
    assert got["headers"]["X-Request-Start"].startswith("t=")  # the service's wait counts from here
    float(got["headers"]["X-Request-Start"][2:])
    generated = front.upstreams["bots"].seen[1]["headers"]["X-Request-Id"]
    assert len(generated) == 32 and fresh.headers["x-request-id"] == generated


async def test_streams_large_upload_and_download(tmp_path) -> None:
    payload = b"p" * (3 * 1024 * 1024)
    async with running_front(tmp_path) as front, httpx.AsyncClient(base_url=front.url) as c:
        up = await c.post("/api/v1/chatbots/upload", content=payload)
        down = await c.get("/api/v1/chatbots/big")
    assert up.json()["size"] == len(payload)
    assert up.json()["sha256"] == hashlib.sha256(payload).hexdigest()
    assert down.status_code == 200 and len(down.content) == 40 * 65536


async def test_body_over_limit_is_413_problem_and_not_forwarded(tmp_path) -> None:
    async with (
        running_front(tmp_path, max_body_bytes=1000) as front,
        httpx.AsyncClient(base_url=front.url) as c,
    ):
        resp = await c.post("/api/v1/chatbots", content=b"x" * 2000)
    assert_problem(resp, 413, "payload_too_large")
    assert front.upstreams["bots"].seen == []


async def test_slow_upstream_is_504_problem(tmp_path) -> None:
    async with running_front(tmp_path) as front, httpx.AsyncClient(base_url=front.url) as c:
        resp = await c.get("/api/v1/chatbots/slow")
    assert_problem(resp, 504, "upstream_timeout")


async def test_down_upstream_is_503_with_retry_after(tmp_path) -> None:
    dead = f"http://127.0.0.1:{free_port()}"
    async with (
        running_front(tmp_path, bots_url=dead) as front,
        httpx.AsyncClient(base_url=front.url) as c,
    ):
        resp = await c.get("/api/v1/chatbots")
    assert_problem(resp, 503, "upstream_unavailable")
    assert resp.headers["retry-after"] == "2"


async def test_rate_limit_per_token_gives_429_problem_with_retry_after(tmp_path) -> None:
    headers = {"Authorization": "Bearer limited"}
    async with (
        running_front(tmp_path, rate_limit_token_per_minute=3) as front,
        httpx.AsyncClient(base_url=front.url) as c,
    ):
        statuses = [
            (await c.get("/api/v1/chatbots", headers=headers)).status_code for _ in range(4)
        ]
        limited = await c.get("/api/v1/chatbots", headers=headers)
        other = await c.get("/api/v1/chatbots", headers={"Authorization": "Bearer other"})
    assert statuses == [200, 200, 200, 429]
    assert_problem(limited, 429, "rate_limited")
    assert int(limited.headers["retry-after"]) == 20  # one more request in 60 s / 3
    assert other.status_code == 200
    assert len(front.upstreams["bots"].seen) == 4


async def test_rate_limit_per_address_gives_429(tmp_path) -> None:
    async with (
        running_front(tmp_path, rate_limit_ip_per_minute=2) as front,
        httpx.AsyncClient(base_url=front.url) as c,
    ):
        statuses = [(await c.get("/api/v1/conversations")).status_code for _ in range(3)]
    assert statuses == [200, 200, 429]


async def test_cors_preflight_and_answers_for_widget_origins(tmp_path) -> None:
    origin = {"Origin": "https://shop.example"}
    async with running_front(tmp_path) as front, httpx.AsyncClient(base_url=front.url) as c:
        preflight = await c.options(
            "/api/v1/widget/messages",
            headers={
                **origin,
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "authorization,content-type",
            },
        )
        answer = await c.get("/api/v1/widget/messages", headers=origin)
        refusal = await c.get("/api/v1/nothing-here", headers=origin)
        no_origin = await c.get("/api/v1/widget/messages")
    assert preflight.status_code == 204
    assert preflight.headers["access-control-allow-origin"] == "*"
    assert "POST" in preflight.headers["access-control-allow-methods"]
    assert preflight.headers["access-control-allow-headers"] == "authorization,content-type"
    assert front.upstreams["chat"].seen[0]["headers"].get("Origin") == "https://shop.example"
    assert len(front.upstreams["chat"].seen) == 2  # the preflight never reached chat
    for resp in (answer, refusal):
        assert resp.headers["access-control-allow-origin"] == "*"
        assert "x-request-id" in resp.headers["access-control-expose-headers"]
    assert "access-control-allow-origin" not in no_origin.headers


async def test_listed_cors_origins_only(tmp_path) -> None:
    async with (
        running_front(tmp_path, cors_origins=["https://shop.example"]) as front,
        httpx.AsyncClient(base_url=front.url) as c,
    ):
        listed = await c.get("/api/v1/chatbots", headers={"Origin": "https://shop.example"})
        other = await c.get("/api/v1/chatbots", headers={"Origin": "https://evil.example"})
    assert listed.headers["access-control-allow-origin"] == "https://shop.example"
    assert "access-control-allow-origin" not in other.headers


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/chatbots/../../../metrics",
        "/api/v1/chatbots/..%2f..%2f..%2finternal/jwks",
        "/api/v1/chatbots/%2e%2e/%2e%2e/%2e%2e/openapi.json",
        "/api/v1/chatbots/.%2E/x",
        "/api/v1/chatbots/a%5c..%5c..%5cmetrics",
        "/api/v1/chatbots/a\\b",
        "/api/v1/chatbots/./x",
        "/api/v1/../metrics",
        "/api/v1/chatbots/%2fetc",
        "/api/v1/chatbots/a%00b",
        "/api/v1/../../../../etc/passwd",
        "/demo/..%2f..%2fapi/v1/chatbots",
    ],
)
async def test_dot_segments_and_encoded_separators_are_refused(tmp_path, path: str) -> None:
    async with running_front(tmp_path) as front:
        status, headers, body = await raw_request(front.url, f"GET {path} HTTP/1.1")
        reached = [s for up in front.upstreams.values() for s in up.seen if s["path"] != "/healthz"]
    assert status == 400, body
    assert headers["content-type"] == "application/problem+json"
    assert b'"code": "invalid_path"' in body
    assert reached == []


async def test_upstream_gets_the_raw_path_it_was_routed_by(tmp_path) -> None:
    async with running_front(tmp_path) as front:
        line = "GET /api/v1/chatbots/%252e%252e/a%20b?q=%2e%2e HTTP/1.1"
        status, _, body = await raw_request(front.url, line)
    assert status == 200, body
    assert front.upstreams["bots"].seen[0]["path"] == "/api/v1/chatbots/%252e%252e/a%20b?q=%2e%2e"


async def test_internal_and_unknown_paths_are_404_problems(tmp_path) -> None:
    async with running_front(tmp_path) as front, httpx.AsyncClient(base_url=front.url) as c:
        answers = [await c.get(p) for p in ("/readyz", "/metrics", "/api/v1/media/x")]
        german = await c.get("/api/v1/media/x", headers={"Accept-Language": "de-DE,de;q=0.9"})
        own = await c.get("/demo/abc")
        app = await c.get("/app/")
    for resp in answers:
        assert_problem(resp, 404, "not_found")
        assert resp.json()["title"] == "Not found"
    assert german.json()["title"] == "Nicht gefunden"  # the services' catalogue
    assert own.json()["service"] == "gateway"  # everything else is the Python gateway's
    assert app.json()["service"] == "gateway"
    assert [s["path"] for s in front.upstreams["gateway"].seen][-2:] == ["/demo/abc", "/app/"]


async def test_a_full_upstream_is_refused_at_once_with_503_and_retry_after(tmp_path) -> None:
    async with (
        running_front(tmp_path, upstream_in_flight=1, upstream_timeout_seconds=60) as front,
        httpx.AsyncClient(base_url=front.url, timeout=60) as c,
    ):
        bots = front.upstreams["bots"]
        held = asyncio.create_task(c.get("/api/v1/chatbots/hold"))
        await eventually(lambda: any(s.get("held") for s in bots.seen))
        refused = await c.post("/api/v1/chatbots", json={"name": "x"})
        other_service = await c.get("/api/v1/widget/messages")  # chat: its own limit
        assert not held.done()  # refused while the upstream is still busy
        bots.release.set()
        assert (await held).status_code == 200
        after = await c.post("/api/v1/chatbots", json={"name": "y"})
    assert_problem(refused, 503, "overloaded")
    assert refused.headers["retry-after"] == "1"
    assert [s["body"] for s in bots.seen if "body" in s] == [b'{"name":"y"}']
    assert other_service.status_code == 200
    assert after.status_code == 201


async def test_a_burst_within_the_services_limit_and_queue_reaches_the_service(tmp_path) -> None:
    """nginx's limit is the service's in-flight limit plus its queue: a burst up to it is not
    refused at the front but reaches the service (which runs it or lets it wait briefly);
    only the request past it is refused at once."""
    async with (
        running_front(tmp_path, upstream_in_flight=3, upstream_timeout_seconds=60) as front,
        httpx.AsyncClient(base_url=front.url, timeout=60) as c,
    ):
        bots = front.upstreams["bots"]
        held = [asyncio.create_task(c.get("/api/v1/chatbots/hold")) for _ in range(3)]
        await eventually(lambda: sum(1 for s in bots.seen if s.get("held")) == 3)
        refused = await c.get("/api/v1/chatbots/hold")
        bots.release.set()
        answers = await asyncio.gather(*held)
    assert [a.status_code for a in answers] == [200, 200, 200]
    assert_problem(refused, 503, "overloaded")
    assert refused.headers["retry-after"] == "1"


def test_the_upstreams_keep_as_many_idle_connections_as_may_be_in_flight() -> None:
    """A burst up to the limit opens no connection per request to the service afterwards."""
    conf = render(GatewaySettings(upstream_in_flight=48), 8080)
    assert conf.count("keepalive 48;") == len(SERVICES) + 1
    assert conf.count("limit_conn upstream 48;") == sum(1 for _, s in ROUTES if s != "gateway")


def test_location_regex_follows_route_for_segments() -> None:
    assert location_regex("/visitors/*/conversations") == (
        "^/api/v1/visitors/[^/]+/conversations(/|$)"
    )
    assert location_regex("/api-keys") == "^/api/v1/api\\-keys(/|$)"


async def test_behind_a_trusted_proxy_the_client_address_is_its_forwarded_one(tmp_path) -> None:
    """nginx_real_ip_from (an Ingress controller in front): limits and the forwarded address
    are the client's, not the controller's."""
    async with (
        running_front(
            tmp_path, nginx_real_ip_from=["127.0.0.1/32"], rate_limit_ip_per_minute=1
        ) as front,
        httpx.AsyncClient(base_url=front.url) as c,
    ):
        alice = {"X-Forwarded-For": "203.0.113.7"}
        first = await c.get("/api/v1/conversations", headers=alice)
        again = await c.get("/api/v1/conversations", headers=alice)
        bob = await c.get("/api/v1/conversations", headers={"X-Forwarded-For": "198.51.100.2"})
    assert (first.status_code, again.status_code, bob.status_code) == (200, 429, 200)
    got = front.upstreams["chat"].seen[0]["headers"]
    assert got["X-Real-IP"] == "203.0.113.7"
    assert got["X-Forwarded-For"].rsplit(",", 1)[-1].strip() == "203.0.113.7"


def test_every_gateway_api_route_is_routed_to_the_gateway() -> None:
    """nginx answers 404 for an /api/v1 path no ROUTES entry owns: a new gateway route under
    /api/v1 needs its entry."""
    from parley_gateway.app import ROUTERS

    paths = [r.path for router in ROUTERS for r in router.routes if hasattr(r, "path")]
    api = [p for p in paths if p.startswith("/api/v1/")]
    assert "/api/v1/boot" in api
    assert {p: route_for(p.removeprefix("/api/v1")) for p in api} == {p: "gateway" for p in api}


def test_client_pools_close_idle_connections_before_the_services_do() -> None:
    """A request sent on an idle connection the service is closing fails (nginx answers 502):
    nginx's and the Python gateway's pools must give an idle connection up first."""
    config = render(GatewaySettings(), port=8000)
    assert f"keepalive_timeout {UPSTREAM_IDLE_SECONDS}s;" in config
    assert max(UPSTREAM_IDLE_SECONDS, IDLE_SECONDS) < KEEP_ALIVE_SECONDS


async def test_a_websocket_upgrade_never_shares_its_connection(tmp_path) -> None:
    """The gateway closes the connection of a refused handshake (a 403 stream upgrade): had
    nginx pooled it, the next request sent on it failed (seen as a 503 upstream_unavailable
    for POST /stream/tickets right after a refused upgrade)."""
    async with running_front(tmp_path) as front, httpx.AsyncClient(base_url=front.url) as client:
        upgrade = {"Upgrade": "websocket", "Connection": "Upgrade"}
        await client.get("/api/v1/stream", headers=upgrade)
        ticket = await client.post("/api/v1/stream/tickets")
        assert ticket.status_code == 201
        seen = {r["path"]: r["peer"] for r in front.upstreams["gateway"].seen}
        assert seen["/api/v1/stream"] != seen["/api/v1/stream/tickets"]


def test_nginx_lets_through_what_a_service_runs_or_queues() -> None:
    """Past its limit in flight a service queues briefly (parley_common.admission); nginx
    refusing at once below that refused bursts the service would have served."""
    from parley_common.settings import Settings

    service = Settings()
    assert GatewaySettings().upstream_in_flight == (
        service.max_requests_in_flight + service.admission_queue
    )
