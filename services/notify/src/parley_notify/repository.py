"""SQL for devices, notification settings and the agent projection. Every query is per account."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import case, delete, func, or_, select, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from parley_notify.models import Agent, Device, NotificationSettings

SETTING_NAMES = (
    "new_message",
    "new_visitor",
    "offline_notifications",
    "sound",
    "email_notifications",
)


# --- devices --------------------------------------------------------------------------------
async def device_by_token(session: AsyncSession, token: str) -> Device | None:
    """Any account's device with this token (a token moves to whoever registers it last)."""
    result: Device | None = await session.scalar(
        select(Device).where(Device.token == token).with_for_update()
    )
    return result


async def agent_device(
    session: AsyncSession, *, account_id: uuid.UUID, agent_id: uuid.UUID, token: str
) -> Device | None:
    result: Device | None = await session.scalar(
        select(Device).where(
            Device.account_id == account_id, Device.agent_id == agent_id, Device.token == token
        )
    )
    return result


async def delete_device(session: AsyncSession, device: Device) -> None:
    await session.delete(device)
    await session.flush()


async def trim_agent_devices(
    session: AsyncSession, *, account_id: uuid.UUID, agent_id: uuid.UUID, keep: int
) -> None:
    """Keep the agent's ``keep`` most recently registered devices, drop the rest."""
    newest = (
        select(Device.id)
        .where(Device.account_id == account_id, Device.agent_id == agent_id)
        .order_by(Device.registered_at.desc(), Device.created_at.desc())
        .limit(keep)
    )
    await session.execute(
        delete(Device).where(
            Device.account_id == account_id, Device.agent_id == agent_id, Device.id.not_in(newest)
        )
    )


async def delete_session_devices(
    session: AsyncSession, *, account_id: uuid.UUID, session_id: uuid.UUID
) -> None:
    await session.execute(
        delete(Device).where(Device.account_id == account_id, Device.session_id == session_id)
    )


async def delete_agent_devices(
    session: AsyncSession, *, account_id: uuid.UUID, agent_id: uuid.UUID
) -> None:
    await session.execute(
        delete(Device).where(Device.account_id == account_id, Device.agent_id == agent_id)
    )


async def delete_device_if_registered_before(
    session: AsyncSession, *, account_id: uuid.UUID, token: str, before_ms: int | None
) -> bool:
    """Drop a token APNs rejected; with ``before_ms``, only if not re-registered since."""
    query = delete(Device).where(Device.account_id == account_id, Device.token == token)
    if before_ms is not None:
        query = query.where(Device.registered_at <= func.to_timestamp(before_ms / 1000.0))
    result = await session.execute(query.returning(Device.id))
    return result.first() is not None


# --- notification settings --------------------------------------------------------------------
async def notification_settings(
    session: AsyncSession, *, account_id: uuid.UUID, agent_id: uuid.UUID
) -> NotificationSettings | None:
    result: NotificationSettings | None = await session.scalar(
        select(NotificationSettings).where(
            NotificationSettings.account_id == account_id, NotificationSettings.agent_id == agent_id
        )
    )
    return result


async def upsert_notification_settings(
    session: AsyncSession, *, account_id: uuid.UUID, agent_id: uuid.UUID, changes: dict[str, bool]
) -> NotificationSettings:
    values: dict[str, Any] = {"agent_id": agent_id, "account_id": account_id, **changes}
    stmt = pg_insert(NotificationSettings).values(values)
    upsert = stmt.on_conflict_do_update(
        index_elements=[NotificationSettings.agent_id],
        set_={**changes, "updated_at": func.now()},
        where=NotificationSettings.account_id == account_id,
    ).returning(NotificationSettings)
    row: NotificationSettings = (
        await session.scalars(upsert, execution_options={"populate_existing": True})
    ).one()
    return row


# --- agents (projection) ----------------------------------------------------------------------
async def ensure_agent(
    session: AsyncSession, *, account_id: uuid.UUID, agent_id: uuid.UUID
) -> None:
    await session.execute(
        pg_insert(Agent).values(agent_id=agent_id, account_id=account_id).on_conflict_do_nothing()
    )


async def upsert_agent(
    session: AsyncSession,
    *,
    account_id: uuid.UUID,
    agent_id: uuid.UUID,
    fields: dict[str, Any],
    at: datetime,
) -> None:
    """Project what auth says of an agent as of ``at`` (its event's occurred_at). Events of one
    account can be handled out of order (consumer batches run concurrently): a status set by a
    newer event is never overwritten by an older one (signup's "offline" after the first
    "online")."""
    values = dict(fields, status_at=at) if "status" in fields else fields
    stmt = pg_insert(Agent).values(agent_id=agent_id, account_id=account_id, **values)
    if not fields:
        await session.execute(stmt.on_conflict_do_nothing())
        return
    set_: dict[str, Any] = dict(values)
    if "status" in fields:
        newer = or_(Agent.status_at.is_(None), Agent.status_at <= stmt.excluded.status_at)
        set_["status"] = case((newer, stmt.excluded.status), else_=Agent.status)
        set_["status_at"] = case((newer, stmt.excluded.status_at), else_=Agent.status_at)
    await session.execute(
        stmt.on_conflict_do_update(
            index_elements=[Agent.agent_id], set_=set_, where=Agent.account_id == account_id
        )
    )


async def remove_agent(
    session: AsyncSession, *, account_id: uuid.UUID, agent_id: uuid.UUID
) -> None:
    await delete_agent_devices(session, account_id=account_id, agent_id=agent_id)
    for model in (NotificationSettings, Agent):
        await session.execute(
            delete(model).where(model.account_id == account_id, model.agent_id == agent_id)
        )


@dataclass(frozen=True)
class AgentRow:
    """An agent of the account as the push rules see them, with their devices."""

    agent_id: uuid.UUID
    email: str | None
    status: str | None
    new_message: bool
    new_visitor: bool
    offline_notifications: bool
    sound: bool
    email_notifications: bool
    devices: tuple[Device, ...]


async def account_agents(
    session: AsyncSession, account_id: uuid.UUID, *, with_devices_only: bool = False
) -> list[AgentRow]:
    """Every known agent of the account (projection or device owner) with settings and devices.

    ``with_devices_only``: only agents with a device (all a push needs); no device, one query.
    """
    devices: dict[uuid.UUID, list[Device]] = {}
    for device in await session.scalars(
        select(Device).where(Device.account_id == account_id).order_by(Device.registered_at)
    ):
        devices.setdefault(device.agent_id, []).append(device)
    if with_devices_only and not devices:
        return []
    agents = {
        a.agent_id: a
        for a in await session.scalars(select(Agent).where(Agent.account_id == account_id))
    }
    prefs = {
        s.agent_id: s
        for s in await session.scalars(
            select(NotificationSettings).where(NotificationSettings.account_id == account_id)
        )
    }
    ids = devices.keys() if with_devices_only else agents.keys() | devices.keys()
    rows = []
    for agent_id in ids:
        agent, pref = agents.get(agent_id), prefs.get(agent_id)
        on = {name: getattr(pref, name) if pref is not None else True for name in SETTING_NAMES}
        rows.append(
            AgentRow(
                agent_id=agent_id,
                email=agent.email if agent else None,
                status=agent.status if agent else None,
                devices=tuple(devices.get(agent_id, ())),
                **on,
            )
        )
    return rows


async def unread_counts(
    session: AsyncSession, account_id: uuid.UUID, agent_ids: list[uuid.UUID]
) -> dict[uuid.UUID, int]:
    """Open conversations each agent can see that have visitor messages they have not read."""
    if not agent_ids:
        return {}
    rows = await session.execute(
        text("""
        SELECT a.agent_id, count(c.conversation_id)
        FROM unnest(CAST(:agent_ids AS uuid[])) AS a(agent_id)
        JOIN notify.conversations c
          ON c.account_id = :account_id AND c.status = 'open'
         AND c.last_visitor_message_at IS NOT NULL
         AND (c.assignee_id IS NULL OR c.assignee_id = a.agent_id)
        LEFT JOIN notify.conversation_reads r
          ON r.conversation_id = c.conversation_id AND r.agent_id = a.agent_id
        WHERE coalesce(r.marked_unread, c.marked_unread)
           OR c.last_visitor_message_at > greatest(coalesce(r.read_at, '-infinity'),
                                                   coalesce(c.read_at, '-infinity'))
        GROUP BY a.agent_id
    """),
        {"agent_ids": agent_ids, "account_id": account_id},
    )
    counts = {agent_id: 0 for agent_id in agent_ids}
    counts.update({agent_id: int(n) for agent_id, n in rows.all()})
    return counts
