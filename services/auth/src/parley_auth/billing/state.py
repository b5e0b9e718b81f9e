"""What an App Store notification means for a subscription, and which of an account's App Store
subscriptions decides its plan. Pure functions: no I/O."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from parley_auth.billing.models import AppStoreSubscription
from parley_auth.billing.verifier import Notification, Transaction

# Paid and usable: premium until expires_at.
ENTITLED = ("active", "grace_period")

# Notifications whose transaction is the subscription's current state.
FROM_TRANSACTION = {
    "SUBSCRIBED",
    "DID_RENEW",
    "RENEWAL_EXTENDED",
    "REFUND_REVERSED",
    "OFFER_REDEEMED",
}
# Notifications that end access now, whatever the expiry date says.
ENDING = {
    "EXPIRED": "expired",
    "GRACE_PERIOD_EXPIRED": "expired",
    "REFUND": "refunded",
    "REVOKE": "revoked",
}
# Notifications that change only the renewal info (auto-renew on/off, next product, price).
RENEWAL_ONLY = {"DID_CHANGE_RENEWAL_STATUS", "DID_CHANGE_RENEWAL_PREF", "PRICE_INCREASE"}
HANDLED = FROM_TRANSACTION | set(ENDING) | RENEWAL_ONLY | {"DID_FAIL_TO_RENEW"}


@dataclass(frozen=True, slots=True)
class State:
    status: str
    expires_at: datetime | None
    auto_renew: bool | None


def from_transaction(tx: Transaction, auto_renew: bool | None) -> State:
    return State("refunded" if tx.revoked_at else "active", tx.expires_at, auto_renew)


def after_notification(n: Notification, current: AppStoreSubscription | None) -> State:
    """The subscription's state once ``n`` (a HANDLED type with a transaction) is applied."""
    assert n.transaction is not None
    tx = n.transaction
    auto_renew = n.renewal.auto_renew if n.renewal else (current.auto_renew if current else None)
    if n.type in ENDING:
        return State(ENDING[n.type], tx.expires_at, auto_renew)
    if n.type == "DID_FAIL_TO_RENEW":
        if n.subtype == "GRACE_PERIOD":
            grace = n.renewal.grace_period_expires_at if n.renewal else None
            return State("grace_period", grace or tx.expires_at, auto_renew)
        # Billing retry without a grace period: no access after the paid period.
        return State("billing_retry", tx.expires_at, auto_renew)
    if n.type in RENEWAL_ONLY and current is not None:
        return State(current.status, current.expires_at, auto_renew)
    return from_transaction(tx, auto_renew)


def is_entitled(row: AppStoreSubscription, now: datetime) -> bool:
    return row.status in ENTITLED and (row.expires_at is None or row.expires_at > now)


def deciding(
    rows: Sequence[AppStoreSubscription], now: datetime | None = None
) -> AppStoreSubscription | None:
    """The subscription that decides the plan: the entitled one lasting longest, else the one
    changed last (``rows`` newest first)."""
    now = now or datetime.now(UTC)
    entitled = [row for row in rows if is_entitled(row, now)]
    if entitled:
        return max(entitled, key=lambda row: row.expires_at or datetime.max.replace(tzinfo=UTC))
    return rows[0] if rows else None
