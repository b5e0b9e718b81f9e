"""Notify through the whole system: an offline agent's phone gets exactly one push for a
visitor's message, delivered to an APNs double over HTTP/2 + TLS."""

from __future__ import annotations

import asyncio
import importlib.util
import sys
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest_asyncio

from parley_common.e2e import System
from parley_common.testing import eventually

ROOT = Path(__file__).resolve().parents[2]


def _double_module() -> Any:
    spec = importlib.util.spec_from_file_location(
        "notify_apns_double", ROOT / "services/notify/tests/apns_double.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


@pytest_asyncio.fixture
async def apns(system: System, tmp_path: Path) -> AsyncIterator[Any]:
    """An APNs double, and the notify worker restarted to deliver to it."""
    mod = _double_module()
    double = await mod.APNsDouble(mod.TestPKI.create(tmp_path / "apns")).start()
    original = system.env
    system.env = {
        **original,
        "PARLEY_APNS_KEY_FILE": str(double.pki.p8_file),
        "PARLEY_APNS_KEY_ID": "KEY1234567",
        "PARLEY_APNS_TEAM_ID": "TEAM123456",
        "PARLEY_APNS_PRODUCTION_HOST": "localhost",
        "PARLEY_APNS_SANDBOX_HOST": "localhost",
        "PARLEY_APNS_PORT": str(double.port),
        "PARLEY_APNS_CA_FILE": str(double.pki.ca_file),
    }
    try:
        system.stop("notify-worker")
        system.start("notify-worker")
        yield double
    finally:
        system.env = original
        system.stop("notify-worker")
        system.start("notify-worker")
        await double.stop()


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
    await asyncio.sleep(1)  # auth's status event reaches notify

    session = await gateway.post(
        "/api/v1/widget/sessions",
        json={
            "widget_key": owner["account"]["widget_key"],
            "page": {"url": "https://shop.example/", "title": "Shop"},
        },
    )
    assert session.status_code in (200, 201), session.text
    visitor = {"Authorization": f"Bearer {session.json()['visitor_token']}"}
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
