"""Outgoing webhooks through the gateway: an admin subscribes a real HTTP receiver on
127.0.0.1 (the deployment allows private targets), a visitor's message arrives there signed,
a ping can be sent, every attempt is listed; the merged OpenAPI documents the payloads."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest_asyncio

from parley_common.e2e import System, load_test_module
from parley_common.testing import eventually


@pytest_asyncio.fixture
async def receiver() -> AsyncIterator[Any]:
    module = load_test_module("services/notify/tests/webhook_receiver.py")
    server = await module.WebhookReceiver().start()
    yield server
    await server.stop()


async def test_webhook_receives_signed_events(system: System, gateway, receiver) -> None:
    owner = await system.signup(gateway)
    created = await gateway.post(
        "/api/v1/webhooks",
        headers=owner["headers"],
        json={"url": receiver.url("/ok"), "events": ["chat.message.created"]},
    )
    assert created.status_code == 201, created.text
    hook = created.json()
    visitor = await system.widget_session(gateway, owner)
    sent = await gateway.post(
        "/api/v1/widget/messages", headers=visitor["headers"], json={"text": "Webhook me"}
    )
    assert sent.status_code == 201, sent.text

    [delivery] = await eventually(lambda: receiver.at("/ok"), timeout=20)
    assert delivery.signed_with(hook["secret"])
    assert delivery.headers["X-Parley-Event"] == "chat.message.created"
    assert delivery.json["data"]["text"] == "Webhook me"
    assert delivery.json["account_id"] == owner["account"]["id"]

    ping = await gateway.post(f"/api/v1/webhooks/{hook['id']}/test", headers=owner["headers"])
    assert ping.status_code == 202, ping.text
    await eventually(lambda: len(receiver.at("/ok")) == 2, timeout=10)
    assert receiver.at("/ok")[1].headers["X-Parley-Event"] == "ping"
    attempts = await gateway.get(
        f"/api/v1/webhooks/{hook['id']}/deliveries", headers=owner["headers"]
    )
    assert [a["event_type"] for a in attempts.json()["items"]] == ["ping", "chat.message.created"]

    facebook = await gateway.get(
        "/api/v1/webhooks/facebook", params={"hub.mode": "subscribe", "hub.verify_token": "x"}
    )
    assert facebook.status_code == 403  # still chat's Facebook webhook, not notify's

    document = (await gateway.get("/openapi.json")).json()
    message = document["webhooks"]["chat.message.created"]["post"]
    data = message["requestBody"]["content"]["application/json"]["schema"]["properties"]["data"]
    assert "text" in data["properties"]
    assert "/api/v1/webhooks/{webhook_id}/deliveries" in document["paths"]
