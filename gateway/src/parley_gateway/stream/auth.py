"""Who opens a stream: bearer tokens, single-use tickets, revocations and the widget's Origin."""

from __future__ import annotations

import secrets
import uuid
from urllib.parse import urlsplit

import orjson
from redis.asyncio import Redis
from starlette.websockets import WebSocket

from parley_common import api_keys
from parley_common.errors import Forbidden, InvalidInput, Unauthorized
from parley_common.security import (
    AgentPrincipal,
    VisitorPrincipal,
    api_key_principal,
    api_key_verifier,
    verify_agent_token,
    verify_visitor_token,
)
from parley_gateway.stream.config import Keys, get_stream_settings


class TicketInvalid(Unauthorized):
    code, title = "ticket_invalid", "The stream ticket is unknown, used or expired"


class OriginNotAllowed(Forbidden):
    code, title = "origin_not_allowed", "This website may not open the account's chat box"


def _keys(websocket: WebSocket) -> Keys:
    return Keys(websocket.app.state.settings.namespace)


def position(websocket: WebSocket) -> tuple[int | None, str | None]:
    """``?since=&epoch=``: both or neither."""
    since_raw = websocket.query_params.get("since")
    epoch = websocket.query_params.get("epoch")
    if since_raw is None and epoch is None:
        return None, None
    if since_raw is None or epoch is None:
        raise InvalidInput("Resume with both `since` and `epoch`, or neither.")
    if not since_raw.isdigit() or len(since_raw) > 18:
        raise InvalidInput("`since` is a non-negative integer (the last `seq` received).")
    if not epoch or len(epoch) > 64:
        raise InvalidInput("`epoch` is the stream epoch from a frame.")
    return int(since_raw), epoch


def _bearer(websocket: WebSocket) -> str | None:
    scheme, _, token = websocket.headers.get("authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


async def issue_ticket(
    redis: Redis, agent: AgentPrincipal, namespace: str, api_key_hash: str | None = None
) -> str:
    """``api_key_hash``: the ticket is an API key's (checked again when it is used)."""
    ticket = secrets.token_urlsafe(24)
    body = {
        "agent_id": str(agent.agent_id),
        "account_id": str(agent.account_id),
        "role": agent.role,
        "session_id": str(agent.session_id),
        "api_key": api_key_hash,
    }
    await redis.set(
        Keys(namespace).ticket(ticket),
        orjson.dumps(body),
        ex=get_stream_settings().stream_ticket_seconds,
    )
    return ticket


async def authenticate_agent(websocket: WebSocket) -> AgentPrincipal:
    redis: Redis = websocket.app.state.stream_redis
    keys = _keys(websocket)
    ticket = websocket.query_params.get("ticket")
    token = _bearer(websocket)
    if ticket is not None:
        stored = await redis.getdel(keys.ticket(ticket[:100]))
        if stored is None:
            raise TicketInvalid()
        claims = orjson.loads(stored)
        if claims.get("api_key"):
            verifier = api_key_verifier(websocket.app.state)
            return api_key_principal(
                await verifier.check_hash(claims["api_key"]), api_keys.STREAM_SCOPE
            )
        agent = AgentPrincipal(
            uuid.UUID(claims["agent_id"]),
            uuid.UUID(claims["account_id"]),
            claims["role"],
            uuid.UUID(claims["session_id"]),
        )
    elif token is not None and api_keys.is_api_key(token):
        record = await api_key_verifier(websocket.app.state).check(token)
        return api_key_principal(record, api_keys.STREAM_SCOPE)
    elif token is not None:
        agent = verify_agent_token(token)
    else:
        raise Unauthorized(
            "Send `Authorization: Bearer <token>` or `?ticket=`.",
            headers={"WWW-Authenticate": "Bearer"},
        )
    # The same revocation state every service checks (raises SessionRevoked).
    await websocket.app.state.revocations.check(agent.session_id, agent.agent_id)
    return agent


async def authenticate_visitor(websocket: WebSocket) -> VisitorPrincipal:
    token = websocket.query_params.get("token") or _bearer(websocket)
    if token is None:
        raise Unauthorized("Send the visitor token as `?token=` or `Authorization: Bearer`.")
    visitor = verify_visitor_token(token)
    await check_origin(websocket, visitor)
    return visitor


async def check_origin(websocket: WebSocket, visitor: VisitorPrincipal) -> None:
    """Browsers send Origin: when the account lists allowed domains, only those may connect.

    A client without Origin is not a browser page and cannot borrow a visitor's cookies, so
    the check (a browser protection) does not apply to it.
    """
    origin = websocket.headers.get("origin")
    if not origin:
        return
    stored = await websocket.app.state.stream_redis.get(
        _keys(websocket).domains(str(visitor.account_id))
    )
    domains: list[str] = orjson.loads(stored) if stored else []
    if not domains:
        return
    host = (urlsplit(origin).hostname or "").lower()
    own = (urlsplit(websocket.app.state.settings.public_url).hostname or "").lower()
    if host == own or any(host == d or host.endswith("." + d) for d in domains):
        return
    raise OriginNotAllowed(f"{host or origin!r} is not one of the account's allowed domains.")
