"""Account settings (chat box general / design / contact form): full models and PATCH models.

A PATCH body names only the fields it changes (nested objects merge; lists replace). Every
value is validated here, so a stored section is always a valid full model.
"""

from __future__ import annotations

import re
import zoneinfo
from typing import Annotated, Any, ClassVar, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    field_validator,
    model_validator,
)

from parley_common.i18n import CONTACT_FORM_OFFLINE_TEXT, WIDGET_TEXTS
from parley_common.text import MultilineText, Text

Language = Literal[
    "en",
    "cs",
    "sk",
    "de",
    "fr",
    "es",
    "it",
    "pt",
    "nl",
    "pl",
    "hu",
    "ru",
    "uk",
    "da",
    "sv",
    "no",
    "fi",
    "ro",
    "bg",
    "hr",
    "sl",
    "tr",
    "ja",
    "zh",
]
Day = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
HHMM = Annotated[Text, Field(pattern=r"^([01]\d|2[0-3]):[0-5]\d$", examples=["09:00"])]
HexColor = Annotated[Text, Field(pattern=r"^#[0-9a-fA-F]{6}$", examples=["#1f6feb"])]
_DOMAIN = re.compile(r"^(\*\.)?([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$|^localhost$")


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Patch(Strict):
    """A partial update: a field is either absent or a valid value, null only where listed."""

    # Fields whose null is a value (e.g. "never"), not "unchanged".
    nullable: ClassVar[frozenset[str]] = frozenset()

    @model_validator(mode="before")
    @classmethod
    def _no_nulls(cls, data: Any) -> Any:
        if isinstance(data, dict):
            nulls = [k for k, value in data.items() if value is None and k not in cls.nullable]
            if nulls:
                raise ValueError(f"{', '.join(nulls)}: null is not allowed; omit the field")
        return data


# --- general ---------------------------------------------------------------------------------
class OfficeHoursSlot(Strict):
    day: Day
    start: HHMM = Field(alias="from")
    end: HHMM = Field(alias="to")

    model_config = ConfigDict(extra="forbid", populate_by_name=True, serialize_by_alias=True)

    @model_validator(mode="after")
    def _ordered(self) -> OfficeHoursSlot:
        if self.end <= self.start:
            raise ValueError("`to` must be after `from`")
        return self


class OfficeHours(Strict):
    enabled: bool = False
    schedule: list[OfficeHoursSlot] = Field(default_factory=list, max_length=50)


class OfficeHoursPatch(Patch):
    enabled: bool | None = None
    schedule: list[OfficeHoursSlot] | None = Field(default=None, max_length=50)


def _check_timezone(value: str) -> str:
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown IANA time zone {value!r}") from exc
    return value


def _check_domains(values: list[str]) -> list[str]:
    out = []
    for value in values:
        domain = value.strip().lower().rstrip(".")
        if not _DOMAIN.match(domain):
            raise ValueError(f"{value!r} is not a domain name (e.g. example.com)")
        out.append(domain)
    return sorted(set(out))


Domains = Annotated[list[Annotated[Text, Field(max_length=253)]], Field(max_length=100)]
# Resolve an open conversation after this many idle minutes (5 minutes .. 7 days).
AutoResolveMinutes = Annotated[int, Field(ge=5, le=10080, strict=True, examples=[60])]


class GeneralSettings(Strict):
    language: Language = "en"
    timezone: Text = Field(default="UTC", max_length=64)
    satisfaction_rating_enabled: bool = True
    office_hours: OfficeHours = Field(default_factory=OfficeHours)
    allowed_domains: Domains = Field(default_factory=list)
    # Round-robin new conversations to online agents (read by the chat service).
    auto_assign: StrictBool = False
    # Idle minutes before an open conversation is resolved; null = never.
    auto_resolve_minutes: AutoResolveMinutes | None = None

    _tz = field_validator("timezone")(_check_timezone)
    _domains = field_validator("allowed_domains")(_check_domains)


class GeneralSettingsPatch(Patch):
    language: Language | None = None
    timezone: Text | None = Field(default=None, max_length=64)
    satisfaction_rating_enabled: bool | None = None
    office_hours: OfficeHoursPatch | None = None
    allowed_domains: Domains | None = None
    auto_assign: StrictBool | None = None
    auto_resolve_minutes: AutoResolveMinutes | None = None

    nullable = frozenset({"auto_resolve_minutes"})

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "language": "de",
                    "timezone": "Europe/Prague",
                    "satisfaction_rating_enabled": True,
                    "office_hours": {
                        "enabled": True,
                        "schedule": [{"day": "mon", "from": "09:00", "to": "17:00"}],
                    },
                    "allowed_domains": ["example.com"],
                    "auto_assign": True,
                    "auto_resolve_minutes": 60,
                }
            ]
        },
    )

    @field_validator("timezone")
    @classmethod
    def _tz(cls, value: str | None) -> str | None:
        return None if value is None else _check_timezone(value)

    @field_validator("allowed_domains")
    @classmethod
    def _domains(cls, value: list[str] | None) -> list[str] | None:
        return None if value is None else _check_domains(value)


# --- design ----------------------------------------------------------------------------------
ButtonTheme = Literal["bubble", "bar", "tab"]
Position = Literal["right", "left"]
ShortText = Annotated[Text, Field(max_length=200)]
LongText = Annotated[MultilineText, Field(max_length=1000)]


class Texts(Strict):
    """Defaults are English; the chat box gets them in the account's language (i18n)."""

    title: ShortText = WIDGET_TEXTS["title"]
    welcome: LongText = WIDGET_TEXTS["welcome"]
    offline: LongText = WIDGET_TEXTS["offline"]
    input_placeholder: ShortText = WIDGET_TEXTS["input_placeholder"]
    button_label: ShortText = WIDGET_TEXTS["button_label"]


class TextsPatch(Patch):
    title: ShortText | None = None
    welcome: LongText | None = None
    offline: LongText | None = None
    input_placeholder: ShortText | None = None
    button_label: ShortText | None = None


class DesignSettings(Strict):
    color: HexColor = "#1f6feb"
    texts: Texts = Field(default_factory=Texts)
    button_theme: ButtonTheme = "bubble"
    position: Position = "right"
    show_agent_avatars: bool = True


class DesignSettingsPatch(Patch):
    color: HexColor | None = None
    texts: TextsPatch | None = None
    button_theme: ButtonTheme | None = None
    position: Position | None = None
    show_agent_avatars: bool | None = None

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "color": "#ff6600",
                    "texts": {"welcome": "Hello!"},
                    "button_theme": "bar",
                    "position": "left",
                }
            ]
        },
    )


# --- contact form ----------------------------------------------------------------------------
FieldName = Literal["name", "email", "phone", "message"]


class ContactField(Strict):
    name: FieldName
    required: bool = False
    label: ShortText | None = None


def _default_fields() -> list[ContactField]:
    return [
        ContactField(name="name"),
        ContactField(name="email", required=True),
        ContactField(name="message", required=True),
    ]


def _check_fields(fields: list[ContactField]) -> list[ContactField]:
    names = [f.name for f in fields]
    if len(set(names)) != len(names):
        raise ValueError("each field may appear once")
    if "email" not in names:
        raise ValueError("the email field is needed to answer an offline message")
    return fields


Fields = Annotated[list[ContactField], Field(min_length=1, max_length=4)]


class ContactFormSettings(Strict):
    enabled: bool = True
    fields: Fields = Field(default_factory=_default_fields)
    offline_text: LongText = CONTACT_FORM_OFFLINE_TEXT

    _fields = field_validator("fields")(_check_fields)


class ContactFormSettingsPatch(Patch):
    enabled: bool | None = None
    fields: Fields | None = None
    offline_text: LongText | None = None

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "enabled": True,
                    "offline_text": "Write to us!",
                    "fields": [
                        {"name": "email", "required": True},
                        {"name": "message", "required": True},
                    ],
                }
            ]
        },
    )

    @field_validator("fields")
    @classmethod
    def _fields(cls, value: list[ContactField] | None) -> list[ContactField] | None:
        return None if value is None else _check_fields(value)


Section = Literal["general", "design", "contact_form"]
SECTIONS: dict[str, type[Strict]] = {
    "general": GeneralSettings,
    "design": DesignSettings,
    "contact_form": ContactFormSettings,
}


def default_settings() -> dict[str, dict[str, Any]]:
    return {name: model().model_dump(mode="json") for name, model in SECTIONS.items()}
