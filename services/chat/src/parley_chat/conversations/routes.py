"""Agent endpoints for conversations and their messages."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Response, status

from parley_chat.conversations import service, typing_indicator
from parley_chat.deps import ChatSettingsDep, RedisDep
from parley_chat.errors import (
    AgentNotFound,
    ConversationNotFound,
    ConversationNotOpen,
    ConversationNotResolved,
    InvalidFilter,
    VisitorBlocked,
    VisitorHasOpenConversation,
    VisitorNotFound,
)
from parley_chat.schemas import (
    AssignIn,
    ContactVisitorIn,
    ConversationCounts,
    ConversationOut,
    ConversationPage,
)
from parley_chat.stats import service as stats
from parley_common.db import SessionDep
from parley_common.errors import responses
from parley_common.pagination import InvalidCursor
from parley_common.security import CurrentAgent
from parley_common.text import Text

router = APIRouter(prefix="/api/v1", tags=["conversations"])
NOT_FOUND = responses(ConversationNotFound)


@router.get(
    "/conversations",
    response_model=ConversationPage,
    responses=responses(InvalidCursor, InvalidFilter),
)
async def list_conversations(
    session: SessionDep,
    agent: CurrentAgent,
    status_: Annotated[Literal["open", "resolved"] | None, Query(alias="status")] = None,
    assignee: Annotated[Text | None, Query(description="agent id or `me`")] = None,
    unassigned: bool = False,
    unread: bool | None = None,
    channel: Literal["chat", "email", "contact_form", "facebook"] | None = None,
    visitor_id: uuid.UUID | None = None,
    cursor: Annotated[Text | None, Query(max_length=500)] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 30,
) -> ConversationPage:
    """Newest activity first (seed: Conversations and Resolved tabs)."""
    return await service.list_views(
        session,
        agent,
        status=status_,
        assignee=assignee,
        unassigned=unassigned,
        unread=unread,
        channel=channel,
        visitor_id=visitor_id,
        cursor=cursor,
        limit=limit,
    )


@router.get("/conversations/counts", response_model=ConversationCounts)
async def conversation_counts(session: SessionDep, agent: CurrentAgent) -> dict[str, int]:
    """The badges of the first screen: open, unread by the calling agent, resolved today."""
    return await stats.conversation_counts(session, agent)


@router.get("/conversations/{conversation_id}", response_model=ConversationOut, responses=NOT_FOUND)
async def get_conversation(
    conversation_id: uuid.UUID, session: SessionDep, agent: CurrentAgent
) -> ConversationOut:
    return await service.get_view(session, agent, conversation_id)


@router.post(
    "/visitors/{visitor_id}/conversations",
    response_model=ConversationOut,
    status_code=201,
    responses=responses(VisitorNotFound, VisitorBlocked),
)
async def contact_visitor(
    visitor_id: uuid.UUID,
    body: ContactVisitorIn,
    session: SessionDep,
    agent: CurrentAgent,
    response: Response,
) -> ConversationOut:
    """The agent contacts a visitor; 200 with the open conversation if there is one."""
    view, created = await service.contact_visitor(session, agent, visitor_id, body.text)
    if not created:
        response.status_code = status.HTTP_200_OK
    return view


@router.post(
    "/conversations/{conversation_id}/join", response_model=ConversationOut, responses=NOT_FOUND
)
async def join(
    conversation_id: uuid.UUID, session: SessionDep, agent: CurrentAgent
) -> ConversationOut:
    return await service.join(session, agent, conversation_id)


@router.post(
    "/conversations/{conversation_id}/resolve",
    response_model=ConversationOut,
    responses=responses(ConversationNotFound, ConversationNotOpen),
)
async def resolve(
    conversation_id: uuid.UUID, session: SessionDep, agent: CurrentAgent
) -> ConversationOut:
    return await service.resolve(session, agent, conversation_id)


@router.post(
    "/conversations/{conversation_id}/reopen",
    response_model=ConversationOut,
    responses=responses(ConversationNotFound, ConversationNotResolved, VisitorHasOpenConversation),
)
async def reopen(
    conversation_id: uuid.UUID, session: SessionDep, agent: CurrentAgent
) -> ConversationOut:
    return await service.reopen(session, agent, conversation_id)


@router.post(
    "/conversations/{conversation_id}/unread", response_model=ConversationOut, responses=NOT_FOUND
)
async def mark_unread(
    conversation_id: uuid.UUID, session: SessionDep, agent: CurrentAgent
) -> ConversationOut:
    """Stays unread for the calling agent until they mark it read."""
    return await service.mark(session, agent, conversation_id, unread=True)


@router.post(
    "/conversations/{conversation_id}/read", response_model=ConversationOut, responses=NOT_FOUND
)
async def mark_read(
    conversation_id: uuid.UUID, session: SessionDep, agent: CurrentAgent
) -> ConversationOut:
    return await service.mark(session, agent, conversation_id, unread=False)


@router.post(
    "/conversations/{conversation_id}/assign",
    response_model=ConversationOut,
    responses=responses(ConversationNotFound, AgentNotFound),
)
async def assign(
    conversation_id: uuid.UUID, body: AssignIn, session: SessionDep, agent: CurrentAgent
) -> ConversationOut:
    return await service.assign(session, agent, conversation_id, body.agent_id)


@router.post("/conversations/{conversation_id}/typing", status_code=204, responses=NOT_FOUND)
async def typing(
    conversation_id: uuid.UUID,
    session: SessionDep,
    agent: CurrentAgent,
    redis: RedisDep,
    settings: ChatSettingsDep,
) -> Response:
    """An ephemeral typing frame on the stream (not stored, not replayed)."""
    await typing_indicator.agent_typing(session, redis, settings.namespace, agent, conversation_id)
    return Response(status_code=204)
