"""SmartHub: how the account's chatbots and automatic messages do."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query

from parley_bots import service
from parley_bots.errors import InvalidRange
from parley_bots.schemas import ChatbotStats
from parley_common.db import SessionDep
from parley_common.errors import responses
from parley_common.security import CurrentAgent

router = APIRouter(prefix="/api/v1/stats", tags=["stats"])


@router.get(
    "/chatbots",
    response_model=ChatbotStats,
    response_model_by_alias=True,
    responses=responses(InvalidRange),
    summary="Active chatbots, and per bot: triggered, replied, converted in the range",
)
async def chatbot_stats(
    agent: CurrentAgent,
    session: SessionDep,
    start: Annotated[
        datetime | None, Query(alias="from", description="Default: 30 days ago")
    ] = None,
    end: Annotated[datetime | None, Query(alias="to", description="Default: now")] = None,
) -> ChatbotStats:
    return await service.chatbot_stats(session, agent, start, end)
