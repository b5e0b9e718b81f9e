"""Outgoing webhooks: subscriptions (admin CRUD), and a delivery row per matching event.

Notify owns them because it is already the service that delivers to the outside (APNs,
e-mail) from a worker with retries; a webhook is one more destination of the same events.
The consumer only writes delivery rows (one insert per event); the HTTP requests leave from
``webhook_sender`` in the worker, so a slow receiver never slows any event path.
"""

from __future__ import annotations

import asyncio
import ipaddress
import secrets
import socket
import uuid
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import orjson
from sqlalchemy import delete, func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from parley_common import sealed
from parley_common.events.catalogue import WEBHOOK_EVENT_TYPES
from parley_common.events.envelope import Event
from parley_common.pagination import decode_time_id, page_of
from parley_notify.config import get_notify_settings
from parley_notify.errors import WebhookNotFound, WebhookUrlRefused
from parley_notify.models import Webhook, WebhookAttempt, WebhookDelivery

EVENT_TYPES = WEBHOOK_EVENT_TYPES
PING = "ping"


def envelope(
    event_id: uuid.UUID,
    event_type: str,
    account_id: uuid.UUID,
    data: Any,
    occurred_at: datetime | None = None,
) -> str:
    """The body of a delivery: the event envelope as the catalogue documents it."""
    return orjson.dumps(
        {
            "id": str(event_id),
            "type": event_type,
            "account_id": str(account_id),
            "occurred_at": (occurred_at or datetime.now(UTC)).isoformat(),
            "version": 1,
            "data": data,
        }
    ).decode()


# --- SSRF ---------------------------------------------------------------------------------
def address_allowed(address: str) -> bool:
    """Public unicast only, unless the deployment allows private targets."""
    if get_notify_settings().webhooks_allow_private:
        return True
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


async def check_url(url: str) -> None:
    """Refuse URLs that are not http(s) or resolve to a private, loopback or link-local
    address (checked again at every delivery, against DNS rebinding)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise WebhookUrlRefused("Use an http:// or https:// URL with a host.")
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(
            parts.hostname,
            parts.port or (443 if parts.scheme == "https" else 80),
            type=socket.SOCK_STREAM,
        )
    except (OSError, UnicodeError) as exc:
        raise WebhookUrlRefused(f"{parts.hostname} does not resolve.") from exc
    if not all(address_allowed(str(info[4][0])) for info in infos):
        raise WebhookUrlRefused("The URL resolves to a private, loopback or link-local address.")


# --- subscriptions ------------------------------------------------------------------------
def webhook_out(hook: Webhook) -> dict[str, Any]:
    return {
        "id": hook.id,
        "url": hook.url,
        "events": hook.events,
        "enabled": hook.enabled,
        "disabled_reason": hook.disabled_reason,
        "created_at": hook.created_at,
    }


async def get(session: AsyncSession, account_id: uuid.UUID, webhook_id: uuid.UUID) -> Webhook:
    hook = await session.scalar(
        select(Webhook).where(Webhook.account_id == account_id, Webhook.id == webhook_id)
    )
    if hook is None:
        raise WebhookNotFound()
    return hook


async def list_webhooks(session: AsyncSession, account_id: uuid.UUID) -> dict[str, Any]:
    rows = await session.scalars(
        select(Webhook)
        .where(Webhook.account_id == account_id)
        .order_by(Webhook.created_at.desc(), Webhook.id)
    )
    return {"items": [webhook_out(h) for h in rows], "next_cursor": None}


async def create(
    session: AsyncSession, account_id: uuid.UUID, *, url: str, events: list[str], enabled: bool
) -> dict[str, Any]:
    await check_url(url)
    secret = "whsec_" + secrets.token_urlsafe(32)
    hook = Webhook(
        id=uuid.uuid4(),
        account_id=account_id,
        url=url,
        events=sorted(set(events)),
        enabled=enabled,
        secret=sealed.seal(secret),  # read back to sign; sealed at rest
        created_at=datetime.now(UTC),
    )
    session.add(hook)
    await session.flush()
    return {**webhook_out(hook), "secret": secret}


async def update(
    session: AsyncSession, account_id: uuid.UUID, webhook_id: uuid.UUID, changes: dict[str, Any]
) -> dict[str, Any]:
    hook = await get(session, account_id, webhook_id)
    if "url" in changes:
        await check_url(changes["url"])
        hook.url = changes["url"]
    if "events" in changes:
        hook.events = sorted(set(changes["events"]))
    if "enabled" in changes:
        hook.enabled = changes["enabled"]
        if hook.enabled:
            hook.disabled_reason = None
    hook.updated_at = datetime.now(UTC)
    await session.flush()
    return webhook_out(hook)


async def remove(session: AsyncSession, account_id: uuid.UUID, webhook_id: uuid.UUID) -> None:
    await get(session, account_id, webhook_id)
    await session.execute(
        delete(Webhook).where(Webhook.account_id == account_id, Webhook.id == webhook_id)
    )


async def send_test(
    session: AsyncSession, account_id: uuid.UUID, webhook_id: uuid.UUID
) -> dict[str, Any]:
    """A ``ping`` delivery, due now (the worker sends it within its poll interval)."""
    hook = await get(session, account_id, webhook_id)
    event_id = uuid.uuid4()
    delivery = WebhookDelivery(
        id=uuid.uuid4(),
        webhook_id=hook.id,
        account_id=account_id,
        event_id=event_id,
        event_type=PING,
        body=envelope(event_id, PING, account_id, {"webhook_id": str(hook.id)}),
        status="pending",
        attempts=0,
        next_attempt_at=datetime.now(UTC),
    )
    session.add(delivery)
    await session.flush()
    return {"delivery_id": delivery.id, "event_id": event_id}


async def list_attempts(
    session: AsyncSession,
    account_id: uuid.UUID,
    webhook_id: uuid.UUID,
    *,
    cursor: str | None,
    limit: int,
) -> dict[str, Any]:
    await get(session, account_id, webhook_id)
    query = (
        select(WebhookAttempt, WebhookDelivery)
        .join(WebhookDelivery, WebhookDelivery.id == WebhookAttempt.delivery_id)
        .where(WebhookAttempt.account_id == account_id, WebhookAttempt.webhook_id == webhook_id)
    )
    after = decode_time_id(cursor)
    if after is not None:
        query = query.where(
            func.row(WebhookAttempt.attempted_at, WebhookAttempt.id) < func.row(*after)
        )
    rows = (
        await session.execute(
            query.order_by(WebhookAttempt.attempted_at.desc(), WebhookAttempt.id.desc()).limit(
                limit + 1
            )
        )
    ).all()
    page, next_cursor = page_of(rows, limit, lambda r: (r[0].attempted_at, r[0].id))
    items = [
        {
            "id": attempt.id,
            "delivery_id": delivery.id,
            "event_id": delivery.event_id,
            "event_type": delivery.event_type,
            "attempted_at": attempt.attempted_at,
            "status_code": attempt.status_code,
            "duration_ms": attempt.duration_ms,
            "error": attempt.error,
            "delivery_status": delivery.status,
            "next_retry_at": delivery.next_attempt_at if delivery.status == "pending" else None,
        }
        for attempt, delivery in page
    ]
    return {"items": items, "next_cursor": next_cursor}


# --- the consumer ------------------------------------------------------------------------
async def on_event(session: AsyncSession, event: Event) -> None:
    """A delivery row for each enabled webhook of the account subscribed to the event."""
    hooks = (
        await session.scalars(
            select(Webhook.id).where(
                Webhook.account_id == event.account_id,
                Webhook.enabled.is_(True),
                Webhook.events.contains([event.type]),
            )
        )
    ).all()
    if not hooks:
        return
    body = envelope(event.id, event.type, event.account_id, event.data, event.occurred_at)
    now = datetime.now(UTC)
    await session.execute(
        pg_insert(WebhookDelivery)
        .values(
            [
                {
                    "id": uuid.uuid4(),
                    "webhook_id": hook_id,
                    "account_id": event.account_id,
                    "event_id": event.id,
                    "event_type": event.type,
                    "body": body,
                    "status": "pending",
                    "attempts": 0,
                    "next_attempt_at": now,
                }
                for hook_id in hooks
            ]
        )
        .on_conflict_do_nothing(constraint="uq_webhook_deliveries_event")
    )
