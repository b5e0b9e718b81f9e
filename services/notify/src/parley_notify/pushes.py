"""Push payloads and push rows: one row per (event, device), inserted with the event's effect.

The sender (``delivery``) picks rows up as soon as the handler's transaction commits.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from parley_common import i18n
from parley_notify import repository
from parley_notify.config import get_notify_settings
from parley_notify.models import Push
from parley_notify.repository import AgentRow

log = logging.getLogger("parley.notify.pushes")

# APNs refuses a larger alert payload with 413 PayloadTooLarge.
APNS_MAX_BYTES = 4096
ELLIPSIS = "…"
# Never cut: the app could not open what a cut id names.
NEVER_CUT = frozenset({"account_id", "conversation_id", "message_id", "visitor_id", "type"})


def truncate(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


@dataclass(frozen=True)
class Alert:
    """What every recipient of one event sees, rendered in each device's locale; badge and
    sound are set per agent."""

    kind: str  # new_message | contact_form | assigned | new_visitor
    title: str | i18n.Phrase  # a str is shown as it is (a visitor's name, their message)
    body: str | i18n.Phrase
    thread_id: str
    conversation_id: uuid.UUID | None = None
    collapse_id: str | None = None
    extra: tuple[tuple[str, Any], ...] = ()


def payload(
    alert: Alert, *, account_id: uuid.UUID, badge: int, sound: bool, locale: str | None = None
) -> dict[str, Any]:
    """The APNs payload for one device, its texts in the device's ``locale``."""
    language = i18n.language_of(locale)
    aps: dict[str, Any] = {
        "alert": {
            "title": i18n.render(alert.title, language),
            "body": i18n.render(alert.body, language),
        },
        "badge": badge,
        "thread-id": alert.thread_id,
        "mutable-content": 1,
    }
    if sound:
        aps["sound"] = "default"
    return fit(
        {
            "aps": aps,
            "account_id": str(account_id),
            "conversation_id": str(alert.conversation_id) if alert.conversation_id else None,
            "type": alert.kind,
            **dict(alert.extra),
        }
    )


def encoded_size(value: Any) -> int:
    """Bytes as the APNs client sends them (aioapns: ``json.dumps(ensure_ascii=False)``, UTF-8)."""
    return len(json.dumps(value, ensure_ascii=False).encode())


def _json_bytes(text: str) -> int:
    return encoded_size(text) - 2  # without the quotes


def cut(text: str, max_bytes: int) -> str:
    """The longest start of ``text`` that, with "…" added, takes at most ``max_bytes`` in the
    payload (UTF-8, JSON escapes counted). Cut between code points, so never inside a UTF-8
    character, and without a dangling zero-width joiner or variation selector."""
    if _json_bytes(text) <= max_bytes:
        return text
    room = max_bytes - len(ELLIPSIS.encode())
    if room <= 0:
        return ""
    lo, hi = 0, len(text)  # the longest prefix that fits: sizes grow with length
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if _json_bytes(text[:mid]) <= room:
            lo = mid
        else:
            hi = mid - 1
    return text[:lo].rstrip().rstrip("\u200d\ufe0f") + ELLIPSIS


def fit(payload: dict[str, Any], limit: int = APNS_MAX_BYTES) -> dict[str, Any]:
    """Cut the payload to ``limit`` bytes: the alert body first, then long custom string
    fields (longest first, never ids), then the title."""
    excess = encoded_size(payload) - limit
    if excess <= 0:
        return payload
    alert = payload["aps"]["alert"]
    custom = sorted(
        (k for k, v in payload.items() if isinstance(v, str) and k not in NEVER_CUT),
        key=lambda k: -len(payload[k].encode()),
    )
    targets = [(alert, "body"), *((payload, k) for k in custom), (alert, "title")]
    for holder, key in targets:
        value = holder.get(key)
        if isinstance(value, str) and value:
            holder[key] = cut(value, max(0, _json_bytes(value) - excess))
            excess = encoded_size(payload) - limit
            if excess <= 0:
                return payload
    log.warning("push payload still %d bytes over the APNs limit", excess)
    return payload


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
                alert,
                account_id=account_id,
                badge=badges[agent.agent_id],
                sound=agent.sound,
                locale=device.locale,
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
