"""Widget (visitor) endpoints: authenticated with the visitor token."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response

from parley_chat.config import get_chat_settings
from parley_chat.deps import ChatSettingsDep, RedisDep
from parley_chat.errors import (
    AlreadyRated,
    AttachmentInvalid,
    ConversationNotFound,
    EmptyMessage,
    MessageTooLong,
    RatingNotRequested,
    VisitorBlocked,
)
from parley_chat.schemas import (
    ContactFormIn,
    RatingIn,
    RatingOut,
    SentMessageOut,
    VisitorMessageIn,
    WidgetConversationOut,
)
from parley_chat.widget import service as widget
from parley_common import fastpath
from parley_common.db import SessionDep, request_session
from parley_common.errors import responses
from parley_common.security import CurrentVisitor, bearer_token, verify_visitor_token

router = APIRouter(prefix="/api/v1/widget", tags=["widget"])


MESSAGES_PATH = "/api/v1/widget/messages"


@router.post(
    "/messages",
    response_model=SentMessageOut,
    status_code=201,
    responses=responses(VisitorBlocked, EmptyMessage, MessageTooLong, AttachmentInvalid),
)
async def send_message(
    body: VisitorMessageIn, session: SessionDep, visitor: CurrentVisitor, settings: ChatSettingsDep
) -> dict[str, Any]:
    """Opens a conversation if none is open; a retry with the same `client_message_id` returns
    the first message."""
    # Served by send_message_fast below FastAPI's machinery (app.py); this route documents it,
    # answers the bodies that fail validation, and answers all when the layer is absent.
    sent = await widget.send_visitor_message(session, settings, visitor, body)
    return {"conversation_id": sent.conversation_id, "message": sent.message}


async def send_message_fast(request: Request) -> Response | None:
    """The route's answer without FastAPI's routing, dependencies and validation, which cost
    more CPU than the message itself (parley_common.fastpath)."""
    body = await fastpath.json_body(request, VisitorMessageIn)
    if body is None:
        return None  # the route answers: its 422 (or 401 first) is the documented one
    visitor = verify_visitor_token(bearer_token(request))
    # The request's session as SessionDep opens it; committed before the response is sent.
    async with request_session(request) as session:
        sent = await widget.send_visitor_message(session, get_chat_settings(), visitor, body)
    # As FastAPI serialises a response_model: validated from attributes, dumped by alias.
    out = SentMessageOut.model_validate(
        {"conversation_id": sent.conversation_id, "message": sent.message}, from_attributes=True
    )
    return Response(out.model_dump_json(by_alias=True), 201, media_type="application/json")


@router.get(
    "/conversation", response_model=WidgetConversationOut, responses=responses(ConversationNotFound)
)
async def current_conversation(session: SessionDep, visitor: CurrentVisitor) -> dict[str, Any]:
    """The visitor's current conversation with its latest messages (oldest first)."""
    return await widget.current_conversation(session, visitor)


@router.post(
    "/contact-form",
    response_model=SentMessageOut,
    status_code=201,
    responses=responses(VisitorBlocked),
)
async def contact_form(
    body: ContactFormIn, session: SessionDep, visitor: CurrentVisitor, settings: ChatSettingsDep
) -> dict[str, Any]:
    """An offline message; agents answer it by e-mail."""
    return await widget.contact_form(session, settings, visitor, body)


@router.post(
    "/rating",
    response_model=RatingOut,
    status_code=201,
    responses=responses(ConversationNotFound, AlreadyRated, RatingNotRequested),
)
async def rate(body: RatingIn, session: SessionDep, visitor: CurrentVisitor) -> dict[str, Any]:
    """Once per conversation, after the agent resolved it with rating enabled."""
    return await widget.rate(session, visitor, body)


@router.post("/typing", status_code=204)
async def typing(
    session: SessionDep, visitor: CurrentVisitor, redis: RedisDep, settings: ChatSettingsDep
) -> Response:
    await widget.visitor_typing(session, redis, settings.namespace, visitor)
    return Response(status_code=204)
