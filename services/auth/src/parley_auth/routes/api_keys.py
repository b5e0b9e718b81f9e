"""API keys for integrators (admins only; a key itself can never manage keys)."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response, status
from redis.asyncio import Redis

from parley_auth import api_keys
from parley_auth.deps import ActiveAdmin
from parley_auth.errors import AdminOnly, ApiKeyNotFound, SessionRevoked
from parley_auth.schemas import ApiKeyCreatedOut, ApiKeyIn, ApiKeyList
from parley_common.api_keys import ApiKeyNotAllowed
from parley_common.db import SessionDep
from parley_common.errors import responses
from parley_common.security import SettingsDep

router = APIRouter(
    prefix="/api/v1/api-keys",
    tags=["api keys"],
    responses=responses(SessionRevoked, AdminOnly, ApiKeyNotAllowed),
)


def _redis(request: Request) -> Redis:
    redis: Redis = request.app.state.redis
    return redis


RedisDep = Annotated[Redis, Depends(_redis)]


@router.get("", response_model=ApiKeyList)
async def list_api_keys(
    admin: ActiveAdmin, session: SessionDep, redis: RedisDep, settings: SettingsDep
) -> dict[str, Any]:
    """The account's active keys with their last use (at most a minute old)."""
    return await api_keys.list_keys(session, redis, settings.namespace, admin.account_id)


@router.post("", response_model=ApiKeyCreatedOut, status_code=status.HTTP_201_CREATED)
async def create_api_key(
    body: ApiKeyIn,
    admin: ActiveAdmin,
    session: SessionDep,
    redis: RedisDep,
    settings: SettingsDep,
    response: Response,
) -> dict[str, Any]:
    """The key is in this response only; it is stored as its SHA-256."""
    response.headers["Cache-Control"] = "no-store"
    return await api_keys.create(
        session, redis, settings.namespace, admin, body.name, list(body.scopes)
    )


@router.delete(
    "/{key_id}", status_code=status.HTTP_204_NO_CONTENT, responses=responses(ApiKeyNotFound)
)
async def revoke_api_key(
    key_id: uuid.UUID,
    admin: ActiveAdmin,
    session: SessionDep,
    redis: RedisDep,
    settings: SettingsDep,
) -> Response:
    """Refused by every service within a second."""
    await api_keys.revoke(session, redis, settings.namespace, admin.account_id, key_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
