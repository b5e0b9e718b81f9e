"""The whole system, started like `make run`, driven through the gateway only."""

from __future__ import annotations

import httpx

from parley_common.e2e import System


async def test_gateway_is_ready_with_every_service(system: System, gateway) -> None:
    async with httpx.AsyncClient(base_url=system.internal_url, timeout=15) as internal:
        resp = await internal.get("/readyz")
        metrics = await internal.get("/metrics")
    assert resp.status_code == 200
    assert resp.json()["checks"] == {"redis": "ok", "rabbitmq": "ok", "services": "ok"}
    assert metrics.status_code == 200 and "parley_http_request_seconds" in metrics.text
    for path in ("/readyz", "/metrics"):
        public = await gateway.get(path)
        assert public.status_code == 404 and public.json()["code"] == "not_found"
    assert (await gateway.get("/healthz")).json() == {"status": "ok"}


async def test_openapi_lists_every_service(gateway) -> None:
    doc = (await gateway.get("/openapi.json")).json()
    assert doc["x-services-missing"] == []
    served_by = {t["description"].removeprefix("Served by the ").split()[0] for t in doc["tags"]}
    assert served_by == {"auth", "visitors", "chat", "notify", "bots", "gateway"}
    assert {"conversations", "visitors", "widget", "stream"} <= {t["name"] for t in doc["tags"]}
    outside_api = {p for p in doc["paths"] if not p.startswith("/api/v1/")}
    # The chat box and the live demo are web pages served by the gateway itself.
    assert outside_api == {"/widget.js", "/demo/{widget_key}"}
    for path in (
        "/api/v1/auth/signup",
        "/api/v1/visitors",
        "/api/v1/conversations",
        "/api/v1/devices",
        "/api/v1/chatbots",
        "/api/v1/stream/tickets",
        "/api/v1/stream",
        "/api/v1/widget/stream",
    ):
        assert path in doc["paths"], path
    # Service internals are not part of the public document.
    assert not any("/internal/" in p for p in doc["paths"])


async def test_unknown_path_is_problem_json(gateway) -> None:
    resp = await gateway.get("/api/v1/no-such-thing")
    assert resp.status_code == 404
    assert resp.headers["content-type"] == "application/problem+json"
    assert resp.json()["code"] == "not_found"
    assert resp.headers["x-request-id"]


async def test_service_down_gives_503_not_a_hang(system: System, gateway) -> None:
    system.stop("bots")
    try:
        resp = await gateway.get("/api/v1/chatbots")
        assert resp.status_code == 503
        assert resp.headers["retry-after"]
        assert resp.json()["code"] == "upstream_unavailable"
    finally:
        system.start("bots")
        await system.wait_started("bots")
