"""Heartbeats answered below FastAPI's machinery (parley_common.fastpath).

The chat box of every visitor on every website sends one about every 20 seconds: the
hottest request of the service. The route in ``routes/widget.py`` documents it and answers
the same way when the layer is absent.
"""

from __future__ import annotations

from fastapi import FastAPI
from starlette.requests import Request
from starlette.responses import Response

from parley_common import fastpath
from parley_common.security import bearer_token, verify_visitor_token
from parley_visitors import widget_sessions
from parley_visitors.schemas import PresenceOut

HEARTBEAT_PATH = "/api/v1/widget/heartbeat"
ACTIVE_BODY = PresenceOut().model_dump_json().encode()


async def heartbeat_response(request: Request) -> Response:
    """Verify the visitor token, refresh presence (arriving again if it had gone)."""
    visitor = verify_visitor_token(bearer_token(request))
    state = request.app.state
    await widget_sessions.heartbeat(state.session_factory, state.presence, visitor)
    return Response(ACTIVE_BODY, media_type="application/json")


def install(app: FastAPI) -> None:
    fastpath.install(app, "POST", HEARTBEAT_PATH, heartbeat_response)
