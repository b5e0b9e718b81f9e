"""``GET /asyncapi.json``: the stream protocol as AsyncAPI 3, generated from the frame types the
code sends (``parley_common.stream_frames``) and the event catalogue's payload models."""

from __future__ import annotations

import copy
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit

from pydantic import TypeAdapter

from parley_common.events.catalogue import CATALOGUE, EventSpec
from parley_common.stream_frames import CLIENT_FRAMES, CLOSE_CODES, SERVER_FRAMES, EventFrame
from parley_gateway.stream.audience import AGENT_AUDIENCES, VISITOR_AUDIENCES, is_streamed

SCHEMAS = "#/components/schemas/{model}"

CHANNELS: dict[str, dict[str, Any]] = {
    "agentStream": {
        "address": "/api/v1/stream",
        "title": "The agents' stream",
        "description": "Every event of the account an agent may see. Authenticate with "
        "`Authorization: Bearer <access token>` on the upgrade, or `?ticket=` from "
        "`POST /api/v1/stream/tickets` (browsers).",
        "security": "agent",
        "audiences": AGENT_AUDIENCES,
        "query": {
            "ticket": {"type": "string", "description": "A single-use stream ticket"},
        },
    },
    "visitorStream": {
        "address": "/api/v1/widget/stream",
        "title": "The chat box's stream",
        "description": "The visitor's own conversation only. Authenticate with `?token=` "
        "(the visitor token) or `Authorization: Bearer`.",
        "security": "visitor",
        "audiences": VISITOR_AUDIENCES,
        "query": {"token": {"type": "string", "description": "The visitor token"}},
    },
}
RESUME = {
    "since": {"type": "string", "pattern": "^[0-9]+$", "description": "The last `seq` received"},
    "epoch": {"type": "string", "description": "The `epoch` of that frame (with `since`)"},
}


def _message_name(event_type: str) -> str:
    return "event_" + event_type.replace(".", "_")


def _schemas(specs: list[EventSpec]) -> dict[str, Any]:
    """JSON Schemas of every frame type and event payload, refs under components/schemas."""
    adapters: list[tuple[Any, Any, TypeAdapter[Any]]] = [
        (t.__name__, "serialization", TypeAdapter(t))
        for t in [*SERVER_FRAMES.values(), *CLIENT_FRAMES.values(), EventFrame]
    ]
    payloads = {spec.payload.__name__: spec.payload for spec in specs}
    adapters += [(name, "serialization", TypeAdapter(model)) for name, model in payloads.items()]
    _, defs = TypeAdapter.json_schemas(adapters, ref_template=SCHEMAS)
    schemas: dict[str, Any] = defs.get("$defs", {})
    return schemas


def _event_message(spec: EventSpec) -> dict[str, Any]:
    frame = {
        "allOf": [
            {"$ref": SCHEMAS.format(model="EventFrame")},
            {
                "type": "object",
                "properties": {
                    "event": {"const": spec.type},
                    "data": {"$ref": SCHEMAS.format(model=spec.payload.__name__)},
                },
            },
        ]
    }
    return {
        "name": spec.type,
        "title": spec.type,
        "summary": spec.description,
        "payload": frame,
    }


@lru_cache(maxsize=4)
def stream_document(public_url: str) -> dict[str, Any]:
    streamed = [s for s in CATALOGUE.values() if is_streamed(s.type)]
    messages: dict[str, Any] = {
        name: {
            "name": name,
            "summary": (frame.__doc__ or "").split("\n\n")[0].replace("\n", " "),
            "payload": {"$ref": SCHEMAS.format(model=frame.__name__)},
        }
        for name, frame in {**SERVER_FRAMES, **CLIENT_FRAMES}.items()
    }
    messages.update({_message_name(s.type): _event_message(s) for s in streamed})
    close_codes = "\n".join(f"- `{code}`: {why}" for code, why in CLOSE_CODES.items())
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    for key, channel in CHANNELS.items():
        events = [_message_name(s.type) for s in streamed if s.audience in channel["audiences"]]
        sent = [*SERVER_FRAMES, *events]
        every = [*sent, *CLIENT_FRAMES]
        channels[key] = {
            "address": channel["address"],
            "title": channel["title"],
            "description": f"{channel['description']}\n\nClose codes:\n{close_codes}\n\n"
            "A failed upgrade is answered with a problem+json HTTP response (401, 403, 422).",
            "messages": {m: {"$ref": f"#/components/messages/{m}"} for m in every},
            "bindings": {
                "ws": {
                    "method": "GET",
                    "query": {
                        "type": "object",
                        "properties": {**copy.deepcopy(RESUME), **channel["query"]},
                    },
                }
            },
            "x-close-codes": {str(code): why for code, why in CLOSE_CODES.items()},
        }
        security = [{"$ref": f"#/components/securitySchemes/{channel['security']}"}]
        for action, who, names in (("send", "gateway", sent), ("receive", "client", CLIENT_FRAMES)):
            operations[key + action.capitalize()] = {
                "action": action,
                "title": f"The {who} sends on the {channel['title'].lower()}",
                "channel": {"$ref": f"#/channels/{key}"},
                "messages": [{"$ref": f"#/channels/{key}/messages/{m}"} for m in names],
                "security": security,
            }
    url = urlsplit(public_url)
    return {
        "asyncapi": "3.1.0",
        "info": {
            "title": "Parley stream",
            "version": "1.0.0",
            "description": "The live stream (websocket, JSON text frames). `hello` first, then "
            "`event` frames in `seq` order with no gaps or duplicates; resume with "
            "`?since=<seq>&epoch=<epoch>`. `typing`, `pong` and `error` are unsequenced.",
        },
        "defaultContentType": "application/json",
        "servers": {
            "gateway": {
                "host": url.netloc,
                "protocol": "wss" if url.scheme == "https" else "ws",
                "description": "The gateway",
            }
        },
        "channels": channels,
        "operations": operations,
        "components": {
            "messages": messages,
            "schemas": _schemas(streamed),
            "securitySchemes": {
                "agent": {
                    "type": "http",
                    "scheme": "bearer",
                    "bearerFormat": "JWT",
                    "description": "An agent's access token (or `?ticket=`)",
                },
                "visitor": {
                    "type": "httpApiKey",
                    "name": "token",
                    "in": "query",
                    "description": "The visitor token from `POST /api/v1/widget/sessions`",
                },
            },
        },
    }
