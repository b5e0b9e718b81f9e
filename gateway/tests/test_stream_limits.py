"""Stream socket limits: per address, per visitor, per agent, and upgrade attempts per address."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import orjson
import pytest_asyncio
import uvicorn
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from parley_common.security import issue_visitor_token
from parley_common.testing import eventually, free_port
from parley_gateway.app import create_app
from parley_gateway.config import GatewaySettings
from parley_gateway.stream.config import get_stream_settings


@pytest_asyncio.fixture
async def gateway_ws(database) -> AsyncIterator[str]:
    """A gateway served by uvicorn in this process, so a test can lower its limits."""
    port = free_port()
    config = uvicorn.Config(
        create_app(GatewaySettings()),
        host="127.0.0.1",
        port=port,
        ws="websockets-sansio",
        log_config=None,
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    await eventually(lambda: server.started, timeout=60)
    yield f"ws://127.0.0.1:{port}"
    server.should_exit = True
    await task


async def open_socket(url: str, **kwargs) -> tuple[object | None, int | None, str]:
    """An open socket (after its hello) or how it was refused: (ws, close code, reason)."""
    ws = await connect(url, proxy=None, open_timeout=10, **kwargs)
    try:
        frame = orjson.loads(await asyncio.wait_for(ws.recv(), 10))
    except ConnectionClosed as closed:
        assert closed.rcvd is not None
        return None, closed.rcvd.code, closed.rcvd.reason
    assert frame["type"] == "hello"
    return ws, None, ""


def visitor_url(base: str, account_id: uuid.UUID, visitor_id: uuid.UUID | None = None) -> str:
    token = issue_visitor_token(visitor_id or uuid.uuid4(), account_id)
    return f"{base}/api/v1/widget/stream?token={token}"


async def test_200_sockets_of_one_visitor_are_refused_past_the_limit(
    gateway_ws, agent, monkeypatch
):
    monkeypatch.setattr(get_stream_settings(), "stream_upgrades_per_minute_per_address", 10_000)
    url = visitor_url(gateway_ws, agent.account_id)
    results = await asyncio.gather(*(open_socket(url) for _ in range(200)))
    opened = [ws for ws, _, _ in results if ws is not None]
    refused = [(code, reason) for ws, code, reason in results if ws is None]
    limit = get_stream_settings().stream_sockets_per_visitor
    assert len(opened) == limit
    assert set(refused) == {(4029, "too many connections for this visitor")}
    await opened[0].close()
    again, code, _ = await open_socket(url)  # a closed socket frees its place
    assert again is not None and code is None
    for ws in [*opened[1:], again]:
        await ws.close()


async def test_sockets_per_address_and_per_agent(gateway_ws, agent, monkeypatch):
    settings = get_stream_settings()
    monkeypatch.setattr(settings, "stream_sockets_per_address", 3)
    visitors = [await open_socket(visitor_url(gateway_ws, agent.account_id)) for _ in range(4)]
    assert [code for _, code, _ in visitors] == [None, None, None, 4029]
    assert visitors[3][2] == "too many connections for this address"
    for ws, _, _ in visitors[:3]:
        await ws.close()

    monkeypatch.setattr(settings, "stream_sockets_per_address", 100)
    monkeypatch.setattr(settings, "stream_sockets_per_agent", 2)
    url = f"{gateway_ws}/api/v1/stream"
    agents = [await open_socket(url, additional_headers=agent.headers) for _ in range(3)]
    assert [code for _, code, _ in agents] == [None, None, 4029]
    assert agents[2][2] == "too many connections for this agent"
    for ws, _, _ in agents[:2]:
        await ws.close()


async def test_upgrade_attempts_per_address_are_capped(gateway_ws, redis, settings, monkeypatch):
    await redis.delete(f"{settings.namespace}:rl:ws-upgrade:127.0.0.1")  # earlier tests' hits
    monkeypatch.setattr(get_stream_settings(), "stream_upgrades_per_minute_per_address", 3)
    statuses = []
    for _ in range(4):
        try:
            async with connect(f"{gateway_ws}/api/v1/stream", proxy=None, open_timeout=10):
                statuses.append(101)
        except InvalidStatus as exc:
            statuses.append(exc.response.status_code)
            last = exc.response
    assert statuses == [401, 401, 401, 429]
    assert last.headers["content-type"] == "application/problem+json"
    assert int(last.headers["retry-after"]) >= 1
    assert orjson.loads(last.body)["code"] == "rate_limited"
