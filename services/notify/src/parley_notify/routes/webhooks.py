"""Outgoing webhooks (admins): subscribe a URL to event types, see every attempt, ping it."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response, status
from sqlalchemy.ext.asyncio import AsyncSession

from parley_common.db import SessionDep
from parley_common.errors import responses
from parley_common.pagination import InvalidCursor
from parley_common.security import CurrentAdmin
from parley_common.text import Text
from parley_notify import routing, webhooks
from parley_notify.config import get_notify_settings
from parley_notify.errors import WebhookNotFound, WebhookUrlRefused
from parley_notify.webhook_schemas import (
    AttemptPage,
    WebhookCreatedOut,
    WebhookIn,
    WebhookList,
    WebhookOut,
    WebhookPatch,
    WebhookTestOut,
)

router = APIRouter(prefix="/api/v1/webhooks", tags=["webhooks"])


async def _rebind(request: Request, session: AsyncSession, account_id: uuid.UUID) -> None:
    """Before the commit: the webhooks queue receives what is subscribed now, and only that."""
    await routing.rebind_webhooks(
        session, request.app.state.broker_channel, get_notify_settings().namespace, [account_id]
    )


NOT_FOUND = responses(WebhookNotFound)


@router.get("", response_model=WebhookList)
async def list_webhooks(admin: CurrentAdmin, session: SessionDep) -> dict[str, Any]:
    return await webhooks.list_webhooks(session, admin.account_id)


@router.post(
    "",
    response_model=WebhookCreatedOut,
    status_code=status.HTTP_201_CREATED,
    responses=responses(WebhookUrlRefused),
)
async def create_webhook(
    body: WebhookIn,
    admin: CurrentAdmin,
    session: SessionDep,
    request: Request,
    response: Response,
) -> dict[str, Any]:
    """Deliveries are `POST <url>` with the event envelope, signed with the `secret` (shown
    only here): `X-Parley-Signature: t=<unix>,v1=<hex HMAC-SHA256 of "<t>.<body>">`."""
    response.headers["Cache-Control"] = "no-store"
    created = await webhooks.create(
        session, admin.account_id, url=body.url, events=list(body.events), enabled=body.enabled
    )
    await _rebind(request, session, admin.account_id)
    return created


@router.get("/{webhook_id}", response_model=WebhookOut, responses=NOT_FOUND)
async def get_webhook(
    webhook_id: uuid.UUID, admin: CurrentAdmin, session: SessionDep
) -> dict[str, Any]:
    return webhooks.webhook_out(await webhooks.get(session, admin.account_id, webhook_id))


@router.patch(
    "/{webhook_id}",
    response_model=WebhookOut,
    responses=responses(WebhookNotFound, WebhookUrlRefused),
)
async def update_webhook(
    webhook_id: uuid.UUID,
    body: WebhookPatch,
    admin: CurrentAdmin,
    session: SessionDep,
    request: Request,
) -> dict[str, Any]:
    """`{"enabled": true}` turns a webhook disabled after failures on again."""
    updated = await webhooks.update(
        session, admin.account_id, webhook_id, body.model_dump(exclude_unset=True)
    )
    await _rebind(request, session, admin.account_id)
    return updated


@router.delete("/{webhook_id}", status_code=status.HTTP_204_NO_CONTENT, responses=NOT_FOUND)
async def delete_webhook(
    webhook_id: uuid.UUID, admin: CurrentAdmin, session: SessionDep, request: Request
) -> Response:
    await webhooks.remove(session, admin.account_id, webhook_id)
    await _rebind(request, session, admin.account_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get(
    "/{webhook_id}/deliveries",
    response_model=AttemptPage,
    responses=responses(WebhookNotFound, InvalidCursor),
)
async def list_deliveries(
    webhook_id: uuid.UUID,
    admin: CurrentAdmin,
    session: SessionDep,
    cursor: Annotated[Text | None, Query(max_length=500)] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
) -> dict[str, Any]:
    """Every attempt, newest first: event, status code, duration, error, next retry."""
    return await webhooks.list_attempts(
        session, admin.account_id, webhook_id, cursor=cursor, limit=limit
    )


@router.post(
    "/{webhook_id}/test",
    response_model=WebhookTestOut,
    status_code=status.HTTP_202_ACCEPTED,
    responses=NOT_FOUND,
)
async def test_webhook(
    webhook_id: uuid.UUID, admin: CurrentAdmin, session: SessionDep
) -> dict[str, Any]:
    """Sends a `ping` delivery now (from the worker, within a second)."""
    return await webhooks.send_test(session, admin.account_id, webhook_id)
