"""Request and response models of the Facebook integration, and the webhook payload."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from parley_common.text import Text

# Page ids and PSIDs are numeric strings; the pattern also keeps them safe in Graph paths.
GRAPH_ID = r"^[0-9]{1,64}$"


class FacebookConnectIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"page_id": "104812345678901", "page_access_token": "EAAGm0PX4ZCpsBA"}]
        },
    )
    page_id: Text = Field(pattern=GRAPH_ID)
    page_access_token: Text = Field(min_length=8, max_length=1000, pattern=r"^\S+$")


class FacebookPageOut(BaseModel):
    page_id: str
    page_name: str | None
    status: str
    token_last4: str
    connected_by: uuid.UUID | None = None
    connected_at: datetime
    updated_at: datetime


# --- the webhook payload (Messenger Platform); unknown fields are ignored ------------------
class _Lenient(BaseModel):
    model_config = ConfigDict(extra="ignore", coerce_numbers_to_str=True)


class Party(_Lenient):
    id: str = Field(max_length=64)


class Attachment(_Lenient):
    type: str = Field(default="file", max_length=32)
    payload: dict[str, Any] | None = None


class InboundMessage(_Lenient):
    mid: str = Field(min_length=1, max_length=1000)
    text: str | None = None
    is_echo: bool = False
    attachments: list[Attachment] = []


class Postback(_Lenient):
    mid: str | None = Field(default=None, max_length=1000)
    title: str | None = None
    payload: str | None = None


class MessagingEvent(_Lenient):
    sender: Party
    recipient: Party
    timestamp: int | None = None
    message: InboundMessage | None = None
    postback: Postback | None = None


class Entry(_Lenient):
    id: str = Field(max_length=64)
    messaging: list[MessagingEvent] = []


class WebhookPayload(_Lenient):
    object: str
    entry: list[Entry] = []
