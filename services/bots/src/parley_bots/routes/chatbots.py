"""Chatbots: a trigger and a small flow of steps with quick-reply buttons."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from parley_bots import service
from parley_bots.errors import ChatbotNotFound, InvalidChatbotSteps, PlanLimitReached
from parley_bots.models import CHATBOT
from parley_bots.schemas import (
    ChatbotIn,
    ChatbotList,
    ChatbotOut,
    ChatbotPatch,
)
from parley_common.db import SessionDep
from parley_common.errors import responses
from parley_common.pagination import InvalidCursor
from parley_common.security import CurrentAdmin, CurrentAgent
from parley_common.text import Text

router = APIRouter(prefix="/api/v1/chatbots", tags=["chatbots"])
KIND = CHATBOT


@router.get(
    "",
    response_model=ChatbotList,
    responses=responses(InvalidCursor),
    summary="List chatbots, newest first",
)
async def list_chatbots(
    agent: CurrentAgent,
    session: SessionDep,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
    cursor: Annotated[Text | None, Query(max_length=200)] = None,
) -> ChatbotList:
    bots, next_cursor = await service.list_bots(
        session, agent, kind=KIND, cursor=cursor, limit=limit
    )
    return ChatbotList(items=[ChatbotOut.model_validate(b) for b in bots], next_cursor=next_cursor)


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=ChatbotOut,
    responses=responses(InvalidChatbotSteps, PlanLimitReached),
    summary="Add a chatbot (admins)",
)
async def create_chatbot(body: ChatbotIn, admin: CurrentAdmin, session: SessionDep) -> ChatbotOut:
    bot = await service.create_chatbot(session, admin, body)
    return ChatbotOut.model_validate(bot)


@router.get(
    "/{bot_id}",
    response_model=ChatbotOut,
    responses=responses(ChatbotNotFound),
    summary="One chatbot",
)
async def get_chatbot(bot_id: uuid.UUID, agent: CurrentAgent, session: SessionDep) -> ChatbotOut:
    bot = await service.get_bot(session, agent, kind=KIND, bot_id=bot_id)
    return ChatbotOut.model_validate(bot)


@router.patch(
    "/{bot_id}",
    response_model=ChatbotOut,
    responses=responses(ChatbotNotFound, InvalidChatbotSteps, PlanLimitReached),
    summary="Edit, enable or disable a chatbot (admins)",
)
async def update_chatbot(
    bot_id: uuid.UUID, body: ChatbotPatch, admin: CurrentAdmin, session: SessionDep
) -> ChatbotOut:
    bot = await service.update_chatbot(session, admin, bot_id, body)
    return ChatbotOut.model_validate(bot)


@router.delete(
    "/{bot_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=responses(ChatbotNotFound),
    summary="Delete a chatbot (admins)",
)
async def delete_chatbot(bot_id: uuid.UUID, admin: CurrentAdmin, session: SessionDep) -> Response:
    await service.delete_bot(session, admin, kind=KIND, bot_id=bot_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
