"""Facebook tables (schema `chat`): the connected page of an account and its Messenger users."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import DateTime, Index, String, Text, UniqueConstraint, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from parley_chat.models import NOW, Base


class FacebookPage(Base):
    """One page per account; a page belongs to one account at a time."""

    __tablename__ = "facebook_pages"
    __table_args__ = (UniqueConstraint("page_id", name="uq_facebook_pages_page_id"),)
    account_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    page_id: Mapped[str] = mapped_column(String(64))
    page_name: Mapped[str | None] = mapped_column(String(200))
    # The page access token; never returned by the API (only its last 4 characters).
    access_token: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20))
    connected_by: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    connected_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=NOW)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=NOW)


class FacebookContact(Base):
    """A Messenger user (page-scoped id, PSID) as a chat visitor of the account."""

    __tablename__ = "facebook_contacts"
    __table_args__ = (
        Index("uq_facebook_contacts_visitor", "account_id", "visitor_id", unique=True),
    )
    account_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    page_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    psid: Mapped[str] = mapped_column(String(64), primary_key=True)
    visitor_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    name: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=NOW)
