"""The chat service's tables (schema `chat`).

`accounts`, `agents` and `visitors` are projections of auth and visitors events; the rest is
chat's own truth. Messages carry a bigint `seq` (one sequence for the table) that orders them
and backs read markers and cursors.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    DateTime,
    Identity,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    Uuid,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from parley_common.db import schema_metadata


class Base(DeclarativeBase):
    metadata = schema_metadata("chat")


NOW = func.now()


class Account(Base):
    __tablename__ = "accounts"
    account_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    timezone: Mapped[str] = mapped_column(String(64), default="UTC", server_default="UTC")
    rating_enabled: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")
    auto_assign: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")
    auto_resolve_minutes: Mapped[int | None] = mapped_column(Integer)
    last_assigned_agent_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)


class Agent(Base):
    __tablename__ = "agents"
    account_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    agent_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    name: Mapped[str | None] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(320))
    role: Mapped[str | None] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(20), default="offline", server_default="offline")
    removed: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")


class Visitor(Base):
    __tablename__ = "visitors"
    account_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    visitor_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    name: Mapped[str | None] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(320))
    label: Mapped[str | None] = mapped_column(String(200))
    blocked: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")


class Conversation(Base):
    __tablename__ = "conversations"
    __table_args__ = (
        Index("ix_conversations_activity", "account_id", "last_activity_at", "id"),
        Index("ix_conversations_visitor", "account_id", "visitor_id", "created_at"),
        # At most one open conversation per visitor: concurrent first messages cannot fork.
        Index(
            "uq_conversations_open_visitor",
            "account_id",
            "visitor_id",
            unique=True,
            postgresql_where=text("status = 'open'"),
        ),
    )
    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    account_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    visitor_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    status: Mapped[str] = mapped_column(String(16))
    channel: Mapped[str] = mapped_column(String(20))
    started_by: Mapped[str] = mapped_column(String(20))
    assignee_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    agent_ids: Mapped[list[uuid.UUID]] = mapped_column(ARRAY(Uuid), server_default="{}")
    last_seq: Mapped[int] = mapped_column(BigInteger, server_default="0")
    last_message_preview: Mapped[str | None] = mapped_column(String(200))
    last_message_author_type: Mapped[str | None] = mapped_column(String(16))
    last_message_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_activity_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    first_visitor_message_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    first_agent_reply_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    resolved_by: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    rating_requested: Mapped[bool] = mapped_column(Boolean, server_default="false")
    rating: Mapped[int | None] = mapped_column(Integer)
    rating_label: Mapped[str | None] = mapped_column(String(8))
    rating_comment: Mapped[str | None] = mapped_column(Text)
    rated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class Message(Base):
    __tablename__ = "messages"
    __table_args__ = (
        Index("ix_messages_conversation_seq", "conversation_id", "seq"),
        # A retried send with the same client_message_id never stores a second message.
        Index(
            "uq_messages_client_id",
            "account_id",
            "author_id",
            "client_message_id",
            unique=True,
            postgresql_where=text("client_message_id IS NOT NULL"),
        ),
    )
    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger, Identity(always=True), unique=True)
    account_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    conversation_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    author_type: Mapped[str] = mapped_column(String(16))
    author_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    author_name: Mapped[str | None] = mapped_column(String(200))
    text: Mapped[str] = mapped_column(Text)
    channel: Mapped[str] = mapped_column(String(16))
    client_message_id: Mapped[str | None] = mapped_column(String(100))
    attachments: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, server_default="[]")
    # An internal note: agents only (never the widget, transcripts, e-mail or Messenger).
    internal: Mapped[bool] = mapped_column(Boolean, server_default="false")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # An e-mail or Messenger message, sent by the worker after commit (messages/delivery.py):
    # {"status": "pending" | "sent" | "failed", "code", "detail"}; NULL when nothing sends it.
    delivery: Mapped[dict[str, Any] | None] = mapped_column(JSONB)


class ReadMarker(Base):
    __tablename__ = "read_markers"
    account_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    conversation_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    agent_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    last_read_seq: Mapped[int] = mapped_column(BigInteger, server_default="0")
    marked_unread: Mapped[bool] = mapped_column(Boolean, server_default="false")


class Attachment(Base):
    __tablename__ = "attachments"
    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    account_id: Mapped[uuid.UUID] = mapped_column(Uuid, index=True)
    uploader_type: Mapped[str] = mapped_column(String(16))
    uploader_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    conversation_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    message_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    name: Mapped[str] = mapped_column(String(255))
    size: Mapped[int] = mapped_column(BigInteger)
    content_type: Mapped[str] = mapped_column(String(100))
    storage_key: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=NOW)


class Shortcut(Base):
    __tablename__ = "shortcuts"
    __table_args__ = (UniqueConstraint("account_id", "name", name="uq_shortcuts_account_name"),)
    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    account_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    name: Mapped[str] = mapped_column(String(100))
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=NOW)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=NOW)
