"""The visitor's rights (GDPR), for admins: export everything Parley holds about a visitor,
and erase it from every service."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

import httpx
from fastapi import APIRouter, Depends, Request, status

from parley_common.db import SessionDep
from parley_common.errors import responses
from parley_common.security import CurrentAdmin, SettingsDep
from parley_visitors import erasure, export
from parley_visitors.deps import PresenceDep
from parley_visitors.errors import VisitorNotFound

router = APIRouter(prefix="/api/v1/visitors", tags=["visitors"])


def _http(request: Request) -> httpx.AsyncClient:
    client: httpx.AsyncClient = request.app.state.http
    return client


@router.get(
    "/{visitor_id}/export",
    responses=responses(VisitorNotFound, export.ExportUnavailable),
    response_description="One JSON document: profile, custom data, page views, conversations "
    "with messages, attachments (metadata and download URLs), ratings, bot runs, Facebook "
    "identity.",
)
async def export_visitor(
    visitor_id: uuid.UUID,
    admin: CurrentAdmin,
    session: SessionDep,
    settings: SettingsDep,
    http: Annotated[httpx.AsyncClient, Depends(_http)],
) -> dict[str, Any]:
    """Everything every service holds about the visitor (admins)."""
    return await export.visitor_export(session, http, settings, admin.account_id, visitor_id)


@router.delete(
    "/{visitor_id}", status_code=status.HTTP_202_ACCEPTED, responses=responses(VisitorNotFound)
)
async def erase_visitor(
    visitor_id: uuid.UUID, admin: CurrentAdmin, session: SessionDep, presence: PresenceDep
) -> dict[str, Any]:
    """Erase the visitor from every service (follow it at GET /erasures/{erasure_id}): the
    profile, page views, messages' text, attachments, push and bot records and the stream's
    replay window. Conversations stay in statistics without personal data."""
    return await erasure.erase(session, presence, admin.account_id, visitor_id)


erasures = APIRouter(prefix="/api/v1/erasures", tags=["visitors"])


@erasures.get("/{erasure_id}", responses=responses(erasure.ErasureNotFound))
async def erasure_status(
    erasure_id: uuid.UUID, admin: CurrentAdmin, session: SessionDep
) -> dict[str, Any]:
    """`status` is `completed` once every service has erased its part."""
    result: dict[str, Any] = await erasure.status(session, admin.account_id, erasure_id)
    return result
