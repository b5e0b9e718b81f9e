"""The routes of a kind of bot: chatbots and automatic messages are the same resource (rows of
``bots`` told apart by ``kind``) with their own schemas, errors and create/update rules.

No ``from __future__ import annotations`` here: FastAPI reads each handler's annotations, which
name the kind's schemas, when the routes are built.
"""

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response, status
from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession

from parley_bots import service
from parley_common.db import SessionDep
from parley_common.errors import DomainError, responses
from parley_common.pagination import InvalidCursor
from parley_common.security import AgentPrincipal, CurrentAdmin, CurrentAgent
from parley_common.text import Text


@dataclass(frozen=True)
class BotKind:
    kind: str  # the ``bots.kind`` column
    path: str  # under /api/v1
    one: str  # "chatbot", for summaries
    many: str  # "chatbots"
    article: str  # "a" / "an"
    out: type[BaseModel]
    page: type[BaseModel]
    create_in: type[BaseModel]
    patch_in: type[BaseModel]
    create: Callable[[AsyncSession, AgentPrincipal, Any], Awaitable[Any]]
    update: Callable[[AsyncSession, AgentPrincipal, uuid.UUID, Any], Awaitable[Any]]
    not_found: type[DomainError]
    create_errors: tuple[type[DomainError], ...] = ()
    update_errors: tuple[type[DomainError], ...] = ()


def bot_router(k: BotKind) -> APIRouter:
    """List, add, get, edit and delete of one kind: agents read, admins change."""
    router = APIRouter(prefix=f"/api/v1/{k.path}", tags=[k.many])
    Out, Page, In, Patch = k.out, k.page, k.create_in, k.patch_in

    @router.get(
        "",
        response_model=Page,
        responses=responses(InvalidCursor),
        summary=f"List {k.many}, newest first",
    )
    async def list_bots(
        agent: CurrentAgent,
        session: SessionDep,
        limit: Annotated[int, Query(ge=1, le=100)] = 50,
        cursor: Annotated[Text | None, Query(max_length=200)] = None,
    ) -> Any:
        bots, next_cursor = await service.list_bots(
            session, agent, kind=k.kind, cursor=cursor, limit=limit
        )
        return Page(items=[Out.model_validate(b) for b in bots], next_cursor=next_cursor)

    @router.post(
        "",
        status_code=status.HTTP_201_CREATED,
        response_model=Out,
        responses=responses(*k.create_errors),
        summary=f"Add {k.article} {k.one} (admins)",
    )
    async def create_bot(body: In, admin: CurrentAdmin, session: SessionDep) -> Any:  # type: ignore[valid-type]
        return Out.model_validate(await k.create(session, admin, body))

    @router.get(
        "/{bot_id}",
        response_model=Out,
        responses=responses(k.not_found),
        summary=f"One {k.one}",
    )
    async def get_bot(bot_id: uuid.UUID, agent: CurrentAgent, session: SessionDep) -> Any:
        return Out.model_validate(await service.get_bot(session, agent, kind=k.kind, bot_id=bot_id))

    @router.patch(
        "/{bot_id}",
        response_model=Out,
        responses=responses(k.not_found, *k.update_errors),
        summary=f"Edit, enable or disable {k.article} {k.one} (admins)",
    )
    async def update_bot(
        bot_id: uuid.UUID,
        body: Patch,  # type: ignore[valid-type]
        admin: CurrentAdmin,
        session: SessionDep,
    ) -> Any:
        return Out.model_validate(await k.update(session, admin, bot_id, body))

    @router.delete(
        "/{bot_id}",
        status_code=status.HTTP_204_NO_CONTENT,
        responses=responses(k.not_found),
        summary=f"Delete {k.article} {k.one} (admins)",
    )
    async def delete_bot(bot_id: uuid.UUID, admin: CurrentAdmin, session: SessionDep) -> Response:
        await service.delete_bot(session, admin, kind=k.kind, bot_id=bot_id)
        return Response(status_code=status.HTTP_204_NO_CONTENT)

    return router
