"""What chat knows about accounts, agents and visitors: its copies of auth's and visitors' data,
the handlers of the events that keep them (wired in consumers.py) and their SQL."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from parley_chat.models import Account, Agent, Visitor
from parley_common.db import row_as
from parley_common.events.catalogue import (
    AccountCreated,
    AgentData,
    AgentRemoved,
    AgentStatusChanged,
    SettingsUpdated,
    VisitorData,
    VisitorRef,
)
from parley_common.events.envelope import Event

accounts = Account.__table__
agents = Agent.__table__
visitors = Visitor.__table__


@dataclass(frozen=True, slots=True)
class VisitorRow:
    account_id: uuid.UUID
    visitor_id: uuid.UUID
    name: str | None
    email: str | None
    label: str | None
    blocked: bool


class Named(Protocol):
    """What names a visitor: a ``VisitorRow`` or the hot path's ``VisitorState``."""

    @property
    def name(self) -> str | None: ...
    @property
    def label(self) -> str | None: ...
    @property
    def email(self) -> str | None: ...


@dataclass(frozen=True)
class AccountPrefs:
    timezone: str = "UTC"
    rating_enabled: bool = False
    auto_assign: bool = False
    last_assigned_agent_id: uuid.UUID | None = None


def general_values(settings: dict[str, Any]) -> dict[str, Any]:
    """The columns a `general` settings section sets (only the keys present)."""
    values: dict[str, Any] = {}
    if isinstance(settings.get("timezone"), str):
        values["timezone"] = settings["timezone"][:64]
    if isinstance(settings.get("satisfaction_rating_enabled"), bool):
        values["rating_enabled"] = settings["satisfaction_rating_enabled"]
    if isinstance(settings.get("auto_assign"), bool):
        values["auto_assign"] = settings["auto_assign"]
    if "auto_resolve_minutes" in settings:
        minutes = settings["auto_resolve_minutes"]
        values["auto_resolve_minutes"] = minutes if isinstance(minutes, int) else None
    return values


async def upsert_account(
    session: AsyncSession, account_id: uuid.UUID, values: dict[str, Any]
) -> None:
    stmt = pg_insert(accounts).values(account_id=account_id, **values)
    stmt = (
        stmt.on_conflict_do_update(index_elements=["account_id"], set_=values)
        if values
        else stmt.on_conflict_do_nothing()
    )
    await session.execute(stmt)


async def account_prefs(session: AsyncSession, account_id: uuid.UUID) -> AccountPrefs:
    row = (
        await session.execute(
            select(
                accounts.c.timezone,
                accounts.c.rating_enabled,
                accounts.c.auto_assign,
                accounts.c.last_assigned_agent_id,
            ).where(accounts.c.account_id == account_id)
        )
    ).first()
    if row is None:
        return AccountPrefs()
    return AccountPrefs(
        row.timezone, row.rating_enabled, row.auto_assign, row.last_assigned_agent_id
    )


async def set_last_assigned(
    session: AsyncSession, account_id: uuid.UUID, agent_id: uuid.UUID
) -> None:
    await upsert_account(session, account_id, {"last_assigned_agent_id": agent_id})


async def upsert_agent(
    session: AsyncSession, account_id: uuid.UUID, agent_id: uuid.UUID, values: dict[str, Any]
) -> None:
    values = {k: v for k, v in values.items() if v is not None}
    stmt = pg_insert(agents).values(account_id=account_id, agent_id=agent_id, **values)
    stmt = (
        stmt.on_conflict_do_update(index_elements=["account_id", "agent_id"], set_=values)
        if values
        else stmt.on_conflict_do_nothing()
    )
    await session.execute(stmt)


async def agent_name(
    session: AsyncSession, account_id: uuid.UUID, agent_id: uuid.UUID
) -> str | None:
    return (
        await session.execute(
            select(agents.c.name).where(
                agents.c.account_id == account_id, agents.c.agent_id == agent_id
            )
        )
    ).scalar()


async def is_active_agent(
    session: AsyncSession, account_id: uuid.UUID, agent_id: uuid.UUID
) -> bool:
    found = (
        await session.execute(
            select(agents.c.agent_id).where(
                agents.c.account_id == account_id,
                agents.c.agent_id == agent_id,
                agents.c.removed.is_(False),
            )
        )
    ).scalar()
    return found is not None


async def online_agent_ids(session: AsyncSession, account_id: uuid.UUID) -> list[uuid.UUID]:
    rows = await session.execute(
        select(agents.c.agent_id)
        .where(
            agents.c.account_id == account_id,
            agents.c.status == "online",
            agents.c.removed.is_(False),
        )
        .order_by(agents.c.agent_id)
    )
    return list(rows.scalars())


async def agent_names(session: AsyncSession, account_id: uuid.UUID) -> dict[uuid.UUID, str | None]:
    rows = await session.execute(
        select(agents.c.agent_id, agents.c.name).where(agents.c.account_id == account_id)
    )
    return {row.agent_id: row.name for row in rows}


async def upsert_visitor(
    session: AsyncSession, account_id: uuid.UUID, visitor_id: uuid.UUID, values: dict[str, Any]
) -> None:
    stmt = pg_insert(visitors).values(account_id=account_id, visitor_id=visitor_id, **values)
    stmt = (
        stmt.on_conflict_do_update(index_elements=["account_id", "visitor_id"], set_=values)
        if values
        else stmt.on_conflict_do_nothing()
    )
    await session.execute(stmt)


async def fill_visitor_contact(
    session: AsyncSession,
    account_id: uuid.UUID,
    visitor_id: uuid.UUID,
    name: str | None,
    email: str,
) -> None:
    """A contact form tells us an e-mail (and maybe a name) we may not have had."""
    await upsert_visitor(session, account_id, visitor_id, {})
    await session.execute(
        update(visitors)
        .where(visitors.c.account_id == account_id, visitors.c.visitor_id == visitor_id)
        .values(email=email, name=func.coalesce(visitors.c.name, name))
    )


async def get_visitor(
    session: AsyncSession, account_id: uuid.UUID, visitor_id: uuid.UUID
) -> VisitorRow | None:
    row = (
        await session.execute(
            select(visitors).where(
                visitors.c.account_id == account_id, visitors.c.visitor_id == visitor_id
            )
        )
    ).first()
    return row_as(VisitorRow, row)


def visitor_display_name(row: Named | None) -> str:
    """Name, else label, else e-mail; "Visitor" for one we know nothing about."""
    if row is None:
        return "Visitor"
    return str(row.name or row.label or row.email or "Visitor")


# --- handlers (consumers.py binds them) -------------------------------------------------
async def on_account_created(session: AsyncSession, event: Event) -> None:
    data = AccountCreated.model_validate(event.data)
    general = data.settings.get("general", data.settings)
    values = general_values(general if isinstance(general, dict) else {})
    await upsert_account(session, event.account_id, values)


async def on_settings_updated(session: AsyncSession, event: Event) -> None:
    data = SettingsUpdated.model_validate(event.data)
    if data.section == "general":
        await upsert_account(session, event.account_id, general_values(data.settings))


async def on_agent_changed(session: AsyncSession, event: Event) -> None:
    data = AgentData.model_validate(event.data)
    await upsert_agent(
        session,
        event.account_id,
        data.agent_id,
        {
            "name": data.name,
            "email": data.email,
            "role": data.role,
            "status": data.status,
            "removed": False if event.type == "auth.agent.created" else None,
        },
    )


async def on_agent_removed(session: AsyncSession, event: Event) -> None:
    data = AgentRemoved.model_validate(event.data)
    await upsert_agent(
        session, event.account_id, data.agent_id, {"removed": True, "status": "offline"}
    )


async def on_agent_status_changed(session: AsyncSession, event: Event) -> None:
    data = AgentStatusChanged.model_validate(event.data)
    await upsert_agent(session, event.account_id, data.agent_id, {"status": data.status})


async def on_visitor_changed(session: AsyncSession, event: Event) -> None:
    data = VisitorData.model_validate(event.data)
    values = {
        name: getattr(data, name) for name in data.model_fields_set & {"name", "email", "label"}
    }
    if event.type == "visitors.visitor.arrived":
        # An arrival says what the visitors service knows; it must not erase an e-mail chat
        # learnt from a contact form. An update (an agent's edit) may clear fields.
        values = {name: value for name, value in values.items() if value is not None}
    await upsert_visitor(session, event.account_id, data.visitor_id, values)


async def on_visitor_blocked(session: AsyncSession, event: Event) -> None:
    data = VisitorRef.model_validate(event.data)
    await upsert_visitor(
        session,
        event.account_id,
        data.visitor_id,
        {"blocked": event.type == "visitors.visitor.blocked"},
    )
