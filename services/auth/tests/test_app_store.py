"""App Store billing: Apple's signed notifications and the app's purchases, verified against a
test CA shaped like Apple's (root → WWDR intermediate → App Store leaf, ES256, x5c)."""

from __future__ import annotations

import importlib.util
import sys
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from parley_auth.app import app
from parley_auth.config import AuthSettings, get_auth_settings


def _load_signer() -> Any:
    path = Path(__file__).with_name("app_store_signer.py")
    spec = importlib.util.spec_from_file_location("auth_app_store_signer", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


S = _load_signer()
NOTIFICATIONS = "/api/v1/billing/app-store/notifications"
TRANSACTIONS = "/api/v1/billing/app-store/transactions"
SUBSCRIPTION = "/api/v1/account/subscription"


@pytest.fixture(scope="module")
def signer(tmp_path_factory: pytest.TempPathFactory) -> Any:
    return S.AppStoreSigner(tmp_path_factory.mktemp("apple"))


@pytest.fixture(scope="module")
def stranger(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """A CA of the same shape that Parley does not trust."""
    return S.AppStoreSigner(tmp_path_factory.mktemp("stranger"))


def _configure(**values: Any) -> None:
    configured = AuthSettings(**values)
    app.dependency_overrides[get_auth_settings] = lambda: configured


@pytest.fixture(autouse=True)
def app_store_settings(signer: Any) -> Iterator[None]:
    _configure(
        app_store_root_certs=[str(signer.root_file)],
        app_store_bundle_id=S.BUNDLE_ID,
        app_store_environment=S.ENVIRONMENT,
        app_store_app_apple_id=S.APP_APPLE_ID,
    )
    yield
    app.dependency_overrides.pop(get_auth_settings, None)


def new_otid() -> str:
    return str(uuid.uuid4().int)[:15]


async def notify(client: httpx.AsyncClient, payload: str, status: int = 200) -> dict[str, Any]:
    resp = await client.post(NOTIFICATIONS, json={"signedPayload": payload})
    assert resp.status_code == status, resp.text
    body: dict[str, Any] = resp.json()
    return body


async def subscription(client: httpx.AsyncClient, owner: Any) -> dict[str, Any]:
    resp = await client.get(SUBSCRIPTION, headers=owner.headers)
    assert resp.status_code == 200, resp.text
    body: dict[str, Any] = resp.json()
    return body


async def rows(engine: AsyncEngine, query: str, **params: Any) -> list[Any]:
    async with engine.connect() as conn:
        return list((await conn.execute(text(query), params)).all())


async def subscribe(client: httpx.AsyncClient, signer: Any, owner: Any, otid: str) -> None:
    """Apple's SUBSCRIBED/INITIAL_BUY for ``owner`` (appAccountToken = its account id)."""
    tx = signer.transaction(original_transaction_id=otid, app_account_token=owner.account_id)
    renewal = signer.renewal(original_transaction_id=otid, auto_renew=True)
    payload = signer.notification(
        "SUBSCRIBED", "INITIAL_BUY", signed_transaction=tx, signed_renewal=renewal
    )
    assert (await notify(client, payload))["outcome"] == "applied"


# --- the app posts its purchase ----------------------------------------------------------------
async def test_purchase_posted_by_the_app_makes_the_account_premium(
    client: httpx.AsyncClient, signup: Any, signer: Any, events: Any, engine: AsyncEngine
) -> None:
    owner = await signup()
    otid = new_otid()
    tx = signer.transaction(original_transaction_id=otid, app_account_token=owner.account_id)
    resp = await client.post(TRANSACTIONS, json={"signed_transaction": tx}, headers=owner.headers)
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["plan"] == "premium" and body["effective_plan"] == "premium"
    assert body["status"] == "active" and body["source"] == "app_store"
    assert datetime.fromisoformat(body["expires_at"]) > datetime.now(UTC)
    assert body["entitlements"]["max_agents"] > 3
    assert await subscription(client, owner) == body
    changed = await events(owner.account_id, "auth.subscription.changed")
    assert [e["plan"] for e in changed] == ["premium"] and changed[0]["source"] == "app_store"
    mapped = await rows(
        engine,
        "SELECT account_id FROM auth.app_store_subscriptions WHERE original_transaction_id = :o",
        o=otid,
    )
    assert [str(r.account_id) for r in mapped] == [owner.account_id]

    # Apple's SUBSCRIBED for the same purchase then adds the renewal info, no second event.
    renewal = signer.renewal(original_transaction_id=otid, auto_renew=True)
    payload = signer.notification(
        "SUBSCRIBED", "INITIAL_BUY", signed_transaction=tx, signed_renewal=renewal
    )
    assert (await notify(client, payload))["outcome"] == "applied"
    assert (await subscription(client, owner))["auto_renew"] is True
    assert len(await events(owner.account_id, "auth.subscription.changed")) == 1


async def test_purchase_for_another_account_is_not_found(
    client: httpx.AsyncClient, signup: Any, signer: Any, engine: AsyncEngine
) -> None:
    owner, other = await signup(), await signup()
    otid = new_otid()
    tx = signer.transaction(original_transaction_id=otid, app_account_token=other.account_id)
    resp = await client.post(TRANSACTIONS, json={"signed_transaction": tx}, headers=owner.headers)
    assert resp.status_code == 404
    assert resp.headers["content-type"] == "application/problem+json"
    assert resp.json()["code"] == "app_store_transaction_not_found"
    assert (await subscription(client, owner))["plan"] == "free"
    assert (await subscription(client, other))["plan"] == "free"
    sql = "SELECT 1 FROM auth.app_store_subscriptions WHERE original_transaction_id = :o"
    assert await rows(engine, sql, o=otid) == []


async def test_subscription_of_another_account_cannot_be_claimed(
    client: httpx.AsyncClient, signup: Any, signer: Any
) -> None:
    owner, other = await signup(), await signup()
    otid = new_otid()
    await subscribe(client, signer, other, otid)
    # Same original transaction, but the claimant's own token: still the other account's.
    tx = signer.transaction(original_transaction_id=otid, app_account_token=owner.account_id)
    resp = await client.post(TRANSACTIONS, json={"signed_transaction": tx}, headers=owner.headers)
    assert resp.status_code == 404 and resp.json()["code"] == "app_store_transaction_not_found"
    assert (await subscription(client, owner))["plan"] == "free"


async def test_purchase_without_app_account_token_is_refused(
    client: httpx.AsyncClient, signup: Any, signer: Any
) -> None:
    owner = await signup()
    tx = signer.transaction(original_transaction_id=new_otid(), app_account_token=None)
    resp = await client.post(TRANSACTIONS, json={"signed_transaction": tx}, headers=owner.headers)
    assert resp.status_code == 422 and resp.json()["code"] == "app_account_token_missing"
    assert (await subscription(client, owner))["plan"] == "free"


async def test_purchase_needs_owner_or_admin_and_a_known_shape(
    client: httpx.AsyncClient, signup: Any, invite_agent: Any, signer: Any
) -> None:
    owner = await signup()
    agent = await invite_agent(owner, role="agent")
    tx = signer.transaction(original_transaction_id=new_otid(), app_account_token=owner.account_id)
    resp = await client.post(TRANSACTIONS, json={"signed_transaction": tx}, headers=agent.headers)
    assert resp.status_code == 403 and resp.json()["code"] == "admin_only"
    resp = await client.post(TRANSACTIONS, json={"signed_transaction": tx})
    assert resp.status_code == 401
    resp = await client.post(
        TRANSACTIONS, json={"signed_transaction": tx, "plan": "premium"}, headers=owner.headers
    )
    assert resp.status_code == 422 and resp.json()["code"] == "validation_error"
    assert (await subscription(client, owner))["plan"] == "free"


async def test_refunded_transaction_posted_by_the_app_gives_no_premium(
    client: httpx.AsyncClient, signup: Any, signer: Any
) -> None:
    owner = await signup()
    tx = signer.transaction(
        original_transaction_id=new_otid(), app_account_token=owner.account_id, revoked=True
    )
    resp = await client.post(TRANSACTIONS, json={"signed_transaction": tx}, headers=owner.headers)
    assert resp.status_code == 200
    assert resp.json()["plan"] == "free" and resp.json()["status"] == "refunded"


# --- Apple's notifications ---------------------------------------------------------------------
async def test_subscribed_then_renewals_map_through_the_original_transaction(
    client: httpx.AsyncClient, signup: Any, signer: Any, engine: AsyncEngine
) -> None:
    owner = await signup()
    otid = new_otid()
    await subscribe(client, signer, owner, otid)
    first = await subscription(client, owner)
    assert first["plan"] == "premium" and first["auto_renew"] is True
    assert first["source"] == "app_store"

    # Renewals carry no appAccountToken: the original transaction id maps them.
    tx = signer.transaction(
        original_transaction_id=otid, app_account_token=None, expires_in=60 * 86400
    )
    renewal = signer.renewal(original_transaction_id=otid)
    payload = signer.notification("DID_RENEW", signed_transaction=tx, signed_renewal=renewal)
    assert (await notify(client, payload))["outcome"] == "applied"
    renewed = await subscription(client, owner)
    assert renewed["plan"] == "premium"
    assert renewed["expires_at"] > first["expires_at"]
    recorded = await rows(
        engine,
        "SELECT notification_type, outcome, account_id FROM auth.app_store_notifications "
        "WHERE original_transaction_id = :o ORDER BY received_at",
        o=otid,
    )
    assert [(r.notification_type, r.outcome) for r in recorded] == [
        ("SUBSCRIBED", "applied"),
        ("DID_RENEW", "applied"),
    ]
    assert {str(r.account_id) for r in recorded} == {owner.account_id}


async def test_auto_renew_turned_off_keeps_premium_until_expiry(
    client: httpx.AsyncClient, signup: Any, signer: Any, events: Any
) -> None:
    owner = await signup()
    otid = new_otid()
    await subscribe(client, signer, owner, otid)
    before = await subscription(client, owner)
    tx = signer.transaction(original_transaction_id=otid, app_account_token=None)
    renewal = signer.renewal(original_transaction_id=otid, auto_renew=False)
    payload = signer.notification(
        "DID_CHANGE_RENEWAL_STATUS",
        "AUTO_RENEW_DISABLED",
        signed_transaction=tx,
        signed_renewal=renewal,
    )
    assert (await notify(client, payload))["outcome"] == "applied"
    after = await subscription(client, owner)
    assert after["auto_renew"] is False
    assert after["plan"] == "premium" and after["expires_at"] == before["expires_at"]
    assert len(await events(owner.account_id, "auth.subscription.changed")) == 1


async def test_billing_grace_period_keeps_premium_until_it_expires(
    client: httpx.AsyncClient, signup: Any, signer: Any, events: Any
) -> None:
    owner = await signup()
    otid = new_otid()
    await subscribe(client, signer, owner, otid)
    tx = signer.transaction(original_transaction_id=otid, app_account_token=None, expires_in=-60)
    renewal = signer.renewal(original_transaction_id=otid, grace_period_expires_in=6 * 86400)
    payload = signer.notification(
        "DID_FAIL_TO_RENEW", "GRACE_PERIOD", signed_transaction=tx, signed_renewal=renewal
    )
    assert (await notify(client, payload))["outcome"] == "applied"
    grace = await subscription(client, owner)
    assert grace["plan"] == "premium" and grace["status"] == "grace_period"
    assert grace["effective_plan"] == "premium"
    expires = datetime.fromisoformat(grace["expires_at"]) - datetime.now(UTC)
    assert 5 * 86400 < expires.total_seconds() <= 6 * 86400

    payload = signer.notification("GRACE_PERIOD_EXPIRED", signed_transaction=tx)
    assert (await notify(client, payload))["outcome"] == "applied"
    ended = await subscription(client, owner)
    assert ended["plan"] == "free" and ended["status"] == "expired"
    assert ended["entitlements"]["max_agents"] == 3
    changed = await events(owner.account_id, "auth.subscription.changed")
    assert [(e["plan"], e["status"]) for e in changed] == [
        ("premium", "active"),
        ("premium", "grace_period"),
        ("free", "expired"),
    ]


async def test_failed_renewal_without_grace_period_ends_premium(
    client: httpx.AsyncClient, signup: Any, signer: Any
) -> None:
    owner = await signup()
    otid = new_otid()
    await subscribe(client, signer, owner, otid)
    tx = signer.transaction(original_transaction_id=otid, app_account_token=None, expires_in=-60)
    payload = signer.notification(
        "DID_FAIL_TO_RENEW",
        signed_transaction=tx,
        signed_renewal=signer.renewal(original_transaction_id=otid),
    )
    assert (await notify(client, payload))["outcome"] == "applied"
    sub = await subscription(client, owner)
    assert sub["plan"] == "free" and sub["status"] == "billing_retry"


@pytest.mark.parametrize(
    ("notification_type", "subtype", "status"),
    [
        ("REFUND", None, "refunded"),
        ("REVOKE", None, "revoked"),
        ("EXPIRED", "VOLUNTARY", "expired"),
        ("EXPIRED", "BILLING_RETRY", "expired"),
    ],
)
async def test_refund_revoke_and_expiry_make_the_account_free_at_once(
    client: httpx.AsyncClient,
    signup: Any,
    signer: Any,
    events: Any,
    notification_type: str,
    subtype: str | None,
    status: str,
) -> None:
    owner = await signup()
    otid = new_otid()
    await subscribe(client, signer, owner, otid)
    # The paid period has not ended, yet access ends now.
    tx = signer.transaction(
        original_transaction_id=otid, app_account_token=None, revoked=status == "refunded"
    )
    payload = signer.notification(notification_type, subtype, signed_transaction=tx)
    assert (await notify(client, payload))["outcome"] == "applied"
    sub = await subscription(client, owner)
    assert sub["plan"] == "free" and sub["effective_plan"] == "free"
    assert sub["status"] == status and sub["expires_at"] is None
    assert sub["entitlements"]["max_agents"] == 3
    last = (await events(owner.account_id, "auth.subscription.changed"))[-1]
    assert last["plan"] == "free" and last["status"] == status
    assert last["entitlements"]["max_active_chatbots"] == 1


async def test_refund_reversed_restores_premium(
    client: httpx.AsyncClient, signup: Any, signer: Any
) -> None:
    owner = await signup()
    otid = new_otid()
    await subscribe(client, signer, owner, otid)
    tx = signer.transaction(original_transaction_id=otid, app_account_token=None, revoked=True)
    await notify(client, signer.notification("REFUND", signed_transaction=tx))
    assert (await subscription(client, owner))["status"] == "refunded"
    tx = signer.transaction(original_transaction_id=otid, app_account_token=None)
    payload = signer.notification("REFUND_REVERSED", signed_transaction=tx)
    assert (await notify(client, payload))["outcome"] == "applied"
    sub = await subscription(client, owner)
    assert sub["plan"] == "premium" and sub["status"] == "active"


async def test_a_repeated_notification_changes_nothing(
    client: httpx.AsyncClient, signup: Any, signer: Any, events: Any, engine: AsyncEngine
) -> None:
    owner = await signup()
    otid = new_otid()
    await subscribe(client, signer, owner, otid)
    tx = signer.transaction(original_transaction_id=otid, app_account_token=None, revoked=True)
    refund = signer.notification("REFUND", signed_transaction=tx)
    assert (await notify(client, refund))["outcome"] == "applied"
    tx = signer.transaction(original_transaction_id=otid, app_account_token=None)
    reversed_ = signer.notification("REFUND_REVERSED", signed_transaction=tx)
    assert (await notify(client, reversed_))["outcome"] == "applied"
    count = len(await events(owner.account_id, "auth.subscription.changed"))

    # Apple retries the REFUND (same notificationUUID): acknowledged, nothing changes.
    assert (await notify(client, refund))["outcome"] == "duplicate"
    assert (await subscription(client, owner))["plan"] == "premium"
    assert len(await events(owner.account_id, "auth.subscription.changed")) == count
    sql = "SELECT 1 FROM auth.app_store_notifications WHERE original_transaction_id = :o"
    assert len(await rows(engine, sql, o=otid)) == 3


async def test_a_notification_older_than_the_last_applied_is_ignored(
    client: httpx.AsyncClient, signup: Any, signer: Any, engine: AsyncEngine
) -> None:
    owner = await signup()
    otid = new_otid()
    await subscribe(client, signer, owner, otid)
    # EXPIRED signed a minute ago arrives after a DID_RENEW signed now.
    late = signer.notification(
        "EXPIRED",
        "VOLUNTARY",
        signed_transaction=signer.transaction(original_transaction_id=otid, app_account_token=None),
        signed_at=S.now_ms(-60),
    )
    tx = signer.transaction(original_transaction_id=otid, app_account_token=None)
    renew = signer.notification("DID_RENEW", signed_transaction=tx)
    assert (await notify(client, renew))["outcome"] == "applied"
    assert (await notify(client, late))["outcome"] == "out_of_order"
    sub = await subscription(client, owner)
    assert sub["plan"] == "premium" and sub["status"] == "active"
    recorded = await rows(
        engine,
        "SELECT outcome FROM auth.app_store_notifications "
        "WHERE original_transaction_id = :o AND notification_type = 'EXPIRED'",
        o=otid,
    )
    assert [r.outcome for r in recorded] == ["out_of_order"]


async def test_unknown_account_is_acknowledged_and_recorded(
    client: httpx.AsyncClient, signer: Any, engine: AsyncEngine
) -> None:
    otid = new_otid()
    tx = signer.transaction(original_transaction_id=otid, app_account_token=uuid.uuid4())
    payload = signer.notification("SUBSCRIBED", "INITIAL_BUY", signed_transaction=tx)
    assert (await notify(client, payload))["outcome"] == "unknown_account"
    recorded = await rows(
        engine,
        "SELECT outcome, account_id FROM auth.app_store_notifications "
        "WHERE original_transaction_id = :o",
        o=otid,
    )
    assert [(r.outcome, r.account_id) for r in recorded] == [("unknown_account", None)]
    sql = "SELECT 1 FROM auth.app_store_subscriptions WHERE original_transaction_id = :o"
    assert await rows(engine, sql, o=otid) == []


async def test_test_notification_is_acknowledged(
    client: httpx.AsyncClient, signer: Any, engine: AsyncEngine
) -> None:
    notification_uuid = str(uuid.uuid4())
    payload = signer.notification("TEST", notification_uuid=notification_uuid)
    assert await notify(client, payload) == {"received": True, "outcome": "test"}
    recorded = await rows(
        engine,
        "SELECT notification_type, outcome FROM auth.app_store_notifications "
        "WHERE notification_uuid = :u",
        u=notification_uuid,
    )
    assert [(r.notification_type, r.outcome) for r in recorded] == [("TEST", "test")]


# --- what is refused ---------------------------------------------------------------------------
async def _refused(
    client: httpx.AsyncClient, engine: AsyncEngine, payload: str, reason: str | None
) -> None:
    before = await rows(engine, "SELECT count(*) AS n FROM auth.app_store_notifications")
    resp = await client.post(NOTIFICATIONS, json={"signedPayload": payload})
    assert resp.status_code == 400, resp.text
    assert resp.headers["content-type"] == "application/problem+json"
    body = resp.json()
    assert body["code"] == "app_store_verification_failed"
    if reason is not None:
        assert body["reason"] == reason
    assert await rows(engine, "SELECT count(*) AS n FROM auth.app_store_notifications") == before


async def test_notification_signed_under_another_root_is_refused(
    client: httpx.AsyncClient, signup: Any, stranger: Any, engine: AsyncEngine
) -> None:
    owner = await signup()
    otid = new_otid()
    tx = stranger.transaction(original_transaction_id=otid, app_account_token=owner.account_id)
    payload = stranger.notification("SUBSCRIBED", "INITIAL_BUY", signed_transaction=tx)
    await _refused(client, engine, payload, "verification_failure")
    assert (await subscription(client, owner))["plan"] == "free"


async def test_forged_inner_transaction_is_refused(
    client: httpx.AsyncClient, signup: Any, signer: Any, stranger: Any, engine: AsyncEngine
) -> None:
    owner = await signup()
    forged = stranger.transaction(
        original_transaction_id=new_otid(), app_account_token=owner.account_id
    )
    payload = signer.notification("SUBSCRIBED", "INITIAL_BUY", signed_transaction=forged)
    await _refused(client, engine, payload, "verification_failure")
    resp = await client.post(
        TRANSACTIONS, json={"signed_transaction": forged}, headers=owner.headers
    )
    assert resp.status_code == 400 and resp.json()["code"] == "app_store_verification_failed"
    assert (await subscription(client, owner))["plan"] == "free"


async def test_certificates_without_apple_extensions_are_refused(
    client: httpx.AsyncClient, signup: Any, tmp_path: Path, engine: AsyncEngine
) -> None:
    plain = S.AppStoreSigner(tmp_path / "plain", apple_oids=False)
    _configure(
        app_store_root_certs=[str(plain.root_file)],
        app_store_bundle_id=S.BUNDLE_ID,
        app_store_app_apple_id=S.APP_APPLE_ID,
    )
    owner = await signup()
    tx = plain.transaction(original_transaction_id=new_otid(), app_account_token=owner.account_id)
    payload = plain.notification("SUBSCRIBED", "INITIAL_BUY", signed_transaction=tx)
    await _refused(client, engine, payload, "verification_failure")


async def test_other_app_or_environment_is_refused(
    client: httpx.AsyncClient, signup: Any, signer: Any, engine: AsyncEngine
) -> None:
    owner = await signup()
    otid = new_otid()
    tx = signer.transaction(original_transaction_id=otid, app_account_token=owner.account_id)
    other_app = signer.notification("SUBSCRIBED", signed_transaction=tx, bundle_id="com.other")
    await _refused(client, engine, other_app, "invalid_app_identifier")
    other_id = signer.notification("SUBSCRIBED", signed_transaction=tx, app_apple_id=42)
    await _refused(client, engine, other_id, "invalid_app_identifier")
    sandbox = signer.notification("SUBSCRIBED", signed_transaction=tx, environment="Sandbox")
    await _refused(client, engine, sandbox, "invalid_environment")
    # A correct envelope around a transaction of another app.
    foreign_tx = signer.transaction(
        original_transaction_id=otid, app_account_token=owner.account_id, bundle_id="com.other"
    )
    payload = signer.notification("SUBSCRIBED", signed_transaction=foreign_tx)
    await _refused(client, engine, payload, "invalid_app_identifier")
    assert (await subscription(client, owner))["plan"] == "free"


async def test_garbage_is_refused(client: httpx.AsyncClient, engine: AsyncEngine) -> None:
    await _refused(client, engine, "not.a.jws", "verification_failure")
    resp = await client.post(NOTIFICATIONS, json={"payload": "x"})
    assert resp.status_code == 422 and resp.json()["code"] == "validation_error"


async def test_garbage_is_refused_whatever_the_configuration(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    _configure(app_store_root_certs=[])
    for garbage in ("not.a.jws", "x", "eyJhbGciOiJub25lIn0.e30.", "eyJhbGciOiJFUzI1NiJ9.e30.c2ln"):
        await _refused(client, engine, garbage, "verification_failure")


async def test_unconfigured_server_answers_503_so_apple_retries(
    client: httpx.AsyncClient, signer: Any
) -> None:
    _configure(app_store_root_certs=[])
    resp = await client.post(NOTIFICATIONS, json={"signedPayload": signer.notification("TEST")})
    assert resp.status_code == 503 and resp.json()["code"] == "app_store_unavailable"
