"""Push payloads and push rows: one row per (event, device), inserted with the event's effect.

The sender (``delivery``) picks rows up as soon as the handler's transaction commits.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from parley_notify import repository
from parley_notify.config import get_notify_settings
from parley_notify.models import Push
from parley_notify.repository import AgentRow


def truncate(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


@dataclass(frozen=True)
class Alert:
    """What every recipient of one event sees; badge and sound are set per agent."""

    kind: str  # new_message | contact_form | assigned | new_visitor
    title: str
    body: str
    thread_id: str
    conversation_id: uuid.UUID | None = None
    collapse_id: str | None = None
    extra: tuple[tuple[str, Any], ...] = ()


def payload(alert: Alert, *, account_id: uuid.UUID, badge: int, sound: bool) -> dict[str, Any]:
    aps: dict[str, Any] = {
        "alert": {"title": alert.title, "body": alert.body},
        "badge": badge,
        "thread-id": alert.thread_id,
        "mutable-content": 1,
    }
    if sound:
        aps["sound"] = "default"
    return {
        "aps": aps,
        "account_id": str(account_id),
        "conversation_id": str(alert.conversation_id) if alert.conversation_id else None,
        "type": alert.kind,
        **dict(alert.extra),
    }


async def schedule(
    session: AsyncSession,
    *,
    account_id: uuid.UUID,
    event_id: uuid.UUID,
    alert: Alert,
    recipients: Sequence[AgentRow],
) -> int:
    """Insert one pending push per device of each recipient; a redelivered event adds none."""
    with_devices = [a for a in recipients if a.devices]
    if not with_devices:
        return 0
    settings = get_notify_settings()
    badges = await repository.unread_counts(session, account_id, [a.agent_id for a in with_devices])
    rows = [
        {
            "id": uuid.uuid4(),
            "account_id": account_id,
            "event_id": event_id,
            "device_id": device.id,
            "agent_id": agent.agent_id,
            "token": device.token,
            "environment": device.environment,
            "topic": device.bundle_id or settings.apns_topic,
            "kind": alert.kind,
            "collapse_id": alert.collapse_id,
            "payload": payload(
                alert, account_id=account_id, badge=badges[agent.agent_id], sound=agent.sound
            ),
        }
        for agent in with_devices
        for device in agent.devices
    ]
    result = await session.execute(
        pg_insert(Push)
        .values(rows)
        .on_conflict_do_nothing(constraint="uq_pushes_event_device")
        .returning(Push.id)
    )
    return len(result.all())
