"""Request and response bodies of the notify API."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, field_validator

from parley_common.text import Text

# APNs device tokens are hex; today 32 bytes, Apple says the length may grow.
TOKEN_PATTERN = r"^[0-9a-fA-F]{32,200}$"


class DeviceIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "platform": "ios",
                    "token": "a1" * 32,
                    "environment": "production",
                    "bundle_id": "com.example.parley",
                    "locale": "en-GB",
                }
            ]
        },
    )

    platform: Literal["ios"] = "ios"
    token: Text = Field(pattern=TOKEN_PATTERN, max_length=200)
    environment: Literal["production", "sandbox"] = "production"
    bundle_id: Text | None = Field(
        default=None, max_length=200, pattern=r"^[A-Za-z0-9][A-Za-z0-9.\-]*$"
    )
    locale: Text | None = Field(default=None, max_length=35, pattern=r"^[A-Za-z0-9_\-]+$")

    @field_validator("token")
    @classmethod
    def lower_hex(cls, value: str) -> str:
        if len(value) % 2:
            raise ValueError("a device token is whole bytes of hex")
        return value.lower()


class DeviceOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    platform: str
    token: str
    environment: str
    bundle_id: str | None
    locale: str | None
    created_at: datetime
    registered_at: datetime


class NotificationSettingsOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    new_message: bool = True
    new_visitor: bool = True
    offline_notifications: bool = True
    sound: bool = True
    email_notifications: bool = True


class NotificationSettingsPatch(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"new_visitor": False, "offline_notifications": True}]},
    )

    new_message: StrictBool | None = None
    new_visitor: StrictBool | None = None
    offline_notifications: StrictBool | None = None
    sound: StrictBool | None = None
    email_notifications: StrictBool | None = None
