"""Request and response bodies of the visitors API."""

from __future__ import annotations

import re
import uuid
from datetime import datetime
from typing import Annotated, Any, TypeAlias

from pydantic import BaseModel, ConfigDict, EmailStr, Field, field_validator

from parley_common.pagination import Page
from parley_common.text import MultilineText, Text

Url = Annotated[
    Text, Field(min_length=1, max_length=2048, examples=["https://example.com/pricing"])
]
Title = Annotated[Text, Field(max_length=500, examples=["Pricing"])]
CustomValue: TypeAlias = Text | int | float | bool | None
_PHONE = re.compile(r"^\+?[0-9 ()./-]{3,40}$")
_CUSTOM_KEY = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")


def _check_url(value: str) -> str:
    if not value.lower().startswith(("http://", "https://")):
        raise ValueError("must be an http(s) URL")
    return value


def _check_custom(value: dict[str, CustomValue] | None) -> dict[str, CustomValue] | None:
    if value is None:
        return None
    if len(value) > 50:
        raise ValueError("at most 50 custom variables")
    for key, item in value.items():
        if not _CUSTOM_KEY.match(key):
            raise ValueError(f"{key!r}: keys are 1-64 letters, digits, '_', '.', '-'")
        if isinstance(item, str) and len(item) > 500:
            raise ValueError(f"{key!r}: values are at most 500 characters")
    return value


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


# --- widget ----------------------------------------------------------------------------------
class PageIn(Strict):
    url: Url
    title: Title = ""
    referrer: Text | None = Field(default=None, max_length=2048)

    _url = field_validator("url")(_check_url)


class SessionRequest(Strict):
    widget_key: Text = Field(min_length=1, max_length=64)
    visitor_id: uuid.UUID | None = Field(
        default=None, description="The id the widget got last time; omit for a new visitor."
    )
    page: PageIn | None = None

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "widget_key": "wk_3f9a0c",
                    "visitor_id": None,
                    "page": {
                        "url": "https://example.com/?utm_source=news",
                        "title": "Home",
                        "referrer": "https://www.google.com/",
                    },
                }
            ]
        },
    )


class WidgetSettings(BaseModel):
    general: dict[str, Any]
    design: dict[str, Any]
    contact_form: dict[str, Any]
    agents_online: bool


class SessionResponse(BaseModel):
    visitor_id: uuid.UUID
    visitor_token: str
    blocked: bool = Field(description="A blocked visitor's chat box opens no chat.")
    settings: WidgetSettings


class PageViewRequest(Strict):
    url: Url
    title: Title = ""

    _url = field_validator("url")(_check_url)


class PresenceOut(BaseModel):
    active: bool = True


class WidgetVisitorPatch(Strict):
    """What the website may tell about its visitor (e.g. the logged-in user)."""

    name: Text | None = Field(default=None, min_length=1, max_length=200)
    email: EmailStr | None = Field(default=None, max_length=320)
    phone: Text | None = Field(default=None, max_length=40)
    custom: dict[str, CustomValue] | None = Field(
        default=None, description="Merged into the visitor's custom variables; null deletes a key."
    )

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"name": "Jane Doe", "email": "jane@example.com", "custom": {"user_id": "u-481"}}
            ]
        },
    )

    _custom = field_validator("custom")(_check_custom)

    @field_validator("phone")
    @classmethod
    def _phone(cls, value: str | None) -> str | None:
        if value is not None and not _PHONE.match(value):
            raise ValueError("not a phone number")
        return value


# --- agents ----------------------------------------------------------------------------------
class VisitorPatch(WidgetVisitorPatch):
    note: MultilineText | None = Field(default=None, max_length=5000)

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "name": "Jane Doe",
                    "email": "jane@example.com",
                    "phone": "+420 777 123 456",
                    "note": "Asked about the annual plan",
                    "custom": {"plan": "pro"},
                }
            ]
        },
    )


class DeviceOut(BaseModel):
    browser: str | None = None
    os: str | None = None
    type: str | None = Field(default=None, examples=["desktop"])


class PageOut(BaseModel):
    url: str
    title: str


class ActiveVisitor(BaseModel):
    id: uuid.UUID
    display_name: str = Field(description="The name, or the generated label.")
    name: str | None
    label: str
    email: str | None
    current_page: PageOut | None
    last_activity_at: datetime
    time_on_site_seconds: int
    visits: int
    returning: bool
    chatting: bool
    blocked: bool
    device: DeviceOut
    country: str | None


class ActiveVisitorList(Page[ActiveVisitor]):
    total_active: int


class PageViewOut(BaseModel):
    id: uuid.UUID
    url: str
    title: str
    viewed_at: datetime
    duration_seconds: int | None


class PageViewList(Page[PageViewOut]):
    pass


class VisitorOut(BaseModel):
    id: uuid.UUID
    display_name: str
    label: str
    name: str | None
    email: str | None
    phone: str | None
    note: str | None
    custom: dict[str, Any]
    visits: int
    returning: bool
    first_seen_at: datetime
    last_seen_at: datetime
    active: bool
    chatting: bool
    blocked: bool
    blocked_at: datetime | None
    current_page: PageOut | None
    time_on_site_seconds: int | None
    device: DeviceOut
    country: str | None
    referrer: str | None
    utm: dict[str, Any]
    recent_page_views: list[PageViewOut] = Field(description="The latest few pages.")
    channel: str = Field(default="web", description="`web` (chat box) or `facebook`")
    avatar_url: str | None = Field(default=None, description="Messenger profile picture")
    facebook: dict[str, str] | None = Field(
        default=None, description="A Messenger user's `page_id` and page-scoped `psid`"
    )


class KnownVisitor(BaseModel):
    id: uuid.UUID
    display_name: str
    name: str | None
    email: str | None
    visits: int
    last_seen_at: datetime
    blocked: bool
    country: str | None
    device: DeviceOut


class KnownVisitorList(Page[KnownVisitor]):
    pass
