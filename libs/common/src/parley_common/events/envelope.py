"""The event envelope every service publishes and consumes."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, Field


class Event(BaseModel):
    id: uuid.UUID = Field(default_factory=uuid.uuid4, description="Idempotency key")
    type: str = Field(description="Routing key, e.g. chat.message.created")
    account_id: uuid.UUID
    occurred_at: datetime = Field(default_factory=lambda: datetime.now(UTC))
    version: int = 1
    request_id: str | None = None
    # W3C trace context of the change that emitted the event (only while tracing is on).
    traceparent: str | None = None
    data: dict[str, Any] = Field(default_factory=dict)
