"""Request and response models of the chat API."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, EmailStr, Field, model_validator

from parley_common.pagination import Page
from parley_common.text import MultilineText, Text

Channel = Literal["chat", "email"]
AuthorType = Literal["visitor", "agent", "bot", "system"]


class Request(BaseModel):
    model_config = ConfigDict(extra="forbid")


# --- requests ---------------------------------------------------------------------------------
class VisitorMessageIn(Request):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"text": "Hello, is shipping free?", "client_message_id": "c-1"}]
        },
    )
    text: MultilineText = Field(default="", max_length=10_000)
    client_message_id: Text | None = Field(default=None, min_length=1, max_length=100)
    attachment_ids: list[uuid.UUID] = Field(default_factory=list, max_length=10)


class AgentMessageIn(Request):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"text": "Yes, over 50 EUR.", "channel": "chat"}]},
    )
    text: MultilineText = Field(default="", max_length=10_000)
    client_message_id: Text | None = Field(default=None, min_length=1, max_length=100)
    attachment_ids: list[uuid.UUID] = Field(default_factory=list, max_length=10)
    shortcut_id: uuid.UUID | None = None
    channel: Channel = "chat"
    internal: bool = Field(
        default=False, description="A note for agents only: never sent to the visitor."
    )

    @model_validator(mode="after")
    def _note_is_not_mail(self) -> AgentMessageIn:
        if self.internal and self.channel != "chat":
            raise ValueError("An internal note is never e-mailed: leave `channel` as chat.")
        return self


class ContactVisitorIn(Request):
    text: MultilineText | None = Field(default=None, max_length=10_000)


class ContactFormIn(Request):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"name": "Jane", "email": "jane@example.com", "text": "Call me back"}]
        },
    )
    name: Text | None = Field(default=None, max_length=200)
    email: EmailStr
    text: MultilineText = Field(min_length=1, max_length=10_000)


class RatingIn(Request):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "conversation_id": "2b1f6c1e-8f4e-4d2a-9a53-3f0c5e7d9a10",
                    "rating": 5,
                    "comment": "Quick help",
                }
            ]
        },
    )
    conversation_id: uuid.UUID
    # One type per alternative (not one mixed enum), so client generators keep the field.
    rating: Annotated[int, Field(ge=1, le=5)] | Literal["good", "bad"]
    comment: MultilineText | None = Field(default=None, max_length=2000)


class AssignIn(Request):
    agent_id: uuid.UUID


class TranscriptIn(Request):
    email: EmailStr


class ShortcutIn(Request):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"name": "hello", "text": "Hi {visitor_name}, how can I help?"}]
        },
    )
    name: Text = Field(min_length=1, max_length=100, pattern=r"^\S(.*\S)?$")
    text: MultilineText = Field(min_length=1, max_length=10_000)


class ShortcutPatch(Request):
    name: Text | None = Field(default=None, min_length=1, max_length=100, pattern=r"^\S(.*\S)?$")
    text: MultilineText | None = Field(default=None, min_length=1, max_length=10_000)


# --- responses --------------------------------------------------------------------------------
class AttachmentOut(BaseModel):
    id: uuid.UUID
    name: str
    size: int
    content_type: str
    url: str


class DeliveryOut(BaseModel):
    status: Literal["pending", "sent", "failed"]
    code: str | None = None
    detail: str | None = None


class MessageOut(BaseModel):
    id: uuid.UUID
    seq: int
    conversation_id: uuid.UUID
    author_type: AuthorType
    author_id: uuid.UUID | None
    author_name: str | None
    text: str
    channel: str
    client_message_id: str | None = None
    attachments: list[dict[str, Any]] = []
    internal: bool = False
    created_at: datetime
    delivery: DeliveryOut | None = Field(
        None,
        description="An e-mail or Messenger message: sent by the worker after it is stored; "
        "`failed` carries the problem (`code`, `detail`). Null for a message nothing sends.",
    )


class MessagePage(Page[MessageOut]):
    pass


class PersonOut(BaseModel):
    id: uuid.UUID
    name: str | None = None
    email: str | None = None


class LastMessageOut(BaseModel):
    text: str | None
    author_type: str | None
    created_at: datetime | None


class ConversationOut(BaseModel):
    id: uuid.UUID
    status: Literal["open", "resolved"]
    channel: str
    started_by: str
    visitor_id: uuid.UUID
    visitor: PersonOut
    assignee_id: uuid.UUID | None
    assignee: PersonOut | None
    agent_ids: list[uuid.UUID]
    last_message: LastMessageOut
    unread_count: int
    marked_unread: bool
    created_at: datetime
    last_activity_at: datetime
    resolved_at: datetime | None
    rating: int | None
    rating_comment: str | None


class ConversationPage(Page[ConversationOut]):
    pass


class ConversationCounts(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"open": 4, "unread": 2, "resolved_today": 7}]}
    )
    open: int = Field(description="open conversations")
    unread: int = Field(description="open conversations unread by the calling agent")
    resolved_today: int = Field(description="resolved since midnight in the account's timezone")


class SentMessageOut(BaseModel):
    conversation_id: uuid.UUID
    message: MessageOut


class WidgetConversationOut(BaseModel):
    id: uuid.UUID
    status: str
    channel: str
    rating_requested: bool
    rated: bool
    messages: list[MessageOut]


class RatingOut(BaseModel):
    conversation_id: uuid.UUID
    rating: int
    comment: str | None


class ShortcutOut(BaseModel):
    id: uuid.UUID
    name: str
    text: str
    created_at: datetime
    updated_at: datetime


class ShortcutList(Page[ShortcutOut]):
    pass


class TranscriptOut(BaseModel):
    sent_to: str
    messages: int


class AgentStats(BaseModel):
    agent_id: uuid.UUID
    name: str | None
    conversations: int
    served: int
    resolved: int
    median_first_response_seconds: float | None
    average_rating: float | None


class DayStats(BaseModel):
    date: date
    new: int
    served: int
    missed: int
    resolved: int


class ConversationStats(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "from": "2026-01-01",
                    "to": "2026-01-31",
                    "timezone": "Europe/Prague",
                    "new": 12,
                    "served": 10,
                    "missed": 2,
                    "resolved": 11,
                    "median_first_response_seconds": 42.0,
                    "median_time_to_resolve_seconds": 600.0,
                    "average_rating": 4.5,
                    "ratings": 4,
                    "agents": [],
                    "days": [],
                }
            ]
        }
    )
    from_: date = Field(alias="from")
    to: date
    timezone: str
    new: int
    served: int
    missed: int
    resolved: int
    median_first_response_seconds: float | None
    median_time_to_resolve_seconds: float | None
    average_rating: float | None
    ratings: int
    agents: list[AgentStats]
    days: list[DayStats]
