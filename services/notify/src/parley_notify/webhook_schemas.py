"""Request and response bodies of the outgoing webhooks API."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from parley_common.pagination import Page
from parley_common.text import Text
from parley_notify.webhooks import EVENT_TYPES

EventType = Literal[EVENT_TYPES]  # type: ignore[valid-type]


class WebhookIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "url": "https://crm.example.com/parley",
                    "events": ["chat.message.created", "chat.conversation.resolved"],
                    "enabled": True,
                }
            ]
        },
    )
    url: Text = Field(min_length=8, max_length=2048)
    events: list[EventType] = Field(min_length=1, max_length=len(EVENT_TYPES))
    enabled: bool = True


class WebhookPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")
    url: Text | None = Field(default=None, min_length=8, max_length=2048)
    events: list[EventType] | None = Field(default=None, min_length=1, max_length=len(EVENT_TYPES))
    enabled: bool | None = None

    @model_validator(mode="after")
    def _no_nulls(self) -> WebhookPatch:
        for name in self.model_fields_set:
            if getattr(self, name) is None:
                raise ValueError(f"`{name}` cannot be null")
        return self


class WebhookOut(BaseModel):
    id: uuid.UUID
    url: str
    events: list[str]
    enabled: bool
    disabled_reason: str | None = Field(
        default=None, description="`failing`: disabled after a day of failed deliveries"
    )
    created_at: datetime


class WebhookCreatedOut(WebhookOut):
    secret: str = Field(description="Shown once: the HMAC-SHA256 key of X-Parley-Signature")


class WebhookList(Page[WebhookOut]):
    pass


class WebhookTestOut(BaseModel):
    delivery_id: uuid.UUID
    event_id: uuid.UUID


class AttemptOut(BaseModel):
    id: uuid.UUID
    delivery_id: uuid.UUID
    event_id: uuid.UUID
    event_type: str
    attempted_at: datetime
    status_code: int | None
    duration_ms: int
    error: str | None
    delivery_status: Literal["pending", "succeeded", "failed"]
    next_retry_at: datetime | None


class AttemptPage(Page[AttemptOut]):
    pass
