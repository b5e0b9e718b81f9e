"""The gateway's edge as an attacker sees it: raw paths, internal endpoints, headers."""

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
