"""The chat box's endpoints: public settings, sessions, page views, heartbeats."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from parley_common.db import SessionDep
from parley_common.errors import Unauthorized, responses
from parley_common.security import CurrentVisitor, NoStore
from parley_common.text import Text
from parley_visitors import widget_sessions
from parley_visitors.deps import ClientDep, CountriesDep, PresenceDep, VisitorsSettingsDep
from parley_visitors.errors import OriginNotAllowed, VisitorNotFound, WidgetKeyNotFound
from parley_visitors.fastpath import heartbeat_response
from parley_visitors.schemas import (
    PageViewRequest,
    PresenceOut,
    SessionRequest,
    SessionResponse,
    WidgetSettings,
    WidgetVisitorPatch,
)

router = APIRouter(prefix="/api/v1/widget", tags=["widget"])


@router.get("/settings", response_model=WidgetSettings, responses=responses(WidgetKeyNotFound))
async def get_widget_settings(
    session: SessionDep, widget_key: Annotated[Text, Query(min_length=1, max_length=64)]
) -> WidgetSettings:
    """The chat box's settings (no token needed): design, texts, contact form, agents online."""
    return await widget_sessions.settings_for_key(session, widget_key)


@router.post(
    "/sessions",
    response_model=SessionResponse,
    responses=responses(WidgetKeyNotFound, OriginNotAllowed),
    dependencies=[NoStore],
)
async def start_widget_session(
    body: SessionRequest,
    session: SessionDep,
    presence: PresenceDep,
    client: ClientDep,
    countries: CountriesDep,
    settings: VisitorsSettingsDep,
) -> SessionResponse:
    """Open the chat box on a page: a new or returning visitor, its token and the settings."""
    result = await widget_sessions.start_session(
        session,
        presence,
        widget_key=body.widget_key,
        visitor_id=body.visitor_id,
        page=body.page,
        client=client,
        countries=countries,
        settings=settings,
    )
    return SessionResponse(
        visitor_id=result.visitor.id,
        visitor_token=result.token,
        blocked=result.visitor.blocked_at is not None,
        settings=result.settings,
    )


@router.post("/page-views", status_code=204, responses=responses(Unauthorized, VisitorNotFound))
async def record_page_view(
    body: PageViewRequest,
    visitor: CurrentVisitor,
    session: SessionDep,
    presence: PresenceDep,
    settings: VisitorsSettingsDep,
) -> Response:
    """The visitor opened a page (also single-page-app navigation)."""
    await widget_sessions.record_page_view(
        session, presence, visitor, url=body.url, title=body.title, settings=settings
    )
    return Response(status_code=204)


@router.post(
    "/heartbeat",
    response_model=PresenceOut,
    responses=responses(Unauthorized, VisitorNotFound),
    openapi_extra={"security": [{"visitor": []}]},  # the fast path checks the visitor token
)
async def heartbeat(request: Request) -> Response:
    """Keeps the visitor active; the chat box sends one about every 20 seconds."""
    # Served by parley_visitors.fastpath below FastAPI's machinery; this route documents it
    # and answers the same way should a request reach it.
    return await heartbeat_response(request)


@router.patch("/visitor", status_code=204, responses=responses(Unauthorized, VisitorNotFound))
async def update_widget_visitor(
    body: WidgetVisitorPatch, visitor: CurrentVisitor, session: SessionDep, presence: PresenceDep
) -> Response:
    """The website names its visitor (e.g. the logged-in user) or sets custom variables."""
    await widget_sessions.update_from_widget(session, presence, visitor, body)
    return Response(status_code=204)
