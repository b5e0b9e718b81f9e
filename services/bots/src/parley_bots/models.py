"""The bots service's tables (schema `bots`).

``bots`` holds both automatic messages and chatbots (``kind``); ``bot_runs`` is one bot meeting
one visitor (scheduled, then fired once); ``account_plans`` and ``visitor_states`` are small
projections of auth's and visitors'/chat's events.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
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
    metadata = schema_metadata("bots")


AUTOMATIC_MESSAGE = "automatic_message"
CHATBOT = "chatbot"


class AccountPlan(Base):
    """Projection of auth's plan: how many chatbots the account may have enabled."""

    __tablename__ = "account_plans"
    account_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    plan: Mapped[str] = mapped_column(String(40))
    max_active_chatbots: Mapped[int | None] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )


class Bot(Base):
    __tablename__ = "bots"
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    account_id: Mapped[uuid.UUID] = mapped_column()
    kind: Mapped[str] = mapped_column(String(20))
    name: Mapped[str] = mapped_column(String(100))
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    trigger: Mapped[dict[str, Any]] = mapped_column(JSONB)
    conditions: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    delay_seconds: Mapped[int] = mapped_column(Integer, default=0)
    message: Mapped[str | None] = mapped_column(Text)  # automatic messages
    steps: Mapped[list[dict[str, Any]] | None] = mapped_column(JSONB)  # chatbots
    handover_message: Mapped[str | None] = mapped_column(Text)  # chatbots
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )


class VisitorState(Base):
    """What bots know about a visitor: where they are and whether an agent talks to them."""

    __tablename__ = "visitor_states"
    account_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    visitor_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    url: Mapped[str | None] = mapped_column(Text)
    returning: Mapped[bool] = mapped_column(Boolean, default=False)
    visits: Mapped[int] = mapped_column(Integer, default=1)
    agent_chatting: Mapped[bool] = mapped_column(Boolean, default=False)
    conversation_id: Mapped[uuid.UUID | None] = mapped_column()
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )


class BotRun(Base):
    """One bot for one visitor, at most once: scheduled, then fired (and for chatbots, run)."""

    __tablename__ = "bot_runs"
    __table_args__ = (UniqueConstraint("bot_id", "visitor_id"),)
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    account_id: Mapped[uuid.UUID] = mapped_column()
    bot_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("bots.id", ondelete="CASCADE"))
    visitor_id: Mapped[uuid.UUID] = mapped_column()
    conversation_id: Mapped[uuid.UUID | None] = mapped_column()
    # scheduled → sent (automatic message) | running → handover / ended / interrupted (chatbot)
    status: Mapped[str] = mapped_column(String(20))
    current_step_id: Mapped[str | None] = mapped_column(String(40))
    due_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    triggered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    replied_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    converted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
