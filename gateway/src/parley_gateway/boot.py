"""GET /api/v1/boot: everything the agent app's first screen needs, in one request.

The gateway composes it from the services' own public endpoints (no service reads another's
tables): the caller's Authorization goes with every internal call, so each service applies its
own checks, and its first refusal (401 revoked session, 403, ...) is the answer. The stream
position is read from Redis BEFORE anything else, so a socket resuming from it
(``?since=<seq>&epoch=<epoch>``) replays every event that happened while the rest was read.
"""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

import aiohttp
import orjson
from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field

from parley_common.errors import TooManyRequests, Unauthorized, responses
from parley_common.security import CurrentAgent
from parley_gateway.config import GatewaySettings
from parley_gateway.stream.hub import Hub
from parley_gateway.upstream import (
    UpstreamTimeout,
    UpstreamUnavailable,
    check_rate_limits,
    upstream_errors,
    upstream_headers,
)

router = APIRouter(tags=["boot"])

# (part, service, path): every part is the body of that public endpoint, as the app knows it.
PARTS: tuple[tuple[str, str, str], ...] = (
    ("agent", "auth", "/api/v1/me"),
    ("account", "auth", "/api/v1/account"),
    ("general", "auth", "/api/v1/account/settings/general"),
    ("design", "auth", "/api/v1/account/settings/design"),
    ("contact_form", "auth", "/api/v1/account/settings/contact-form"),
    ("subscription", "auth", "/api/v1/account/subscription"),
    ("notification_settings", "notify", "/api/v1/me/notification-settings"),
    ("counts", "chat", "/api/v1/conversations/counts"),
    ("conversations", "chat", "/api/v1/conversations?status=open&limit={limit}"),
    ("visitors", "visitors", "/api/v1/visitors?state=active&limit=1"),
)
# Never forwarded: a conditional header would make a service answer 304 to the gateway.
NOT_FORWARDED = ("if-none-match", "if-modified-since", "accept-encoding")

Obj = dict[str, Any]


class StreamPosition(BaseModel):
    epoch: str
    seq: int


class BootCounts(BaseModel):
    open: int
    unread: int = Field(description="open conversations unread by the calling agent")
    resolved_today: int = Field(description="since midnight in the account's timezone")
    active_visitors: int


class BootSettings(BaseModel):
    general: Obj = Field(description="as GET /account/settings/general")
    design: Obj = Field(description="as GET /account/settings/design")
    contact_form: Obj = Field(description="as GET /account/settings/contact-form")


class Boot(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "agent": {"id": "6f1c…", "name": "Anna", "status": "online", "role": "owner"},
                    "account": {"id": "0b7f…", "name": "Anna's shop", "widget_key": "k3J…"},
                    "settings": {
                        "general": {"language": "en", "timezone": "Europe/Prague"},
                        "design": {"color": "#1f6feb"},
                        "contact_form": {"enabled": True},
                    },
                    "subscription": {"plan": "free", "status": "active"},
                    "notification_settings": {"new_message": True, "new_visitor": False},
                    "counts": {"open": 4, "unread": 2, "resolved_today": 7, "active_visitors": 12},
                    "conversations": {"items": [], "next_cursor": None},
                    "stream": {"epoch": "7f3c9a1e2b4d6f80", "seq": 1042},
                }
            ]
        }
    )
    agent: Obj = Field(description="as GET /me")
    account: Obj = Field(description="as GET /account")
    settings: BootSettings
    subscription: Obj = Field(description="as GET /account/subscription")
    notification_settings: Obj = Field(description="as GET /me/notification-settings")
    counts: BootCounts
    conversations: Obj = Field(description="as GET /conversations?status=open: the first page")
    stream: StreamPosition = Field(
        description="open the stream with ?since=<seq>&epoch=<epoch> to miss nothing after this"
    )


async def _fetch(state: Any, service: str, path: str, headers: Obj) -> tuple[int, bytes, str]:
    """One internal GET, under a per-service admission (the gateway's own calls)."""
    http: aiohttp.ClientSession = state.http
    url = state.settings.service_url(service) + path
    async with state.upstreams[service].slot():
        with upstream_errors(service):
            async with http.get(url, headers=headers) as resp:
                return resp.status, await resp.read(), resp.headers.get("content-type", "")


@router.get(
    "/api/v1/boot",
    response_model=Boot,
    responses=responses(Unauthorized, TooManyRequests, UpstreamUnavailable, UpstreamTimeout),
    summary="Everything the app's first screen needs, and the stream position to resume from",
)
async def boot(
    request: Request,
    agent: CurrentAgent,
    limit: Annotated[int, Query(ge=1, le=100, description="conversations on the page")] = 30,
) -> Response:
    """The agent, account, settings, subscription, notification settings, the badge counts,
    the first page of open conversations and `stream: {epoch, seq}`. Open the stream with
    `?since=<seq>&epoch=<epoch>`: every event after the boot's reads is replayed, none is
    missed. A service's refusal (401, 403, ...) is answered as it is."""
    settings: GatewaySettings = request.app.state.settings
    await check_rate_limits(request, settings)
    hub: Hub = request.app.state.stream_hub
    epoch, seq = await hub.position(str(agent.account_id))  # first: the rest is at least as new
    headers = {k: v for k, v in upstream_headers(request).items() if k not in NOT_FORWARDED}
    answers = await asyncio.gather(
        *(
            _fetch(request.app.state, service, path.format(limit=limit), headers)
            for _, service, path in PARTS
        )
    )
    parts: dict[str, Obj] = {}
    for (name, _, _), (status, body, content_type) in zip(PARTS, answers, strict=True):
        if status != 200:
            return Response(body, status_code=status, media_type=content_type or None)
        parts[name] = orjson.loads(body)
    counts = {**parts["counts"], "active_visitors": parts["visitors"]["total_active"]}
    document = {
        "agent": parts["agent"],
        "account": parts["account"],
        "settings": {k: parts[k] for k in ("general", "design", "contact_form")},
        "subscription": parts["subscription"],
        "notification_settings": parts["notification_settings"],
        "counts": counts,
        "conversations": parts["conversations"],
        "stream": {"epoch": epoch, "seq": seq},
    }
    return Response(orjson.dumps(document), media_type="application/json")
