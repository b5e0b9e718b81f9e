"""GDPR export: everything every service holds about one visitor, as one JSON document.

The visitors service composes it: its own profile and page views, plus chat's (conversations,
messages, attachments with download URLs, ratings, Messenger identity) and bots' (runs) from
their internal endpoints. A service that does not answer makes the export fail (503) rather
than be silently incomplete.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime
from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from parley_common.errors import DomainError
from parley_common.settings import Settings
from parley_visitors import repository as repo
from parley_visitors.errors import VisitorNotFound
from parley_visitors.models import PageView, Visitor

PARTS = ("chat", "bots")
PROFILE = (
    "id", "label", "name", "email", "phone", "note", "custom", "visits", "first_seen_at",
    "last_seen_at", "user_agent", "browser", "os", "device_type", "country", "referrer", "utm",
    "last_url", "last_title", "blocked_at", "channel", "avatar_url", "facebook",
)  # fmt: skip


class ExportUnavailable(DomainError):
    status, code = 503, "export_unavailable"
    title = "A service holding the visitor's data did not answer; try again shortly"


def profile(visitor: Visitor) -> dict[str, Any]:
    return {name: getattr(visitor, name) for name in PROFILE}


async def _part(
    http: httpx.AsyncClient, settings: Settings, service: str, account_id: uuid.UUID, vid: uuid.UUID
) -> dict[str, Any]:
    url = f"{settings.service_url(service)}/internal/visitors/{vid}/export"
    try:
        resp = await http.get(url, params={"account_id": str(account_id)}, timeout=10)
        resp.raise_for_status()
    except httpx.HTTPError as exc:
        raise ExportUnavailable(f"The {service} service did not answer.") from exc
    body: dict[str, Any] = resp.json()
    return body


async def visitor_export(
    session: AsyncSession,
    http: httpx.AsyncClient,
    settings: Settings,
    account_id: uuid.UUID,
    visitor_id: uuid.UUID,
) -> dict[str, Any]:
    visitor = await repo.get_visitor(session, account_id, visitor_id)
    if visitor is None:
        raise VisitorNotFound()
    views = await session.scalars(
        select(PageView)
        .where(PageView.account_id == account_id, PageView.visitor_id == visitor_id)
        .order_by(PageView.viewed_at)
    )
    chat, bots = await asyncio.gather(
        *(_part(http, settings, s, account_id, visitor_id) for s in PARTS)
    )
    return {
        "exported_at": datetime.now(UTC),
        "visitor": profile(visitor),
        "page_views": [{"url": v.url, "title": v.title, "viewed_at": v.viewed_at} for v in views],
        "conversations": chat["conversations"],
        "attachments": chat["attachments"],
        "ratings": [
            {"conversation_id": c["id"], "rating": c["rating"], "comment": c["rating_comment"]}
            for c in chat["conversations"]
            if c["rating"] is not None
        ],
        "bot_runs": bots["bot_runs"],
        "facebook": visitor.facebook or (chat["facebook"][0] if chat["facebook"] else None),
    }
