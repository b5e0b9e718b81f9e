"""The agents' endpoints: the Visitors tab, visitor details, browsing history, blocking."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Query

from parley_common.db import SessionDep
from parley_common.errors import Unauthorized, responses
from parley_common.pagination import InvalidCursor
from parley_common.security import CurrentAgent
from parley_common.text import Text
from parley_visitors import service
from parley_visitors.deps import PresenceDep
from parley_visitors.errors import VisitorNotFound
from parley_visitors.schemas import (
    ActiveVisitorList,
    KnownVisitorList,
    PageViewList,
    VisitorOut,
    VisitorPatch,
)

router = APIRouter(prefix="/api/v1/visitors", tags=["visitors"])

Limit = Annotated[int, Query(ge=1, le=200)]
Cursor = Annotated[Text | None, Query(max_length=500)]


@router.get(
    "",
    response_model=ActiveVisitorList | KnownVisitorList,
    responses=responses(Unauthorized, InvalidCursor),
)
async def list_visitors(
    agent: CurrentAgent,
    session: SessionDep,
    presence: PresenceDep,
    state: Literal["active", "all"] = "active",
    chatting: bool | None = None,
    returning: bool | None = None,
    url_contains: Annotated[Text | None, Query(max_length=200)] = None,
    cursor: Cursor = None,
    limit: Limit = 50,
) -> ActiveVisitorList | KnownVisitorList:
    """`state=active`: who is on the website now, latest activity first, with filters.
    `state=all`: every known visitor, last seen first (the filters apply to active only)."""
    if state == "all":
        return await service.known_visitors(
            session, agent.account_id, limit=limit, cursor_token=cursor
        )
    return await service.active_visitors(
        presence,
        agent.account_id,
        limit=limit,
        cursor_token=cursor,
        url_contains=url_contains,
        returning=returning,
        chatting=chatting,
    )


@router.get(
    "/{visitor_id}", response_model=VisitorOut, responses=responses(Unauthorized, VisitorNotFound)
)
async def get_visitor(
    visitor_id: uuid.UUID, agent: CurrentAgent, session: SessionDep, presence: PresenceDep
) -> VisitorOut:
    """Visitor details: profile, device, location, current page, latest pages."""
    return await service.profile(session, presence, agent.account_id, visitor_id)


@router.patch(
    "/{visitor_id}", response_model=VisitorOut, responses=responses(Unauthorized, VisitorNotFound)
)
async def update_visitor(
    visitor_id: uuid.UUID,
    body: VisitorPatch,
    agent: CurrentAgent,
    session: SessionDep,
    presence: PresenceDep,
) -> VisitorOut:
    """Edit the visitor's name, email, phone, note or custom variables (null clears)."""
    return await service.update_profile(session, presence, agent.account_id, visitor_id, body)


@router.get(
    "/{visitor_id}/page-views",
    response_model=PageViewList,
    responses=responses(Unauthorized, VisitorNotFound, InvalidCursor),
)
async def list_page_views(
    visitor_id: uuid.UUID,
    agent: CurrentAgent,
    session: SessionDep,
    cursor: Cursor = None,
    limit: Limit = 50,
) -> PageViewList:
    """Browsing history, newest first."""
    return await service.browsing_history(
        session, agent.account_id, visitor_id, limit=limit, cursor_token=cursor
    )


@router.post(
    "/{visitor_id}/block",
    response_model=VisitorOut,
    responses=responses(Unauthorized, VisitorNotFound),
)
async def block_visitor(
    visitor_id: uuid.UUID, agent: CurrentAgent, session: SessionDep, presence: PresenceDep
) -> VisitorOut:
    """Block: the visitor's chat box opens no chat and chat refuses its messages."""
    return await service.set_blocked(session, presence, agent.account_id, visitor_id, blocked=True)


@router.delete(
    "/{visitor_id}/block",
    response_model=VisitorOut,
    responses=responses(Unauthorized, VisitorNotFound),
)
async def unblock_visitor(
    visitor_id: uuid.UUID, agent: CurrentAgent, session: SessionDep, presence: PresenceDep
) -> VisitorOut:
    return await service.set_blocked(session, presence, agent.account_id, visitor_id, blocked=False)
