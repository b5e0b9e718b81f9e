"""Shortcuts (canned replies) of the account."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Response

from parley_chat.errors import ShortcutNameTaken, ShortcutNotFound
from parley_chat.schemas import ShortcutIn, ShortcutList, ShortcutOut, ShortcutPatch
from parley_chat.shortcuts import service as shortcuts
from parley_chat.shortcuts.repository import ShortcutRow
from parley_common.db import SessionDep
from parley_common.errors import responses
from parley_common.security import CurrentAgent

router = APIRouter(prefix="/api/v1/shortcuts", tags=["shortcuts"])


@router.get("", response_model=ShortcutList)
async def list_shortcuts(session: SessionDep, agent: CurrentAgent) -> dict[str, Any]:
    """Every shortcut of the account, by name. Text may use `{visitor_name}`,
    `{visitor_email}` and `{agent_name}`."""
    return {"items": await shortcuts.list_all(session, agent.account_id), "next_cursor": None}


@router.post(
    "", response_model=ShortcutOut, status_code=201, responses=responses(ShortcutNameTaken)
)
async def create_shortcut(
    body: ShortcutIn, session: SessionDep, agent: CurrentAgent
) -> ShortcutRow:
    return await shortcuts.create(session, agent.account_id, body.name, body.text)


@router.patch(
    "/{shortcut_id}",
    response_model=ShortcutOut,
    responses=responses(ShortcutNotFound, ShortcutNameTaken),
)
async def update_shortcut(
    shortcut_id: uuid.UUID, body: ShortcutPatch, session: SessionDep, agent: CurrentAgent
) -> ShortcutRow:
    return await shortcuts.change(
        session,
        agent.account_id,
        shortcut_id,
        body.model_dump(exclude_unset=True, exclude_none=True),
    )


@router.delete("/{shortcut_id}", status_code=204, responses=responses(ShortcutNotFound))
async def delete_shortcut(
    shortcut_id: uuid.UUID, session: SessionDep, agent: CurrentAgent
) -> Response:
    await shortcuts.remove(session, agent.account_id, shortcut_id)
    return Response(status_code=204)
