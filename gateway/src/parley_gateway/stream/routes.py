"""The stream's endpoints: the agent and visitor websockets and single-use stream tickets."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack

from fastapi import APIRouter, FastAPI, Request, WebSocket
from pydantic import BaseModel, ConfigDict

from parley_common import api_keys
from parley_common.errors import DomainError, Forbidden, Unauthorized, problem, responses
from parley_common.metrics import STREAM_CONNECTIONS
from parley_common.redis import create_redis
from parley_common.security import CurrentAgent, NoStore, bearer_token
from parley_gateway.stream import auth
from parley_gateway.stream.config import get_stream_settings
from parley_gateway.stream.connection import serve
from parley_gateway.stream.hub import Hub
from parley_gateway.stream.limits import (
    SocketCounts,
    agent_limits,
    check_upgrade_rate,
    refuse,
    visitor_limits,
)
from parley_gateway.stream.subscriber import Subscriber

router = APIRouter(tags=["stream"])

STREAM_DOC = """The live stream (websocket). Authenticate with `Authorization: Bearer` on the
upgrade or `?ticket=` from `POST /api/v1/stream/tickets`. Resume with `?since=<seq>&epoch=<epoch>`.

Server frames: `{"type":"hello","epoch","seq"}` first (the position the stream goes on from),
then `{"type":"event","seq","epoch","event","account_id","occurred_at","id","data"}` in `seq`
order with no gaps or duplicates; `{"type":"reset","epoch","seq"}` when the position is outside
the replay window or the epoch changed (refetch over REST, the stream goes on from `seq`);
unsequenced `{"type":"typing",...}`, `{"type":"pong"}` and `{"type":"error","code","detail"}`.
Client frames: `{"type":"ping"}`, `{"type":"typing","conversation_id","is_typing"?}`.
An API key with the `stream:read` scope opens it like an agent (bearer or ticket) and receives
the agents' stream of its account. Close codes: 4001 session revoked, agent removed or API key
revoked; 4008 client too slow (resume with
`since`); 4029 too many open sockets for this address, visitor or agent (the reason says
which; close one before opening another); 1011 stream unavailable (resume); 1012 server
restarting (resume).
Failed upgrades are answered with a problem+json HTTP response (401, 403, 422; 429 with
`Retry-After` when an address tries to open sockets too often).
Every frame's schema, both ways, and every event's `data`: `GET /asyncapi.json`."""


class StreamTicket(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"ticket": "q3J0c1Zx...", "expires_in": 30}]}
    )
    ticket: str
    expires_in: int


async def start_stream(app: FastAPI, stack: AsyncExitStack) -> None:
    """Lifespan hook: this process's Redis subscriber for every socket it serves.

    The stream has its own pool, one that waits for a free connection: a reconnect storm
    (thousands of sockets after a restart) must queue up, not fail with "too many connections".
    """
    redis = create_redis(app.state.settings, max_connections=64, wait_seconds=20)
    stack.push_async_callback(redis.aclose)
    app.state.stream_redis = redis
    hub = Hub(redis, app.state.settings.namespace, get_stream_settings())
    await hub.start()
    stack.push_async_callback(hub.stop)
    app.state.stream_hub = hub
    app.state.stream_sockets = SocketCounts()
    STREAM_CONNECTIONS.set_function(lambda: hub.sockets)


@router.post(
    "/api/v1/stream/tickets",
    status_code=201,
    response_model=StreamTicket,
    responses=responses(Unauthorized, Forbidden),
    summary="A single-use ticket for opening the stream from a browser",
    dependencies=[NoStore],
)
async def create_ticket(agent: CurrentAgent, request: Request) -> StreamTicket:
    """For an agent, or an API key with the `stream:read` scope."""
    settings = get_stream_settings()
    key_hash = api_keys.key_hash(bearer_token(request)) if agent.is_api_key else None
    ticket = await auth.issue_ticket(
        request.app.state.stream_redis, agent, request.app.state.settings.namespace, key_hash
    )
    return StreamTicket(ticket=ticket, expires_in=settings.stream_ticket_seconds)


@router.websocket("/api/v1/stream")
async def agent_stream(websocket: WebSocket) -> None:
    await _open_stream(websocket, _agent)


@router.websocket("/api/v1/widget/stream")
async def visitor_stream(websocket: WebSocket) -> None:
    await _open_stream(websocket, _visitor)


Limits = list[tuple[str, int]]
Identify = Callable[[WebSocket, int], Awaitable[tuple[Subscriber, Limits]]]


async def _agent(websocket: WebSocket, max_queue: int) -> tuple[Subscriber, Limits]:
    agent = await auth.authenticate_agent(websocket)
    sub = Subscriber(
        account_id=str(agent.account_id),
        agent_id=str(agent.agent_id),
        session_id=str(agent.session_id),
        max_queue=max_queue,
    )
    return sub, agent_limits(websocket, str(agent.agent_id))


async def _visitor(websocket: WebSocket, max_queue: int) -> tuple[Subscriber, Limits]:
    visitor = await auth.authenticate_visitor(websocket)
    sub = Subscriber(
        account_id=str(visitor.account_id), visitor_id=str(visitor.visitor_id), max_queue=max_queue
    )
    return sub, visitor_limits(websocket, str(visitor.visitor_id))


async def _open_stream(websocket: WebSocket, identify: Identify) -> None:
    """The upgrade rate, the position and the credentials checked (a refusal answers the
    upgrade with a problem), then the socket counted against its owner's limits and served."""
    hub: Hub = websocket.app.state.stream_hub
    try:
        await check_upgrade_rate(websocket)
        since, epoch = auth.position(websocket)
        sub, limits = await identify(websocket, get_stream_settings().stream_send_queue)
    except DomainError as exc:
        await _deny(websocket, exc)
        return
    sockets: SocketCounts = websocket.app.state.stream_sockets
    with sockets.hold(limits) as full:
        if full is not None:
            await refuse(websocket, full)
            return
        await serve(websocket, hub, sub, since, epoch)


async def _deny(websocket: WebSocket, exc: DomainError) -> None:
    await websocket.send_denial_response(
        problem(exc.status, exc.code, exc.title, exc.detail, exc.headers)
    )


agent_stream.__doc__ = STREAM_DOC
visitor_stream.__doc__ = "The visitor's live stream: its own conversation only.\n\n" + STREAM_DOC
