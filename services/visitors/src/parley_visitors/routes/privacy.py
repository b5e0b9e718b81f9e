"""The visitor's rights (GDPR), for admins: export everything Parley holds about a visitor."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

import httpx
from fastapi import APIRouter, Depends, Request

from parley_common.db import SessionDep
from parley_common.errors import responses
from parley_common.security import CurrentAdmin, SettingsDep
from parley_visitors import export
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
