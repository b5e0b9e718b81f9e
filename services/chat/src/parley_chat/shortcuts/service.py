"""Shortcuts (canned replies): CRUD per account, names unique per account, and rendering."""

from __future__ import annotations

import re
import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from parley_chat.errors import ShortcutNameTaken, ShortcutNotFound
from parley_chat.shortcuts import repository as repo
from parley_chat.shortcuts.repository import ShortcutRow

VARIABLE = re.compile(r"\{(visitor_name|visitor_email|agent_name)\}")


def render(text: str, variables: dict[str, str | None]) -> str:
    """Replace the simple variables; unknown braces are left as typed."""
    return VARIABLE.sub(lambda m: variables.get(m.group(1)) or "", text)


async def list_all(session: AsyncSession, account_id: uuid.UUID) -> list[ShortcutRow]:
    return await repo.list_all(session, account_id)


async def get(session: AsyncSession, account_id: uuid.UUID, shortcut_id: uuid.UUID) -> ShortcutRow:
    row = await repo.get(session, account_id, shortcut_id)
    if row is None:
        raise ShortcutNotFound()
    return row


async def create(session: AsyncSession, account_id: uuid.UUID, name: str, text: str) -> ShortcutRow:
    row = await repo.insert(session, account_id, name, text)
    if row is None:
        raise ShortcutNameTaken()
    return row


async def change(
    session: AsyncSession, account_id: uuid.UUID, shortcut_id: uuid.UUID, values: dict[str, Any]
) -> ShortcutRow:
    current = await get(session, account_id, shortcut_id)
    if not values:
        return current
    if "name" in values and values["name"] != current.name:
        if await repo.name_taken(session, account_id, values["name"]):
            raise ShortcutNameTaken()
    row = await repo.update_values(session, account_id, shortcut_id, values)
    assert row is not None  # read above, in this transaction
    return row


async def remove(session: AsyncSession, account_id: uuid.UUID, shortcut_id: uuid.UUID) -> None:
    if not await repo.delete_one(session, account_id, shortcut_id):
        raise ShortcutNotFound()
