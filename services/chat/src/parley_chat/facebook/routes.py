"""Facebook Messenger: the page connection (admins) and the webhook Facebook calls."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Request, Response

from parley_chat.deps import ChatSettingsDep
from parley_chat.facebook import service, webhook
from parley_chat.facebook.errors import (
    FacebookNotConnected,
    FacebookPageInvalid,
    FacebookPageTaken,
    FacebookUnavailable,
    InvalidPayload,
    InvalidSignature,
    VerificationFailed,
)
from parley_chat.facebook.graph import GraphDep
from parley_chat.facebook.schemas import FacebookConnectIn, FacebookPageOut
from parley_common.db import SessionDep
from parley_common.errors import responses
from parley_common.security import CurrentAdmin, CurrentAgent
from parley_common.text import Text

router = APIRouter(prefix="/api/v1", tags=["facebook"])


@router.get(
    "/integrations/facebook",
    response_model=FacebookPageOut,
    responses=responses(FacebookNotConnected),
)
async def get_connection(session: SessionDep, agent: CurrentAgent) -> dict[str, Any]:
    """The connected page (the access token is never shown, only its last 4 characters)."""
    return await service.get(session, agent.account_id)


@router.put(
    "/integrations/facebook",
    response_model=FacebookPageOut,
    responses=responses(FacebookPageTaken, FacebookPageInvalid, FacebookUnavailable),
)
async def connect(
    body: FacebookConnectIn, session: SessionDep, admin: CurrentAdmin, graph: GraphDep
) -> dict[str, Any]:
    """Connect a page with the page access token the app got through Facebook Login.

    The token is checked on Graph and the page's messages are subscribed to; connecting
    another page replaces the previous one."""
    return await service.connect(session, graph, admin, body.page_id, body.page_access_token)


@router.delete("/integrations/facebook", status_code=204, responses=responses(FacebookNotConnected))
async def disconnect(session: SessionDep, admin: CurrentAdmin, graph: GraphDep) -> Response:
    await service.disconnect(session, graph, admin.account_id)
    return Response(status_code=204)


@router.get(
    "/webhooks/facebook",
    response_class=Response,
    responses={200: {"content": {"text/plain": {}}}, **responses(VerificationFailed)},
)
async def verify(
    settings: ChatSettingsDep,
    mode: Annotated[Text | None, Query(alias="hub.mode")] = None,
    token: Annotated[Text | None, Query(alias="hub.verify_token", max_length=500)] = None,
    challenge: Annotated[Text, Query(alias="hub.challenge", max_length=500)] = "",
) -> Response:
    """Facebook's subscription check: echoes `hub.challenge` when the verify token matches."""
    webhook.verify_challenge(settings, mode, token)
    return Response(challenge, media_type="text/plain")


@router.post("/webhooks/facebook", responses=responses(InvalidSignature, InvalidPayload))
async def receive(
    request: Request,
    session: SessionDep,
    settings: ChatSettingsDep,
    graph: GraphDep,
    signature: Annotated[str | None, Header(alias="X-Hub-Signature-256")] = None,
) -> dict[str, Any]:
    """Messenger events, signed with the app secret (`X-Hub-Signature-256`)."""
    body = await request.body()
    webhook.check_signature(settings, body, signature)
    stored = await webhook.receive(session, settings, graph, webhook.parse(body))
    return {"received": True, "stored": stored}
