"""SmartHub conversation statistics."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Query

from parley_chat.errors import InvalidRange
from parley_chat.schemas import ConversationStats
from parley_chat.stats import service as stats
from parley_common.db import SessionDep
from parley_common.errors import responses
from parley_common.security import CurrentAgent

router = APIRouter(prefix="/api/v1/stats", tags=["stats"])


@router.get(
    "/conversations",
    response_model=ConversationStats,
    response_model_by_alias=True,
    responses=responses(InvalidRange),
)
async def conversation_stats(
    session: SessionDep,
    agent: CurrentAgent,
    from_: Annotated[date, Query(alias="from")],
    to: Annotated[date, Query()],
) -> dict[str, Any]:
    """Days in the account's timezone, both included: new, served, missed, resolved, median
    first response and time to resolve, average rating, per agent and per day."""
    return await stats.conversation_stats(session, agent.account_id, from_, to)
