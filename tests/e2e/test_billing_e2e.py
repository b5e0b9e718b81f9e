"""App Store billing through the gateway: the app posts a purchase (premium), Apple refunds it
with a signed REFUND notification (free at once). Auth trusts a test root shaped like Apple's."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest_asyncio

from parley_common.e2e import System, load_test_module
from parley_common.testing import eventually


@pytest_asyncio.fixture
async def apple(system: System, gateway: httpx.AsyncClient, tmp_path: Path) -> AsyncIterator[Any]:
    """A test App Store signer, and the auth process restarted to trust its root."""
    module = load_test_module("services/auth/tests/app_store_signer.py")
    signer = module.AppStoreSigner(tmp_path / "apple")
    async with system.reconfigured("auth", module.settings_env(signer)):
        yield signer


async def test_app_store_purchase_then_refund_through_the_gateway(
    system: System, gateway: httpx.AsyncClient, apple: Any
) -> None:
    owner = await system.signup(gateway)
    headers, account_id = owner["headers"], owner["account"]["id"]
    otid = "2000000123456789"

    # The app buys premium with appAccountToken = the account id and posts the transaction.
    purchase = apple.transaction(original_transaction_id=otid, app_account_token=account_id)
    resp = await gateway.post(
        "/api/v1/billing/app-store/transactions",
        headers=headers,
        json={"signed_transaction": purchase},
    )
    assert resp.status_code == 200, resp.text
    assert resp.json()["plan"] == "premium"
    sub = (await gateway.get("/api/v1/account/subscription", headers=headers)).json()
    assert sub["plan"] == "premium" and sub["source"] == "app_store"
    assert sub["entitlements"]["max_agents"] > 3

    # Bots learn the plan from auth.subscription.changed: premium allows a second chatbot.
    async def create_chatbot(name: str) -> int:
        resp = await gateway.post(
            "/api/v1/chatbots",
            headers=headers,
            json={
                "name": name,
                "trigger": {"type": "visitor_arrived"},
                "steps": [{"id": "hi", "message": "Hi"}],
            },
        )
        return resp.status_code

    assert await create_chatbot("First") == 201

    async def second_created() -> bool:
        return await create_chatbot("Second") == 201

    await eventually(second_created, timeout=20)

    # A forged notification (not signed under the trusted root) changes nothing.
    stranger = type(apple)(apple.root_file.parent.parent / "stranger")
    forged = stranger.notification(
        "REFUND",
        signed_transaction=stranger.transaction(
            original_transaction_id=otid, app_account_token=None, revoked=True
        ),
    )
    resp = await gateway.post(
        "/api/v1/billing/app-store/notifications", json={"signedPayload": forged}
    )
    assert resp.status_code == 400
    assert resp.headers["content-type"] == "application/problem+json"
    sub = (await gateway.get("/api/v1/account/subscription", headers=headers)).json()
    assert sub["plan"] == "premium"

    # Apple refunds it and tells the server: free at once.
    refunded = apple.transaction(original_transaction_id=otid, app_account_token=None, revoked=True)
    refund = apple.notification("REFUND", signed_transaction=refunded)
    resp = await gateway.post(
        "/api/v1/billing/app-store/notifications", json={"signedPayload": refund}
    )
    assert resp.status_code == 200, resp.text
    assert resp.json() == {"received": True, "outcome": "applied"}
    sub = (await gateway.get("/api/v1/account/subscription", headers=headers)).json()
    assert sub["plan"] == "free" and sub["effective_plan"] == "free"
    assert sub["status"] == "refunded" and sub["entitlements"]["max_agents"] == 3
    account = (await gateway.get("/api/v1/account", headers=headers)).json()
    assert account["plan"] == "free"

    # Bots enforce the free plan again: the newest chatbot beyond the limit is disabled.
    async def enabled_chatbots() -> bool:
        listed = (await gateway.get("/api/v1/chatbots", headers=headers)).json()
        return [bot["name"] for bot in listed["items"] if bot["enabled"]] == ["First"]

    await eventually(enabled_chatbots, timeout=20)

    # Apple retries the same notification: acknowledged, nothing changes.
    resp = await gateway.post(
        "/api/v1/billing/app-store/notifications", json={"signedPayload": refund}
    )
    assert resp.status_code == 200 and resp.json()["outcome"] == "duplicate"
