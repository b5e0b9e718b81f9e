"""Service-to-service endpoints (not routed by the gateway, not in the public OpenAPI)."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter
from sqlalchemy import select

from parley_bots.models import BotRun
from parley_common.db import SessionDep

router = APIRouter(prefix="/internal", include_in_schema=False)


@router.get("/visitors/{visitor_id}/export")
async def visitor_export(
    visitor_id: uuid.UUID, account_id: uuid.UUID, session: SessionDep
) -> dict[str, Any]:
    """The visitor's bot runs (which bot, when, how it ended), for the GDPR export."""
    runs = await session.scalars(
        select(BotRun)
        .where(BotRun.account_id == account_id, BotRun.visitor_id == visitor_id)
        .order_by(BotRun.created_at)
    )
    fields = (
        "id", "bot_id", "conversation_id", "status", "triggered_at", "replied_at",
        "converted_at", "finished_at", "created_at",
    )  # fmt: skip
    return {"bot_runs": [{f: getattr(run, f) for f in fields} for run in runs]}
