"""Request and response bodies of the auth API (account settings: settings_schemas.py)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, EmailStr, Field, model_validator

from parley_common.pagination import Page
from parley_common.text import MultilineText, Text

Role = Literal["owner", "admin", "agent"]
Status = Literal["online", "away", "offline"]


def _normalise_email(value: str) -> str:
    return value.strip().lower()


Email = Annotated[
    EmailStr, Field(max_length=320, examples=["jane@example.com"]), AfterValidator(_normalise_email)
]
Password = Annotated[Text, Field(min_length=8, max_length=1024, examples=["correct horse 42"])]
Name = Annotated[Text, Field(min_length=1, max_length=100, examples=["Jane Doe"])]


class Request(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


# --- sign up, log in, tokens -----------------------------------------------------------------
class SignupIn(Request):
    email: Email
    password: Password
    name: Name
    account_name: Text | None = Field(
        default=None, min_length=1, max_length=200, examples=["Acme web shop"]
    )


class LoginIn(Request):
    email: Annotated[
        Text,
        Field(min_length=1, max_length=320, examples=["jane@example.com"]),
        AfterValidator(_normalise_email),
    ]
    password: Annotated[Text, Field(min_length=1, max_length=1024)]


class RefreshIn(Request):
    refresh_token: Text = Field(min_length=1, max_length=200)


class AgentOut(BaseModel):
    id: uuid.UUID
    account_id: uuid.UUID
    email: str
    name: str
    description: str
    avatar_url: str | None
    role: Role
    status: Status
    last_seen_at: datetime | None
    created_at: datetime

    model_config = ConfigDict(from_attributes=True)


class AccountOut(BaseModel):
    id: uuid.UUID
    name: str
    widget_key: str
    plan: str
    created_at: datetime


class TokensOut(BaseModel):
    access_token: str
    refresh_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_in: int = Field(examples=[900])
    agent: AgentOut
    account: AccountOut


# --- profile ---------------------------------------------------------------------------------
def _https_only(value: str | None) -> str | None:
    if value is not None and not value.lower().startswith("https://"):
        raise ValueError("avatar_url must be an https:// URL")
    return value


class ProfilePatch(Request):
    name: Name | None = None
    description: MultilineText | None = Field(default=None, max_length=500)
    avatar_url: Annotated[Text | None, Field(max_length=2048), AfterValidator(_https_only)] = None

    model_config = ConfigDict(
        extra="forbid",
        str_strip_whitespace=True,
        json_schema_extra={
            "examples": [
                {
                    "name": "Jane",
                    "description": "Support lead",
                    "avatar_url": "https://example.com/jane.png",
                }
            ]
        },
    )

    @model_validator(mode="after")
    def _only_avatar_nullable(self) -> ProfilePatch:
        for field in ("name", "description"):
            if field in self.model_fields_set and getattr(self, field) is None:
                raise ValueError(f"{field}: null is not allowed")
        return self


class EmailChangeIn(Request):
    new_email: Email
    password: Annotated[Text, Field(min_length=1, max_length=1024)]


class PasswordChangeIn(Request):
    current_password: Annotated[Text, Field(min_length=1, max_length=1024)]
    new_password: Password


class StatusIn(Request):
    status: Status


class StatusOut(BaseModel):
    agent_id: uuid.UUID
    status: Status
    last_seen_at: datetime | None


# --- team ------------------------------------------------------------------------------------
class InviteIn(Request):
    email: Email
    role: Literal["admin", "agent"] = "agent"


class InvitationOut(BaseModel):
    id: uuid.UUID
    email: str
    role: Role
    expires_at: datetime
    created_at: datetime

    model_config = ConfigDict(from_attributes=True)


class InviteOut(BaseModel):
    invitation: InvitationOut
    invite_url: str
    token: str


class InvitationPreviewOut(BaseModel):
    email: str
    role: Role
    account_name: str
    expires_at: datetime


class AcceptInvitationIn(Request):
    token: Text = Field(min_length=1, max_length=200)
    name: Name
    password: Password


class AgentPatch(Request):
    role: Role


class AgentList(Page[AgentOut]):
    pass


# --- account ---------------------------------------------------------------------------------
class AccountPatch(Request):
    name: Text = Field(min_length=1, max_length=200)


class ChatCodeOut(BaseModel):
    widget_key: str
    snippet: str = Field(
        examples=[
            '<script src="https://chat.example.com/widget.js" data-widget-key="k3y" async></script>'
        ]
    )


class SubscriptionOut(BaseModel):
    plan: Literal["free", "premium"]
    status: str
    expires_at: datetime | None
    source: str
    effective_plan: Literal["free", "premium"]
    # App Store subscriptions: whether it renews at the end of the period (None: unknown).
    auto_renew: bool | None = None
    entitlements: dict[str, Any] = Field(examples=[{"max_agents": 3, "max_active_chatbots": 1}])


# --- bug reports, links ----------------------------------------------------------------------
class BugReportIn(Request):
    message: MultilineText = Field(min_length=1, max_length=5000)
    app_version: Text | None = Field(default=None, max_length=50)
    device: Text | None = Field(default=None, max_length=200)
    logs: MultilineText | None = Field(default=None, max_length=100_000)


class BugReportOut(BaseModel):
    id: uuid.UUID
    created_at: datetime
    emailed: bool


class AppLinksOut(BaseModel):
    help_center_url: str
    terms_url: str
    privacy_url: str
    gdpr_url: str


# --- API keys --------------------------------------------------------------------------------
Scope = Literal[
    "conversations:read",
    "conversations:write",
    "visitors:read",
    "visitors:write",
    "settings:read",
    "stream:read",
]


class ApiKeyIn(Request):
    model_config = ConfigDict(
        extra="forbid",
        str_strip_whitespace=True,
        json_schema_extra={
            "examples": [{"name": "CRM sync", "scopes": ["conversations:read", "visitors:read"]}]
        },
    )
    name: Text = Field(min_length=1, max_length=100)
    scopes: list[Scope] = Field(min_length=1, max_length=10)


class ApiKeyOut(BaseModel):
    id: uuid.UUID
    name: str
    scopes: list[str]
    prefix: str = Field(description="The key's first characters, to recognise it")
    created_at: datetime
    last_used_at: datetime | None = None


class ApiKeyCreatedOut(ApiKeyOut):
    key: str = Field(description="Shown once: send it as `Authorization: Bearer <key>`")


class ApiKeyList(Page[ApiKeyOut]):
    pass
