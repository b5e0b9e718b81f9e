"""The visitors service's tables (schema `visitors`)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import DateTime, ForeignKey, Index, Integer, String, Text, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from parley_common.db import schema_metadata


class Base(DeclarativeBase):
    metadata = schema_metadata("visitors")


class Account(Base):
    """Projection of auth's accounts: the widget key and the chat box settings."""

    __tablename__ = "accounts"

    account_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    widget_key: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    settings: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    # Is an agent online? Kept with agent_statuses (see repository.refresh_agents_online).
    agents_online: Mapped[bool] = mapped_column(default=False, server_default="false")
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class AgentStatus(Base):
    """Projection of auth's agent statuses: is anyone online to answer the chat box?"""

    __tablename__ = "agent_statuses"

    account_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    agent_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    status: Mapped[str] = mapped_column(String(16))
    # The occurred_at of the event that set it: an older event handled later changes nothing.
    status_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class OpenConversation(Base):
    """Projection of chat's open conversations, for the "chatting" filter."""

    __tablename__ = "open_conversations"
    __table_args__ = (Index("ix_open_conversations_visitor", "account_id", "visitor_id"),)

    conversation_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    account_id: Mapped[uuid.UUID]
    visitor_id: Mapped[uuid.UUID]


class Visitor(Base):
    __tablename__ = "visitors"
    __table_args__ = (Index("ix_visitors_account_last_seen", "account_id", "last_seen_at", "id"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    account_id: Mapped[uuid.UUID]
    label: Mapped[str] = mapped_column(String(40))
    name: Mapped[str | None] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(320))
    phone: Mapped[str | None] = mapped_column(String(40))
    note: Mapped[str | None] = mapped_column(Text)
    custom: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    visits: Mapped[int] = mapped_column(Integer, default=1)
    first_seen_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    last_seen_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    user_agent: Mapped[str | None] = mapped_column(String(512))
    browser: Mapped[str | None] = mapped_column(String(100))
    os: Mapped[str | None] = mapped_column(String(100))
    device_type: Mapped[str | None] = mapped_column(String(20))
    country: Mapped[str | None] = mapped_column(String(2))
    referrer: Mapped[str | None] = mapped_column(String(2048))
    utm: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    last_url: Mapped[str | None] = mapped_column(String(2048))
    last_title: Mapped[str | None] = mapped_column(String(500))
    blocked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # "web" (the chat box) or "facebook" (a Messenger user, made a visitor by chat's event).
    channel: Mapped[str] = mapped_column(String(20), default="web", server_default="web")
    avatar_url: Mapped[str | None] = mapped_column(String(2048))
    facebook: Mapped[dict[str, Any] | None] = mapped_column(JSONB)

    @property
    def display_name(self) -> str:
        return self.name or self.label


class PageView(Base):
    """One page of a visitor's browsing history."""

    __tablename__ = "page_views"
    __table_args__ = (
        Index("ix_page_views_visitor", "account_id", "visitor_id", "viewed_at", "id"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    account_id: Mapped[uuid.UUID]
    visitor_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("visitors.visitors.id", ondelete="CASCADE")
    )
    url: Mapped[str] = mapped_column(String(2048))
    title: Mapped[str] = mapped_column(String(500), default="")
    viewed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    duration_seconds: Mapped[int | None] = mapped_column(Integer)


class Erasure(Base):
    """A GDPR erasure of a visitor: which services have erased their part."""

    __tablename__ = "erasures"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    account_id: Mapped[uuid.UUID] = mapped_column(index=True)
    visitor_id: Mapped[uuid.UUID]
    services: Mapped[dict[str, bool]] = mapped_column(JSONB)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    completed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
