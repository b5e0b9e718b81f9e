"""Request and response bodies of the bots API."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from parley_common.pagination import Page
from parley_common.text import MultilineText, Text

MAX_MESSAGE = 1000
MAX_STEPS = 30
MAX_BUTTONS = 5
STEP_ID_PATTERN = r"^[A-Za-z0-9_-]{1,40}$"
HANDOVER, END = "handover", "end"

Name = Annotated[Text, Field(min_length=1, max_length=100)]
Message = Annotated[MultilineText, Field(min_length=1, max_length=MAX_MESSAGE)]
Delay = Annotated[int, Field(ge=0, le=3600, description="Wait this long after the trigger")]


class Forbid(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Trigger(Forbid):
    """When the bot starts for a visitor."""

    type: Literal["visitor_arrived", "page_url", "time_on_page"]
    url_contains: Text | None = Field(
        None, min_length=1, max_length=500, description="page_url: required; time_on_page: optional"
    )
    seconds: int | None = Field(None, ge=1, le=3600, description="time_on_page: required")

    @model_validator(mode="after")
    def _fields_fit_type(self) -> Trigger:
        if self.type == "page_url" and self.url_contains is None:
            raise ValueError("a page_url trigger needs url_contains")
        if self.type == "time_on_page" and self.seconds is None:
            raise ValueError("a time_on_page trigger needs seconds")
        if self.type != "time_on_page" and self.seconds is not None:
            raise ValueError("seconds only applies to a time_on_page trigger")
        if self.type == "visitor_arrived" and self.url_contains is not None:
            raise ValueError("url_contains does not apply to a visitor_arrived trigger")
        return self


class Conditions(Forbid):
    """Who the bot is for; every condition that is set must hold."""

    returning_visitor: bool | None = Field(
        None, description="true: only returning visitors; false: only first-time visitors"
    )
    min_visits: int | None = Field(None, ge=1, le=10_000)


class Button(Forbid):
    label: Text = Field(min_length=1, max_length=40)
    next: Text = Field(
        pattern=r"^[A-Za-z0-9_-]{1,40}$",
        description='a step id, "handover" (to a human) or "end"',
    )


class Step(Forbid):
    id: Text = Field(pattern=STEP_ID_PATTERN)
    message: Message
    buttons: list[Button] = Field(default_factory=list, max_length=MAX_BUTTONS)
    goal: bool = Field(False, description="Reaching this step counts as a conversion")


Steps = Annotated[list[Step], Field(min_length=1, max_length=MAX_STEPS)]

TRIGGER_EXAMPLE: dict[str, Any] = {"type": "page_url", "url_contains": "/pricing"}
STEPS_EXAMPLE: list[Any] = [
    {
        "id": "start",
        "message": "Hi! What can we help you with?",
        "buttons": [
            {"label": "Pricing", "next": "pricing"},
            {"label": "Talk to a human", "next": "handover"},
        ],
    },
    {"id": "pricing", "message": "Plans start at $10/month.", "goal": True, "buttons": []},
]


class AutomaticMessageIn(Forbid):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "example": {
                "name": "Pricing help",
                "enabled": True,
                "trigger": TRIGGER_EXAMPLE,
                "conditions": {"returning_visitor": True},
                "message": "Questions about our plans? Ask away!",
                "delay_seconds": 5,
            }
        },
    )
    name: Name
    enabled: bool = True
    trigger: Trigger
    conditions: Conditions = Field(default_factory=Conditions)
    message: Message
    delay_seconds: Delay = 0


class AutomaticMessagePatch(Forbid):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"example": {"enabled": False}})
    name: Name | None = None
    enabled: bool | None = None
    trigger: Trigger | None = None
    conditions: Conditions | None = None
    message: Message | None = None
    delay_seconds: Delay | None = None


class ChatbotIn(Forbid):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "example": {
                "name": "Welcome bot",
                "enabled": True,
                "trigger": {"type": "visitor_arrived"},
                "steps": STEPS_EXAMPLE,
                "handover_message": "One moment, a colleague will join.",
            }
        },
    )
    name: Name
    enabled: bool = True
    trigger: Trigger
    conditions: Conditions = Field(default_factory=Conditions)
    delay_seconds: Delay = 0
    steps: Steps = Field(description="The first step is where the chatbot starts")
    handover_message: Message | None = None


class ChatbotPatch(Forbid):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"example": {"enabled": True}})
    name: Name | None = None
    enabled: bool | None = None
    trigger: Trigger | None = None
    conditions: Conditions | None = None
    delay_seconds: Delay | None = None
    steps: Steps | None = None
    handover_message: Message | None = None


class BotOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: uuid.UUID
    name: str
    enabled: bool
    trigger: dict[str, Any]
    conditions: dict[str, Any]
    delay_seconds: int
    created_at: datetime
    updated_at: datetime


class AutomaticMessageOut(BotOut):
    message: str


class ChatbotOut(BotOut):
    steps: list[dict[str, Any]]
    handover_message: str | None


class AutomaticMessageList(Page[AutomaticMessageOut]):
    pass


class ChatbotList(Page[ChatbotOut]):
    pass


class BotStats(BaseModel):
    bot_id: uuid.UUID
    kind: Literal["automatic_message", "chatbot"]
    name: str
    enabled: bool
    triggered: int = Field(description="Visitors the bot wrote to in the range")
    replied: int = Field(description="Of those, visitors who answered")
    converted: int = Field(description="Of those, visitors handed to a human or at a goal step")


class ChatbotStats(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "example": {
                "from": "2025-01-01T00:00:00Z",
                "to": "2025-01-31T00:00:00Z",
                "active_chatbots": 1,
                "active_automatic_messages": 2,
                "triggered": 120,
                "replied": 40,
                "converted": 12,
                "bots": [],
            }
        },
        populate_by_name=True,
    )
    from_: datetime = Field(alias="from")
    to: datetime
    active_chatbots: int
    active_automatic_messages: int
    triggered: int
    replied: int
    converted: int
    bots: list[BotStats]
