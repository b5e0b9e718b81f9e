"""App Store tables: the subscriptions Apple reports (one row per original transaction) and
every notification received (the idempotency key and the audit trail)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sqlalchemy import Boolean, DateTime, ForeignKey, String, func
from sqlalchemy.orm import Mapped, mapped_column

from parley_auth.models import Base


def _now() -> datetime:
    return datetime.now(UTC)


class AppStoreSubscription(Base):
    """An App Store subscription (its original transaction) and the account it belongs to.
    Later notifications carry no appAccountToken reliably; this row maps them."""

    __tablename__ = "app_store_subscriptions"

    original_transaction_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    account_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("auth.accounts.id", ondelete="CASCADE"), index=True
    )
    product_id: Mapped[str] = mapped_column(String(200))
    environment: Mapped[str] = mapped_column(String(20))
    # active, grace_period, billing_retry, expired, refunded, revoked
    status: Mapped[str] = mapped_column(String(20))
    expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    auto_renew: Mapped[bool | None] = mapped_column(Boolean)
    last_transaction_id: Mapped[str] = mapped_column(String(64))
    # The signedDate of the newest data applied (None: nothing yet); anything signed earlier
    # arrived out of order and is ignored.
    last_signed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=_now, server_default=func.now()
    )
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=_now, server_default=func.now()
    )


class AppStoreNotification(Base):
    """One App Store Server Notification, recorded once by its notificationUUID."""

    __tablename__ = "app_store_notifications"

    notification_uuid: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    notification_type: Mapped[str] = mapped_column(String(50))
    subtype: Mapped[str | None] = mapped_column(String(50))
    signed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    original_transaction_id: Mapped[str | None] = mapped_column(String(64), index=True)
    # Null when the notification maps to no Parley account.
    account_id: Mapped[uuid.UUID | None] = mapped_column(index=True)
    # applied, unchanged, out_of_order, unknown_account, test, ignored
    outcome: Mapped[str] = mapped_column(String(20))
    received_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=_now, server_default=func.now()
    )
