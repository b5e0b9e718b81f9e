"""Service-to-service endpoints (not routed by the gateway, not in the public OpenAPI)."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter

from parley_chat import export
from parley_common.db import SessionDep

router = APIRouter(prefix="/internal", include_in_schema=False)


@router.get("/visitors/{visitor_id}/export")
async def visitor_export(
    visitor_id: uuid.UUID, account_id: uuid.UUID, session: SessionDep
) -> dict[str, Any]:
    """Conversations with every message, attachments, ratings, Messenger identity."""
    return await export.visitor_export(session, account_id, visitor_id)
