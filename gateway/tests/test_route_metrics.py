"""Per-route gateway latency: a proxied request is labelled with the upstream's route template
(not ``/api/v1/* -> bots``), and the internal header that carries it never reaches clients."""

from __future__ import annotations

import asyncio
import uuid

import uvicorn
from fastapi import APIRouter
from prometheus_client import REGISTRY

from parley_common.app import create_service_app
from parley_common.testing import eventually, free_port, running_app
from parley_gateway.app import create_app
from parley_gateway.config import GatewaySettings

router = APIRouter()


@router.get("/api/v1/chatbots/{chatbot_id}")
async def one_chatbot(chatbot_id: uuid.UUID) -> dict[str, str]:
    return {"id": str(chatbot_id)}


def count(route: str, status: str) -> float:
    value = REGISTRY.get_sample_value(
        "parley_http_request_seconds_count", {"method": "GET", "route": route, "status": status}
    )
    return value or 0.0


async def test_proxied_requests_are_labelled_by_the_upstream_route() -> None:
    upstream = create_service_app("bots", [router], uses_database=False)
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(upstream, port=port, log_config=None))
    serving = asyncio.create_task(server.serve())
    try:
        await eventually(lambda: server.started, timeout=30)
        settings = GatewaySettings(bots_url=f"http://127.0.0.1:{port}")
        template = "/api/v1/chatbots/{chatbot_id}"
        before = count(template, "200")
        async with running_app(create_app(settings)) as gateway:
            for _ in range(3):
                resp = await gateway.get(f"/api/v1/chatbots/{uuid.uuid4()}")
                assert resp.status_code == 200, resp.text
                assert "x-parley-route" not in resp.headers
            missing = await gateway.get("/api/v1/chatbots/not-a-uuid/deeper")
            assert missing.status_code == 404
    finally:
        server.should_exit = True
        await serving
    # Both the upstream (in this process too) and the gateway count each request once.
    assert count(template, "200") - before == 6
    assert count("/api/v1/* -> bots", "404") >= 1
