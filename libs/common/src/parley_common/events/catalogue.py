"""Every event in Parley, in one place: routing key, producer, consumers, audience, payload.

The stream decides who may see an event from ``audience``:
- ``agents``: the agents of the account;
- ``visitor``: the agents, and the visitor named by ``data.visitor_id`` (payload is visitor-safe);
- ``account``: the agents and every visitor of the account (payload is visitor-safe);
- ``internal``: services only, never streamed.
The routing key is the event type, followed for some events by words taken from the event
(``EventSpec.routing``), so a consumer binds only what it acts on: ``chat.message.created``
is published as ``chat.message.created.<author_type>.<previous_author_type>.<channel>.
<account_id>``, and a worker that does nothing with a visitor's follow-up message never
receives one. The AsyncAPI document (``parley asyncapi``) is rendered from this table.
"""

from __future__ import annotations

import builtins
import uuid
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

Audience = Literal["agents", "visitor", "account", "internal"]


class Payload(BaseModel):
    # Producers may add fields; the named ones are the contract.
    model_config = ConfigDict(extra="allow")


# --- auth -----------------------------------------------------------------------------------
class AccountCreated(Payload):
    name: str
    widget_key: str
    plan: str
    settings: dict[str, Any] = {}


class AgentData(Payload):
    agent_id: uuid.UUID
    name: str | None = None
    email: str | None = None
    role: str | None = None
    status: str | None = None
    avatar_url: str | None = None


class AgentRemoved(Payload):
    agent_id: uuid.UUID


class AgentStatusChanged(Payload):
    agent_id: uuid.UUID
    status: Literal["online", "away", "offline"]
    last_seen_at: datetime | None = None


class SessionRevoked(Payload):
    session_id: uuid.UUID
    agent_id: uuid.UUID


class ApiKeyRevoked(Payload):
    api_key_id: uuid.UUID


class SettingsUpdated(Payload):
    section: str
    settings: dict[str, Any]
    widget_key: str | None = None


class SubscriptionChanged(Payload):
    plan: str
    status: str
    expires_at: datetime | None = None
    entitlements: dict[str, Any] = {}


# --- visitors -------------------------------------------------------------------------------
class VisitorData(Payload):
    visitor_id: uuid.UUID
    name: str | None = None
    email: str | None = None
    label: str | None = None
    url: str | None = None
    title: str | None = None


class VisitorRef(Payload):
    visitor_id: uuid.UUID


class ErasureRequested(Payload):
    """GDPR: every service deletes or anonymises what it holds about the visitor."""

    erasure_id: uuid.UUID
    visitor_id: uuid.UUID


class ErasureCompleted(Payload):
    erasure_id: uuid.UUID
    visitor_id: uuid.UUID


class AgentsAvailability(Payload):
    agents_online: bool


# --- chat -----------------------------------------------------------------------------------
class ConversationData(Payload):
    conversation_id: uuid.UUID
    visitor_id: uuid.UUID | None = None
    status: str | None = None
    assignee_id: uuid.UUID | None = None
    channel: str | None = None
    # The agent who acted (read / marked unread, assigned); `unread` on chat.conversation.read.
    agent_id: uuid.UUID | None = None
    unread: bool | None = None


class MessageCreated(Payload):
    conversation_id: uuid.UUID
    message_id: uuid.UUID
    visitor_id: uuid.UUID | None = None
    author_type: Literal["visitor", "agent", "bot", "system"]
    author_id: uuid.UUID | None = None
    text: str | None = None
    channel: str = "chat"
    created_at: datetime | None = None
    # The visitor's display name, for push titles and e-mails (notify).
    visitor_name: str | None = None
    # Who wrote the conversation's message before this one (None: this is the first): whose
    # turn it was, in the routing key, so consumers bind to the turns they act on.
    previous_author_type: Literal["visitor", "agent", "bot", "system"] | None = None
    # An internal note: agents only. The stream never sends it to the visitor, and nothing
    # that reaches the visitor (or counts as talking to them) acts on it.
    internal: bool = False


class ContactCreated(Payload):
    """A visitor who came through another channel (Messenger), for the visitors service."""

    visitor_id: uuid.UUID
    channel: Literal["facebook"]
    name: str | None = None
    avatar_url: str | None = None
    facebook: dict[str, str] | None = None


# --- bots -----------------------------------------------------------------------------------
class BotMessageRequested(Payload):
    visitor_id: uuid.UUID
    text: str
    bot_id: uuid.UUID | None = None
    conversation_id: uuid.UUID | None = None
    # A chatbot step's buttons: the visitor answers by sending one of these labels.
    quick_replies: list[str] = []


@dataclass(frozen=True)
class EventSpec:
    type: str
    payload: builtins.type[BaseModel]
    audience: Audience
    description: str
    consumers: tuple[str, ...] = field(default=())
    # Words appended to the routing key: fields of ``data``, else of the envelope.
    routing: tuple[str, ...] = field(default=())

    @property
    def producer(self) -> str:
        return self.type.split(".", 1)[0]

    @property
    def address(self) -> str:
        """The routing key's shape: ``chat.message.created.{author_type}...``."""
        return ".".join([self.type, *(f"{{{word}}}" for word in self.routing)])

    def binding(self) -> str:
        """The binding pattern that receives every event of this type."""
        return f"{self.type}.#" if self.routing else self.type


def routing_key(body: dict[str, Any]) -> str:
    """The routing key an event (its JSON envelope) is published with: its type, then its
    ``routing`` words (a missing value is ``none``)."""
    spec = CATALOGUE.get(body["type"])
    if spec is None or not spec.routing:
        return str(body["type"])
    data = body.get("data") or {}
    words = [data.get(word, body.get(word)) for word in spec.routing]
    return ".".join([spec.type, *("none" if w is None else str(w) for w in words)])


def _specs(*specs: EventSpec) -> dict[str, EventSpec]:
    return {spec.type: spec for spec in specs}


CATALOGUE: dict[str, EventSpec] = _specs(
    EventSpec(
        "auth.account.created",
        AccountCreated,
        "internal",
        "A new account signed up.",
        ("visitors", "chat", "bots", "notify"),
    ),
    EventSpec(
        "auth.agent.created",
        AgentData,
        "agents",
        "An agent joined the team.",
        ("chat", "notify", "visitors"),
    ),
    EventSpec(
        "auth.agent.updated",
        AgentData,
        "agents",
        "An agent's profile or role changed.",
        ("chat", "notify", "visitors"),
    ),
    EventSpec(
        "auth.agent.removed",
        AgentRemoved,
        "agents",
        "An agent was removed from the team.",
        ("chat", "notify", "gateway", "visitors"),
    ),
    EventSpec(
        "auth.agent.status_changed",
        AgentStatusChanged,
        "agents",
        "An agent went online, away or offline.",
        ("chat", "notify", "visitors"),
    ),
    EventSpec(
        "auth.session.revoked",
        SessionRevoked,
        "internal",
        "A login session ended (logout, password change, removal, refresh reuse).",
        ("notify", "gateway"),
    ),
    EventSpec(
        "auth.api_key.revoked",
        ApiKeyRevoked,
        "internal",
        "An integrator's API key was revoked (its open streams close).",
        ("gateway",),
    ),
    EventSpec(
        "auth.settings.updated",
        SettingsUpdated,
        "agents",
        "Chat box settings changed (general, design or contact form).",
        ("visitors", "chat", "notify"),
    ),
    EventSpec(
        "auth.subscription.changed",
        SubscriptionChanged,
        "agents",
        "The account's plan changed (App Store purchase, renewal, refund, expiry).",
        ("bots",),
    ),
    EventSpec(
        "visitors.visitor.arrived",
        VisitorData,
        "agents",
        "A visitor became active on the website.",
        ("notify", "bots", "chat"),
    ),
    EventSpec(
        "visitors.visitor.page_changed",
        VisitorData,
        "agents",
        "An active visitor opened another page.",
        ("bots",),
    ),
    EventSpec("visitors.visitor.left", VisitorRef, "agents", "A visitor went inactive.", ("bots",)),
    EventSpec(
        "visitors.visitor.updated",
        VisitorData,
        "agents",
        "A visitor's name, email, phone, note or custom data changed.",
        ("chat", "notify"),
    ),
    EventSpec(
        "visitors.visitor.blocked", VisitorRef, "agents", "A visitor was blocked.", ("chat",)
    ),
    EventSpec(
        "visitors.visitor.unblocked", VisitorRef, "agents", "A visitor was unblocked.", ("chat",)
    ),
    EventSpec(
        "visitors.agents.availability_changed",
        AgentsAvailability,
        "account",
        "The first agent came online or the last one went offline (the chat box switches"
        " between chat and contact form).",
    ),
    EventSpec(
        "visitors.erasure.requested",
        ErasureRequested,
        "internal",
        "An admin erased a visitor (GDPR): each service erases its part, then reports it.",
        ("auth", "chat", "notify", "bots", "gateway"),
    ),
    *(
        EventSpec(
            f"{service}.erasure.completed",
            ErasureCompleted,
            "internal",
            f"The {service} service erased its part of a visitor's data.",
            ("visitors",),
        )
        for service in ("auth", "chat", "notify", "bots")
    ),
    EventSpec(
        "chat.conversation.created",
        ConversationData,
        "visitor",
        "A conversation was opened.",
        ("notify", "bots", "visitors"),
    ),
    EventSpec(
        "chat.conversation.assigned",
        ConversationData,
        "visitor",
        "A conversation got an assignee (join, assign, routing).",
        ("notify",),
    ),
    EventSpec(
        "chat.conversation.resolved",
        ConversationData,
        "visitor",
        "A conversation was resolved; `rating_requested` asks the visitor for a rating.",
        ("notify", "visitors"),
    ),
    EventSpec(
        "chat.conversation.reopened",
        ConversationData,
        "visitor",
        "A resolved conversation was reopened.",
        ("visitors", "notify"),
    ),
    EventSpec(
        "chat.conversation.read",
        ConversationData,
        "agents",
        "An agent read or marked a conversation unread (`unread` tells which).",
        ("notify",),
    ),
    EventSpec(
        "chat.message.created",
        MessageCreated,
        "visitor",
        "A message was added to a conversation.",
        ("notify", "bots", "chat"),
        routing=("author_type", "previous_author_type", "channel", "account_id"),
    ),
    EventSpec(
        "chat.contact.created",
        ContactCreated,
        "internal",
        "A Messenger user wrote for the first time: a new visitor with name and picture.",
        ("visitors",),
    ),
    EventSpec(
        "bots.message.requested",
        BotMessageRequested,
        "internal",
        "A chatbot or automatic message wants to write to a visitor.",
        ("chat",),
    ),
)


# Outgoing webhooks (notify) take every event a client of the account may see.
CATALOGUE = {
    t: spec
    if spec.audience == "internal" or "notify" in spec.consumers
    else replace(spec, consumers=(*spec.consumers, "notify"))
    for t, spec in CATALOGUE.items()
}


# What an integrator may subscribe a webhook to: every event a client of the account may see.
WEBHOOK_EVENT_TYPES: tuple[str, ...] = tuple(
    sorted(t for t, spec in CATALOGUE.items() if spec.audience != "internal")
)


def _envelope_schema(event_type: str, data: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "object",
        "required": ["id", "type", "account_id", "occurred_at", "version", "data"],
        "properties": {
            "id": {"type": "string", "format": "uuid"},
            "type": {"const": event_type},
            "account_id": {"type": "string", "format": "uuid"},
            "occurred_at": {"type": "string", "format": "date-time"},
            "version": {"type": "integer"},
            "data": data,
        },
    }


def openapi_webhooks() -> dict[str, Any]:
    """The OpenAPI ``webhooks`` of outgoing webhooks: one POST per subscribable event type
    (and ``ping``), so integrators can generate receivers."""
    headers = [
        ("X-Parley-Event", "The event type (`ping` for a test delivery)."),
        ("X-Parley-Delivery", "Unique id of this delivery; the same on every retry of it."),
        (
            "X-Parley-Signature",
            '`t=<unix time>,v1=<hex HMAC-SHA256 of "<t>.<raw body>" keyed with the secret>`.',
        ),
    ]
    parameters = [
        {
            "name": name,
            "in": "header",
            "required": True,
            "description": doc,
            "schema": {"type": "string"},
        }
        for name, doc in headers
    ]
    responses = {
        "2XX": {
            "description": "Received. Anything else (or no answer within the timeout) is "
            "retried with exponential backoff for a day, then the webhook is disabled."
        }
    }
    events = [
        (t, CATALOGUE[t].description, CATALOGUE[t].payload.model_json_schema())
        for t in WEBHOOK_EVENT_TYPES
    ]
    events.append(("ping", "A test delivery (POST /webhooks/{id}/test).", {"type": "object"}))
    return {
        event_type: {
            "post": {
                "operationId": "webhook_" + event_type.replace(".", "_"),
                "summary": description,
                "tags": ["webhooks"],
                "parameters": parameters,
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": _envelope_schema(event_type, data)}},
                },
                "responses": responses,
            }
        }
        for event_type, description, data in events
    }


def spec_for(event_type: str) -> EventSpec:
    try:
        return CATALOGUE[event_type]
    except KeyError:
        raise KeyError(f"{event_type!r} is not in the event catalogue") from None


def asyncapi_document() -> dict[str, Any]:
    """The catalogue as an AsyncAPI 3 document."""
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    messages: dict[str, Any] = {}
    for spec in CATALOGUE.values():
        name = spec.type.replace(".", "_")
        messages[name] = {
            "name": spec.type,
            "summary": spec.description,
            "payload": {
                "type": "object",
                "properties": {
                    "id": {"type": "string", "format": "uuid"},
                    "type": {"const": spec.type},
                    "account_id": {"type": "string", "format": "uuid"},
                    "occurred_at": {"type": "string", "format": "date-time"},
                    "version": {"type": "integer"},
                    "data": spec.payload.model_json_schema(),
                },
            },
            "x-audience": spec.audience,
            "x-consumers": list(spec.consumers),
        }
        channels[name] = {
            "address": spec.address,
            "messages": {name: {"$ref": f"#/components/messages/{name}"}},
        }
        if spec.routing:
            channels[name]["parameters"] = {
                word: {"description": f"The event's `{word}` (`none` when absent)."}
                for word in spec.routing
            }
        operations[f"publish_{name}"] = {
            "action": "send",
            "channel": {"$ref": f"#/channels/{name}"},
            "x-producer": spec.producer,
        }
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "Parley events",
            "version": "1.0.0",
            "description": "Topic exchange `parley.events`; routing key = the channel's "
            "address: the event type, for some events followed by words of the event.",
        },
        "channels": channels,
        "operations": operations,
        "components": {"messages": messages},
    }
