"""Shortcuts (canned replies): CRUD per account, names unique per account."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from parley_chat.errors import ShortcutNameTaken, ShortcutNotFound
from parley_chat.models import Shortcut

shortcuts = Shortcut.__table__
VARIABLE = re.compile(r"\{(visitor_name|visitor_email|agent_name)\}")


def render(text: str, variables: dict[str, str | None]) -> str:
    """Replace the simple variables; unknown braces are left as typed."""
    return VARIABLE.sub(lambda m: variables.get(m.group(1)) or "", text)


async def list_all(session: AsyncSession, account_id: uuid.UUID) -> list[dict[str, Any]]:
    rows = await session.execute(
        select(shortcuts).where(shortcuts.c.account_id == account_id).order_by(shortcuts.c.name)
    )
    return [dict(row._mapping) for row in rows]


async def get(session: AsyncSession, account_id: uuid.UUID, shortcut_id: uuid.UUID) -> Any:
    row = (
        await session.execute(
            select(shortcuts).where(
                shortcuts.c.account_id == account_id, shortcuts.c.id == shortcut_id
            )
        )
    ).first()
    if row is None:
        raise ShortcutNotFound()
    return row


async def create(
    session: AsyncSession, account_id: uuid.UUID, name: str, text: str
) -> dict[str, Any]:
    row = (
        await session.execute(
            pg_insert(shortcuts)
            .values(id=uuid.uuid4(), account_id=account_id, name=name, text=text)
            .on_conflict_do_nothing(constraint="uq_shortcuts_account_name")
            .returning(shortcuts)
        )
    ).first()
    if row is None:
        raise ShortcutNameTaken()
    return dict(row._mapping)


async def change(
    session: AsyncSession, account_id: uuid.UUID, shortcut_id: uuid.UUID, values: dict[str, Any]
) -> dict[str, Any]:
    current = await get(session, account_id, shortcut_id)
    if not values:
        return dict(current._mapping)
    if "name" in values and values["name"] != current.name:
        taken = (
            await session.execute(
                select(shortcuts.c.id).where(
                    shortcuts.c.account_id == account_id, shortcuts.c.name == values["name"]
                )
            )
        ).first()
        if taken is not None:
            raise ShortcutNameTaken()
    row = (
        await session.execute(
            update(shortcuts)
            .where(shortcuts.c.account_id == account_id, shortcuts.c.id == shortcut_id)
            .values(**values, updated_at=datetime.now(UTC))
            .returning(shortcuts)
        )
    ).one()
    return dict(row._mapping)


async def remove(session: AsyncSession, account_id: uuid.UUID, shortcut_id: uuid.UUID) -> None:
    result = await session.execute(
        delete(shortcuts)
        .where(shortcuts.c.account_id == account_id, shortcuts.c.id == shortcut_id)
        .returning(shortcuts.c.id)
    )
    if result.first() is None:
        raise ShortcutNotFound()
