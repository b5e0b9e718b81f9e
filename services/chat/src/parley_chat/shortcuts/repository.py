"""SQL for shortcuts (every query by account); rows as ``ShortcutRow``."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from parley_chat.models import Shortcut
from parley_common.db import row_as

shortcuts = Shortcut.__table__


@dataclass(frozen=True, slots=True)
class ShortcutRow:
    id: uuid.UUID
    account_id: uuid.UUID
    name: str
    text: str
    created_at: datetime
    updated_at: datetime


async def list_all(session: AsyncSession, account_id: uuid.UUID) -> list[ShortcutRow]:
    rows = await session.execute(
        select(shortcuts).where(shortcuts.c.account_id == account_id).order_by(shortcuts.c.name)
    )
    return [ShortcutRow(**row._mapping) for row in rows]


async def get(
    session: AsyncSession, account_id: uuid.UUID, shortcut_id: uuid.UUID
) -> ShortcutRow | None:
    stmt = select(shortcuts).where(
        shortcuts.c.account_id == account_id, shortcuts.c.id == shortcut_id
    )
    return row_as(ShortcutRow, (await session.execute(stmt)).first())


async def name_taken(session: AsyncSession, account_id: uuid.UUID, name: str) -> bool:
    stmt = select(shortcuts.c.id).where(
        shortcuts.c.account_id == account_id, shortcuts.c.name == name
    )
    return (await session.execute(stmt)).first() is not None


async def insert(
    session: AsyncSession, account_id: uuid.UUID, name: str, text: str
) -> ShortcutRow | None:
    """None when the account already has a shortcut of that name."""
    stmt = (
        pg_insert(shortcuts)
        .values(id=uuid.uuid4(), account_id=account_id, name=name, text=text)
        .on_conflict_do_nothing(constraint="uq_shortcuts_account_name")
        .returning(shortcuts)
    )
    return row_as(ShortcutRow, (await session.execute(stmt)).first())


async def update_values(
    session: AsyncSession, account_id: uuid.UUID, shortcut_id: uuid.UUID, values: dict[str, Any]
) -> ShortcutRow | None:
    stmt = (
        update(shortcuts)
        .where(shortcuts.c.account_id == account_id, shortcuts.c.id == shortcut_id)
        .values(**values, updated_at=datetime.now(UTC))
        .returning(shortcuts)
    )
    return row_as(ShortcutRow, (await session.execute(stmt)).first())


async def delete_one(session: AsyncSession, account_id: uuid.UUID, shortcut_id: uuid.UUID) -> bool:
    stmt = (
        delete(shortcuts)
        .where(shortcuts.c.account_id == account_id, shortcuts.c.id == shortcut_id)
        .returning(shortcuts.c.id)
    )
    return (await session.execute(stmt)).first() is not None
