"""Queries on the App Store tables. A subscription is found by its original transaction id
(Apple's identifier, which names the tenant) or listed by account_id."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from parley_auth.billing.models import AppStoreNotification, AppStoreSubscription
from parley_auth.billing.verifier import Notification


async def record_notification(session: AsyncSession, notification: Notification) -> bool:
    """Insert the notification once; False when its notificationUUID was already recorded
    (a concurrent duplicate waits here for the first to commit)."""
    tx = notification.transaction
    statement = (
        insert(AppStoreNotification)
        .values(
            notification_uuid=notification.notification_uuid,
            notification_type=notification.type,
            subtype=notification.subtype,
            signed_at=notification.signed_at,
            original_transaction_id=tx.original_transaction_id if tx else None,
            outcome="received",
        )
        .on_conflict_do_nothing(index_elements=["notification_uuid"])
        .returning(AppStoreNotification.notification_uuid)
    )
    return (await session.execute(statement)).scalar_one_or_none() is not None


async def set_notification_outcome(
    session: AsyncSession,
    notification_uuid: uuid.UUID,
    outcome: str,
    account_id: uuid.UUID | None,
) -> None:
    row = await session.get(AppStoreNotification, notification_uuid)
    assert row is not None
    row.outcome, row.account_id = outcome, account_id
    await session.flush()


async def subscription_by_original_transaction(
    session: AsyncSession, original_transaction_id: str
) -> AppStoreSubscription | None:
    """Locked: notifications for one subscription are applied one at a time."""
    query = (
        select(AppStoreSubscription)
        .where(AppStoreSubscription.original_transaction_id == original_transaction_id)
        .with_for_update()
    )
    return (await session.execute(query)).scalar_one_or_none()


async def insert_subscription(session: AsyncSession, subscription: AppStoreSubscription) -> None:
    """Insert a new mapping unless a concurrent request already did (then theirs stays);
    lock and read it back with ``subscription_by_original_transaction``."""
    values = {
        c.key: getattr(subscription, c.key)
        for c in AppStoreSubscription.__table__.columns
        if getattr(subscription, c.key) is not None
    }
    statement = (
        insert(AppStoreSubscription)
        .values(**values)
        .on_conflict_do_nothing(index_elements=["original_transaction_id"])
    )
    await session.execute(statement)


async def account_subscriptions(
    session: AsyncSession, account_id: uuid.UUID
) -> Sequence[AppStoreSubscription]:
    query = (
        select(AppStoreSubscription)
        .where(AppStoreSubscription.account_id == account_id)
        .order_by(AppStoreSubscription.updated_at.desc())
    )
    return (await session.execute(query)).scalars().all()
