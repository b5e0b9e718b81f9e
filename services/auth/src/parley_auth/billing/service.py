"""App Store use cases: a notification from Apple, a transaction posted by the app. Both end in
``apply_subscription_change`` (which emits auth.subscription.changed) when the plan changes."""

from __future__ import annotations

import logging
import uuid
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from parley_auth import repository as auth_repo
from parley_auth.billing import repository as repo
from parley_auth.billing import state
from parley_auth.billing.errors import AppAccountTokenMissing, AppStoreTransactionNotFound
from parley_auth.billing.models import AppStoreSubscription
from parley_auth.billing.verifier import (
    Notification,
    Transaction,
    verify_notification,
    verify_transaction,
)
from parley_auth.config import AuthSettings
from parley_auth.schemas import SubscriptionOut
from parley_auth.subscriptions import apply_subscription_change, get_subscription

log = logging.getLogger("parley.auth.app_store")

SOURCE = "app_store"


async def receive_notification(
    session: AsyncSession, *, settings: AuthSettings, signed_payload: str
) -> str:
    """Verify and apply one App Store Server Notification; returns its outcome. A repeated
    notificationUUID changes nothing ("duplicate")."""
    notification = await verify_notification(settings, signed_payload)
    if not await repo.record_notification(session, notification):
        return "duplicate"
    outcome, account_id = await _apply(session, notification)
    await repo.set_notification_outcome(
        session, notification.notification_uuid, outcome, account_id
    )
    log.info(
        "app store notification %s %s/%s: %s",
        notification.notification_uuid,
        notification.type,
        notification.subtype,
        outcome,
    )
    return outcome


async def _apply(session: AsyncSession, n: Notification) -> tuple[str, uuid.UUID | None]:
    if n.type == "TEST":
        return "test", None
    if n.type not in state.HANDLED or n.transaction is None:
        return "ignored", None
    row = await _locked_subscription(session, n.transaction, None)
    if row is None:
        # Acknowledged (Apple stops retrying) and recorded; nothing to change.
        return "unknown_account", None
    if row.last_signed_at is not None and n.signed_at < row.last_signed_at:
        return "out_of_order", row.account_id
    known = row if row.last_signed_at is not None else None
    _update(row, n.transaction, state.after_notification(n, known), n.signed_at)
    await _sync_account(session, row.account_id)
    return "applied", row.account_id


async def register_transaction(
    session: AsyncSession,
    *,
    settings: AuthSettings,
    account_id: uuid.UUID,
    signed_transaction: str,
) -> SubscriptionOut:
    """The app's purchase, posted right after StoreKit returned it: premium now, without
    waiting for Apple's SUBSCRIBED notification."""
    tx = await verify_transaction(settings, signed_transaction)
    if tx.app_account_token is None:
        raise AppAccountTokenMissing()
    if tx.app_account_token != account_id:
        raise AppStoreTransactionNotFound()
    row = await _locked_subscription(session, tx, account_id)
    if row is None or row.account_id != account_id:
        raise AppStoreTransactionNotFound()
    if row.last_signed_at is None or tx.signed_at >= row.last_signed_at:
        _update(row, tx, state.from_transaction(tx, row.auto_renew), tx.signed_at)
        await _sync_account(session, account_id)
    return await get_subscription(session, account_id)


async def _locked_subscription(
    session: AsyncSession, tx: Transaction, account_id: uuid.UUID | None
) -> AppStoreSubscription | None:
    """The subscription row of ``tx`` (locked), created on first sight for the account named
    by ``account_id`` or else by the transaction's appAccountToken; None if no account."""
    row = await repo.subscription_by_original_transaction(session, tx.original_transaction_id)
    if row is not None:
        return row
    account_id = account_id or tx.app_account_token
    if account_id is None or await auth_repo.get_account(session, account_id) is None:
        return None
    new = AppStoreSubscription(
        original_transaction_id=tx.original_transaction_id,
        account_id=account_id,
        product_id=tx.product_id,
        environment=tx.environment,
        status="active",
        expires_at=tx.expires_at,
        last_transaction_id=tx.transaction_id,
    )
    await repo.insert_subscription(session, new)
    return await repo.subscription_by_original_transaction(session, tx.original_transaction_id)


def _update(
    row: AppStoreSubscription, tx: Transaction, new: state.State, signed_at: datetime
) -> None:
    row.status, row.expires_at, row.auto_renew = new.status, new.expires_at, new.auto_renew
    row.product_id, row.environment = tx.product_id, tx.environment
    row.last_transaction_id, row.last_signed_at = tx.transaction_id, signed_at
    row.updated_at = datetime.now(UTC)


async def _sync_account(session: AsyncSession, account_id: uuid.UUID) -> None:
    """Set the account's plan from its App Store subscriptions, if that changes it."""
    await session.flush()
    # Lock the plan first: a concurrent change of another of the account's App Store
    # subscriptions commits before we read them all.
    current = await auth_repo.get_subscription(session, account_id, for_update=True)
    row = state.deciding(await repo.account_subscriptions(session, account_id))
    if row is None:
        return
    if state.is_entitled(row, datetime.now(UTC)):
        plan, status, expires_at = "premium", row.status, row.expires_at
    else:
        plan, status, expires_at = "free", row.status, None
    if current is not None and (current.plan, current.status, current.expires_at) == (
        plan,
        status,
        expires_at,
    ):
        if current.source == SOURCE:
            return
    await apply_subscription_change(session, account_id, plan, status, expires_at, SOURCE)
