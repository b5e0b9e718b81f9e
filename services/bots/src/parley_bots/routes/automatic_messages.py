"""Automatic messages: a trigger and one message the bot writes to matching visitors."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from parley_bots import service
from parley_bots.errors import AutomaticMessageNotFound
from parley_bots.models import AUTOMATIC_MESSAGE
from parley_bots.schemas import (
    AutomaticMessageIn,
    AutomaticMessageList,
    AutomaticMessageOut,
    AutomaticMessagePatch,
)
from parley_common.db import SessionDep
from parley_common.errors import InvalidInput, responses
from parley_common.pagination import InvalidCursor
from parley_common.security import CurrentAdmin, CurrentAgent
from parley_common.text import Text

router = APIRouter(prefix="/api/v1/automatic-messages", tags=["automatic messages"])
KIND = AUTOMATIC_MESSAGE


@router.get(
    "",
    response_model=AutomaticMessageList,
    responses=responses(InvalidCursor),
    summary="List automatic messages, newest first",
)
async def list_automatic_messages(
    agent: CurrentAgent,
    session: SessionDep,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
    cursor: Annotated[Text | None, Query(max_length=200)] = None,
) -> AutomaticMessageList:
    bots, next_cursor = await service.list_bots(
        session, agent, kind=KIND, cursor=cursor, limit=limit
    )
    return AutomaticMessageList(
        items=[AutomaticMessageOut.model_validate(b) for b in bots], next_cursor=next_cursor
    )


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=AutomaticMessageOut,
    summary="Add an automatic message (admins)",
)
async def create_automatic_message(
    body: AutomaticMessageIn, admin: CurrentAdmin, session: SessionDep
) -> AutomaticMessageOut:
    bot = await service.create_automatic_message(session, admin, body)
    return AutomaticMessageOut.model_validate(bot)


@router.get(
    "/{bot_id}",
    response_model=AutomaticMessageOut,
    responses=responses(AutomaticMessageNotFound),
    summary="One automatic message",
)
async def get_automatic_message(
    bot_id: uuid.UUID, agent: CurrentAgent, session: SessionDep
) -> AutomaticMessageOut:
    bot = await service.get_bot(session, agent, kind=KIND, bot_id=bot_id)
    return AutomaticMessageOut.model_validate(bot)


@router.patch(
    "/{bot_id}",
    response_model=AutomaticMessageOut,
    responses=responses(AutomaticMessageNotFound, InvalidInput),
    summary="Edit, enable or disable an automatic message (admins)",
)
async def update_automatic_message(
    bot_id: uuid.UUID, body: AutomaticMessagePatch, admin: CurrentAdmin, session: SessionDep
) -> AutomaticMessageOut:
    bot = await service.update_automatic_message(session, admin, bot_id, body)
    return AutomaticMessageOut.model_validate(bot)


@router.delete(
    "/{bot_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=responses(AutomaticMessageNotFound),
    summary="Delete an automatic message (admins)",
)
async def delete_automatic_message(
    bot_id: uuid.UUID, admin: CurrentAdmin, session: SessionDep
) -> Response:
    await service.delete_bot(session, admin, kind=KIND, bot_id=bot_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
