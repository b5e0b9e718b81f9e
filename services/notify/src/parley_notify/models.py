"""The notify service's tables (schema `notify`).

Devices, notification settings and deliveries are notify's own truth; agents, conversations
and visitors are small projections kept from other services' events.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from parley_common.db import schema_metadata


class Base(DeclarativeBase):
    metadata = schema_metadata("notify")


class Agent(Base):
    """Projection of auth's agents: who can be notified, and how to reach them by e-mail."""

    __tablename__ = "agents"
    agent_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    account_id: Mapped[uuid.UUID] = mapped_column(index=True)
    name: Mapped[str | None] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(320))
    role: Mapped[str | None] = mapped_column(String(20))
    # None until auth tells us; treated as reachable (not offline).
    status: Mapped[str | None] = mapped_column(String(20))
    # The occurred_at of the event that set it: an older event handled later changes nothing.
    status_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class NotificationSettings(Base):
    __tablename__ = "notification_settings"
    agent_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    account_id: Mapped[uuid.UUID] = mapped_column(index=True)
    new_message: Mapped[bool] = mapped_column(Boolean, default=True)
    new_visitor: Mapped[bool] = mapped_column(Boolean, default=True)
    offline_notifications: Mapped[bool] = mapped_column(Boolean, default=True)
    sound: Mapped[bool] = mapped_column(Boolean, default=True)
    email_notifications: Mapped[bool] = mapped_column(Boolean, default=True)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class Device(Base):
    __tablename__ = "devices"
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    account_id: Mapped[uuid.UUID] = mapped_column(index=True)
    agent_id: Mapped[uuid.UUID] = mapped_column(index=True)
    session_id: Mapped[uuid.UUID | None] = mapped_column(index=True)
    token: Mapped[str] = mapped_column(String(200), unique=True)
    platform: Mapped[str] = mapped_column(String(10))
    environment: Mapped[str] = mapped_column(String(12))
    bundle_id: Mapped[str | None] = mapped_column(String(200))
    locale: Mapped[str | None] = mapped_column(String(35))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    # Last (re-)registration: an APNs 410 older than this does not remove the token.
    registered_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )


class Conversation(Base):
    """Projection of chat's conversations: assignee, unread state, awaiting an agent reply."""

    __tablename__ = "conversations"
    conversation_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    account_id: Mapped[uuid.UUID] = mapped_column(index=True)
    visitor_id: Mapped[uuid.UUID | None]
    visitor_name: Mapped[str | None] = mapped_column(String(200))
    assignee_id: Mapped[uuid.UUID | None]
    status: Mapped[str] = mapped_column(String(20), default="open")
    channel: Mapped[str | None] = mapped_column(String(30))
    last_visitor_message_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_visitor_text: Mapped[str | None] = mapped_column(Text)
    # First visitor message not answered by an agent yet; None when answered.
    awaiting_reply_since: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    missed_mail_sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Conversation-wide read state, for read events that name no agent.
    read_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    marked_unread: Mapped[bool] = mapped_column(Boolean, default=False)


class ConversationRead(Base):
    __tablename__ = "conversation_reads"
    conversation_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("conversations.conversation_id", ondelete="CASCADE"), primary_key=True
    )
    agent_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    account_id: Mapped[uuid.UUID]
    read_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    marked_unread: Mapped[bool] = mapped_column(Boolean, default=False)


class Account(Base):
    """Projection of the account's language (general settings), for e-mails to its agents."""

    __tablename__ = "accounts"
    account_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    language: Mapped[str] = mapped_column(String(8), default="en")


class Visitor(Base):
    """Projection of visitors' names, for push titles."""

    __tablename__ = "visitors"
    visitor_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    account_id: Mapped[uuid.UUID] = mapped_column(index=True)
    name: Mapped[str | None] = mapped_column(String(200))
    label: Mapped[str | None] = mapped_column(String(200))


class VisitorBurst(Base):
    """An open window of new-visitor arrivals of one account (coalesced into one push)."""

    __tablename__ = "visitor_bursts"
    account_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    opened_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    count: Mapped[int] = mapped_column(Integer, default=1)


class Push(Base):
    """One notification for one device, created once per (event, device)."""

    __tablename__ = "pushes"
    __table_args__ = (UniqueConstraint("event_id", "device_id", name="uq_pushes_event_device"),)
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    account_id: Mapped[uuid.UUID] = mapped_column(index=True)
    event_id: Mapped[uuid.UUID]
    device_id: Mapped[uuid.UUID]
    agent_id: Mapped[uuid.UUID]
    token: Mapped[str] = mapped_column(String(200))
    environment: Mapped[str] = mapped_column(String(12))
    topic: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(30))
    payload: Mapped[dict[str, Any]] = mapped_column(JSONB)
    collapse_id: Mapped[str | None] = mapped_column(String(64))
    priority: Mapped[int] = mapped_column(Integer, default=10)
    # pending → sending → sent | retrying → ... | failed | rejected (token removed)
    status: Mapped[str] = mapped_column(String(12), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    reason: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class Delivery(Base):
    """Every attempt to hand a push to APNs, with APNs' answer."""

    __tablename__ = "deliveries"
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    push_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("pushes.id", ondelete="CASCADE"), index=True
    )
    account_id: Mapped[uuid.UUID] = mapped_column(index=True)
    attempt: Mapped[int] = mapped_column(Integer)
    apns_id: Mapped[str] = mapped_column(String(36))
    # HTTP status from APNs; 0 when no answer came (connection failed).
    status: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str | None] = mapped_column(String(100))
    apns_timestamp: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class MailNotification(Base):
    """An e-mail to an agent, created once per (reason key, agent) and sent by the worker."""

    __tablename__ = "mail_notifications"
    __table_args__ = (
        UniqueConstraint("dedupe_key", "agent_id", name="uq_mail_notifications_key_agent"),
    )
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    account_id: Mapped[uuid.UUID] = mapped_column(index=True)
    agent_id: Mapped[uuid.UUID]
    dedupe_key: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(30))
    to_address: Mapped[str] = mapped_column(String(320))
    subject: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(12), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class Webhook(Base):
    """An integrator's URL subscribed to event types (outgoing webhooks)."""

    __tablename__ = "webhooks"
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    account_id: Mapped[uuid.UUID] = mapped_column(index=True)
    url: Mapped[str] = mapped_column(String(2048))
    events: Mapped[list[str]] = mapped_column(JSONB)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    # The HMAC key of X-Parley-Signature (shown once, at creation), sealed at rest
    # (parley_common.sealed).
    secret: Mapped[str] = mapped_column(Text)
    disabled_reason: Mapped[str | None] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class WebhookDelivery(Base):
    """One event for one webhook (its id is X-Parley-Delivery), retried until it succeeds or
    the retry window ends."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        UniqueConstraint("webhook_id", "event_id", name="uq_webhook_deliveries_event"),
    )
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    webhook_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("notify.webhooks.id", ondelete="CASCADE"), index=True
    )
    account_id: Mapped[uuid.UUID]
    event_id: Mapped[uuid.UUID]
    event_type: Mapped[str] = mapped_column(String(100))
    body: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(12), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), index=True)
    # The retry window (a day) counts from here.
    first_attempt_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class WebhookAttempt(Base):
    """Every try of a delivery, as listed by GET /webhooks/{id}/deliveries."""

    __tablename__ = "webhook_attempts"
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    delivery_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("notify.webhook_deliveries.id", ondelete="CASCADE"), index=True
    )
    webhook_id: Mapped[uuid.UUID] = mapped_column(index=True)
    account_id: Mapped[uuid.UUID]
    attempted_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    status_code: Mapped[int | None] = mapped_column(Integer)
    duration_ms: Mapped[int] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(String(500))
