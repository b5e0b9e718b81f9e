"""The public edge (nginx in front of the services and the gateway) as a client and an attacker
see it: raw paths, internal endpoints, nginx's own refusals, request ids, headers."""

from __future__ import annotations

import asyncio
from urllib.parse import urlsplit

import orjson
import pytest

from parley_common.e2e import System


async def raw_get(base_url: str, path: str) -> tuple[int, dict[str, str], bytes]:
    """GET with the path byte for byte (like `curl --path-as-is`); status, headers, body."""
    parts = urlsplit(base_url)
    reader, writer = await asyncio.open_connection(parts.hostname, parts.port)
    writer.write(
        f"GET {path} HTTP/1.1\r\nHost: {parts.netloc}\r\nConnection: close\r\n\r\n".encode()
    )
    await writer.drain()
    raw = await asyncio.wait_for(reader.read(), 15)
    writer.close()
    head, _, body = raw.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in header_lines:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    if headers.get("transfer-encoding") == "chunked":
        body = _unchunk(body)
    return int(status_line.split()[1]), headers, body


def _unchunk(body: bytes) -> bytes:
    out = b""
    while body:
        size_line, _, body = body.partition(b"\r\n")
        size = int(size_line, 16)
        if size == 0:
            break
        out, body = out + body[:size], body[size + 2 :]
    return out


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/auth/../../../metrics",
        "/api/v1/auth/..%2f..%2f..%2finternal/jwks",
        "/api/v1/widget/%2e%2e/%2e%2e/%2e%2e/openapi.json",
        "/api/v1/conversations/..%5c..%5c..%5cmetrics",
    ],
)
async def test_path_traversal_is_refused(system: System, path: str) -> None:
    status, headers, body = await raw_get(system.url, path)
    assert status in (400, 404), body
    assert headers["content-type"] == "application/problem+json"
    assert orjson.loads(body)["code"] in ("invalid_path", "not_found")


async def test_internal_paths_are_not_public(system: System) -> None:
    for path in ("/readyz", "/metrics", "/api/v1/no-such-thing"):
        status, headers, body = await raw_get(system.url, path)
        assert status == 404, (path, body)
        assert headers["content-type"] == "application/problem+json"
        assert orjson.loads(body)["code"] == "not_found"


async def test_request_id_goes_to_the_service_and_back(system: System, gateway) -> None:
    owner = await system.signup(gateway)
    mine = await gateway.get(
        "/api/v1/me", headers={**owner["headers"], "X-Request-Id": "edge-test-1"}
    )
    fresh = await gateway.get("/api/v1/conversations/not-a-uuid", headers=owner["headers"])
    assert mine.status_code == 200 and mine.headers["x-request-id"] == "edge-test-1"
    assert fresh.status_code in (404, 422), fresh.text
    # The id nginx made is the one the service answered with, in the header and the problem.
    assert fresh.json()["request_id"] == fresh.headers["x-request-id"]
    assert len(fresh.headers["x-request-id"]) == 32


async def test_nginx_refusals_are_problems_with_retry_after(system: System, gateway) -> None:
    owner = await system.signup(gateway)
    limits = {"PARLEY_MAX_BODY_BYTES": "2000", "PARLEY_RATE_LIMIT_TOKEN_PER_MINUTE": "3"}
    async with system.reconfigured("nginx", limits):
        too_big = await gateway.post(
            "/api/v1/shortcuts", headers=owner["headers"], content=b"x" * 5000
        )
        statuses = [
            (await gateway.get("/api/v1/shortcuts", headers=owner["headers"])).status_code
            for _ in range(3)
        ]
        limited = await gateway.get("/api/v1/shortcuts", headers=owner["headers"])
        preflight = await gateway.options(
            "/api/v1/widget/messages",
            headers={"Origin": "https://shop.example", "Access-Control-Request-Method": "POST"},
        )
    assert too_big.status_code == 413
    assert too_big.headers["content-type"] == "application/problem+json"
    assert too_big.json()["code"] == "payload_too_large"
    assert statuses == [200, 200, 200]
    assert limited.status_code == 429
    assert limited.headers["content-type"] == "application/problem+json"
    assert limited.json()["code"] == "rate_limited"
    assert int(limited.headers["retry-after"]) == 20
    assert preflight.status_code == 204
    assert preflight.headers["access-control-allow-origin"] == "*"


async def test_the_gateways_own_pages_through_nginx(system: System, gateway) -> None:
    owner = await system.signup(gateway)
    pages = {
        path: await gateway.get(path)
        for path in ("/openapi.json", "/asyncapi.json", "/docs", "/widget.js")
    }
    demo = await gateway.get(f"/demo/{owner['account']['widget_key']}")
    boot = await gateway.get("/api/v1/boot", headers=owner["headers"])
    for path, resp in pages.items():
        assert resp.status_code == 200, (path, resp.text[:200])
    assert "/api/v1/conversations" in pages["/openapi.json"].json()["paths"]
    assert "javascript" in pages["/widget.js"].headers["content-type"]
    assert demo.status_code == 200 and "widget.js" in demo.text
    assert boot.status_code == 200, boot.text
    assert boot.json()["agent"]["id"] == owner["agent"]["id"]
