"""Agent endpoints for a conversation's messages: history, sending (chat, e-mail, Messenger),
transcripts."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query

from parley_chat.conversations import service
from parley_chat.deps import ChatSettingsDep, LimiterDep
from parley_chat.errors import (
    AttachmentInvalid,
    ConversationNotFound,
    EmptyMessage,
    MailFailed,
    MessageTooLong,
    ShortcutNotFound,
    VisitorHasNoEmail,
)
from parley_chat.facebook.errors import (
    FacebookAttachmentsUnsupported,
    FacebookPageDisconnected,
)
from parley_chat.messages import service as replies
from parley_chat.schemas import (
    AgentMessageIn,
    MessageOut,
    MessagePage,
    TranscriptIn,
    TranscriptOut,
)
from parley_common.db import SessionDep
from parley_common.errors import TooManyRequests, responses
from parley_common.pagination import InvalidCursor
from parley_common.security import CurrentAgent
from parley_common.text import Text

router = APIRouter(prefix="/api/v1", tags=["conversations"])


@router.get(
    "/conversations/{conversation_id}/messages",
    response_model=MessagePage,
    responses=responses(ConversationNotFound, InvalidCursor),
)
async def list_messages(
    conversation_id: uuid.UUID,
    session: SessionDep,
    agent: CurrentAgent,
    cursor: Annotated[Text | None, Query(description="older than this (next_cursor)")] = None,
    since: Annotated[int | None, Query(ge=0, description="newer than this seq")] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> dict[str, Any]:
    """Newest first; with `since`, the newer messages oldest first (catching up)."""
    return await service.list_messages(
        session, agent.account_id, conversation_id, cursor=cursor, since=since, limit=limit
    )


@router.post(
    "/conversations/{conversation_id}/messages",
    response_model=MessageOut,
    status_code=201,
    responses=responses(
        ConversationNotFound,
        ShortcutNotFound,
        EmptyMessage,
        MessageTooLong,
        AttachmentInvalid,
        VisitorHasNoEmail,
        FacebookPageDisconnected,
        FacebookAttachmentsUnsupported,
    ),
)
async def send_message(
    conversation_id: uuid.UUID,
    body: AgentMessageIn,
    session: SessionDep,
    agent: CurrentAgent,
    settings: ChatSettingsDep,
) -> dict[str, Any]:
    """`channel: "email"` also e-mails the visitor; their reply comes back here. On a
    `facebook` conversation a chat reply is sent to Messenger. Both are sent after the message
    is stored: `delivery.status` goes from `pending` to `sent`, or to `failed` with the
    problem (`code`, `detail`, e.g. `facebook_send_failed`)."""
    message, _ = await replies.send_agent_message(session, settings, agent, conversation_id, body)
    return message


@router.post(
    "/conversations/{conversation_id}/transcript",
    response_model=TranscriptOut,
    responses=responses(ConversationNotFound, TooManyRequests, MailFailed),
)
async def transcript(
    conversation_id: uuid.UUID,
    body: TranscriptIn,
    session: SessionDep,
    agent: CurrentAgent,
    settings: ChatSettingsDep,
    limiter: LimiterDep,
) -> dict[str, Any]:
    return await replies.send_transcript(
        session, settings, limiter, agent, conversation_id, str(body.email)
    )
