"""Notify through the whole system: an offline agent's phone gets exactly one push for a
visitor's message, delivered to an APNs double over HTTP/2 + TLS."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest_asyncio

from parley_common.e2e import System, load_test_module
from parley_common.testing import eventually


@pytest_asyncio.fixture
async def apns(system: System, tmp_path: Path) -> AsyncIterator[Any]:
    """An APNs double, and the notify worker restarted to deliver to it."""
    mod = load_test_module("services/notify/tests/apns_double.py")
    double = await mod.APNsDouble(mod.TestPKI.create(tmp_path / "apns")).start()
    env = {
        "PARLEY_APNS_KEY_FILE": str(double.pki.p8_file),
        "PARLEY_APNS_KEY_ID": "KEY1234567",
        "PARLEY_APNS_TEAM_ID": "TEAM123456",
        "PARLEY_APNS_PRODUCTION_HOST": "localhost",
        "PARLEY_APNS_SANDBOX_HOST": "localhost",
        "PARLEY_APNS_PORT": str(double.port),
        "PARLEY_APNS_CA_FILE": str(double.pki.ca_file),
    }
    try:
        async with system.reconfigured("notify-worker", env):
            yield double
    finally:
        await double.stop()


async def notify_sees_status(system: System, agent_id: str, status: str) -> bool:
    """Whether notify's projection of the agent has ``status`` (no public API shows it)."""
    url = system.env["PARLEY_DATABASE_URL"].replace("postgresql+asyncpg://", "postgresql://")
    conn = await asyncpg.connect(url)
    try:
        seen = await conn.fetchval(
            "SELECT status FROM notify.agents WHERE agent_id = $1", uuid.UUID(agent_id)
        )
    finally:
        await conn.close()
    return bool(seen == status)


async def test_offline_agent_gets_one_push_for_a_visitor_message(system, gateway, apns):
    owner = await system.signup(gateway)
    headers = owner["headers"]
    token = uuid.uuid4().hex * 2
    resp = await gateway.post(
        "/api/v1/devices",
        headers=headers,
        json={
            "platform": "ios",
            "token": token,
            "environment": "production",
            "bundle_id": "com.example.parley",
        },
    )
    assert resp.status_code == 201, resp.text
    resp = await gateway.patch(
        "/api/v1/me/notification-settings", headers=headers, json={"new_visitor": False}
    )
    assert resp.status_code == 200 and resp.json()["offline_notifications"] is True
    resp = await gateway.put("/api/v1/me/status", headers=headers, json={"status": "offline"})
    assert resp.status_code == 200, resp.text
    # The push depends on notify knowing the agent is offline (auth's status event).
    await eventually(lambda: notify_sees_status(system, owner["agent"]["id"], "offline"))

    session = await system.widget_session(gateway, owner, title="Shop")
    visitor = session["headers"]
    sent = await gateway.post(
        "/api/v1/widget/messages", headers=visitor, json={"text": "Do you ship to Norway?"}
    )
    assert sent.status_code == 201, sent.text
    conversation_id = sent.json()["conversation_id"]

    [push] = await eventually(lambda: apns.for_token(token), timeout=20)
    assert push.payload["type"] == "new_message"
    assert push.payload["aps"]["thread-id"] == conversation_id
    assert push.payload["aps"]["badge"] == 1
    assert push.payload["aps"]["alert"]["body"] == "Do you ship to Norway?"
    assert push.payload["account_id"] == owner["account"]["id"]
    assert push.headers["apns-topic"] == "com.example.parley"
    started = time.monotonic()
    while time.monotonic() - started < 2:  # nothing else arrives: exactly one push
        await asyncio.sleep(0.2)
    assert len(apns.received) == 1
