"""The agents' side: the active list, visitor profiles, browsing history, blocking."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from parley_common.pagination import decode_time_id, encode_cursor, page_of
from parley_visitors import cursor
from parley_visitors import repository as repo
from parley_visitors.errors import VisitorNotFound
from parley_visitors.events import outbox, visitor_data
from parley_visitors.models import PageView, Visitor
from parley_visitors.presence import ActiveEntry, Presence
from parley_visitors.schemas import (
    ActiveVisitor,
    ActiveVisitorList,
    DeviceOut,
    KnownVisitor,
    KnownVisitorList,
    PageOut,
    PageViewList,
    PageViewOut,
    VisitorOut,
    VisitorPatch,
)
from parley_visitors.widget_sessions import announce_update, apply_patch

RECENT_PAGES = 5


def _active_row(entry: ActiveEntry, now: float) -> ActiveVisitor:
    f = entry.fields
    visits = int(f.get("visits") or 1)
    started = float(f.get("started_at") or entry.last_activity)
    return ActiveVisitor(
        id=entry.visitor_id,
        display_name=f.get("name") or f.get("label") or "",
        name=f.get("name") or None,
        label=f.get("label", ""),
        email=f.get("email") or None,
        current_page=PageOut(url=f["url"], title=f.get("title", "")) if f.get("url") else None,
        last_activity_at=datetime.fromtimestamp(entry.last_activity, UTC),
        time_on_site_seconds=max(0, int(now - started)),
        visits=visits,
        returning=visits > 1,
        chatting=f.get("chatting") == "1",
        blocked=f.get("blocked") == "1",
        device=DeviceOut(
            browser=f.get("browser") or None,
            os=f.get("os") or None,
            type=f.get("device_type") or None,
        ),
        country=f.get("country") or None,
    )


async def active_visitors(
    presence: Presence,
    account_id: uuid.UUID,
    *,
    limit: int,
    cursor_token: str | None,
    url_contains: str | None,
    returning: bool | None,
    chatting: bool | None,
) -> ActiveVisitorList:
    after = cursor.decode_score_member(cursor_token)
    entries, more = await presence.active(
        account_id,
        limit=limit,
        cursor=after,
        url_contains=url_contains or "",
        returning=returning,
        chatting=chatting,
    )
    now = time.time()
    next_cursor = None
    if more and entries:
        last = entries[-1]
        next_cursor = encode_cursor(repr(last.last_activity), last.visitor_id)
    return ActiveVisitorList(
        items=[_active_row(e, now) for e in entries],
        next_cursor=next_cursor,
        total_active=await presence.count(account_id),
    )


def _device(visitor: Visitor) -> DeviceOut:
    return DeviceOut(browser=visitor.browser, os=visitor.os, type=visitor.device_type)


async def known_visitors(
    session: AsyncSession, account_id: uuid.UUID, *, limit: int, cursor_token: str | None
) -> KnownVisitorList:
    rows = await repo.known_visitors(
        session, account_id, limit=limit + 1, after=decode_time_id(cursor_token)
    )
    page, next_cursor = page_of(rows, limit, lambda v: (v.last_seen_at, v.id))
    return KnownVisitorList(
        items=[
            KnownVisitor(
                id=v.id,
                display_name=v.display_name,
                name=v.name,
                email=v.email,
                visits=v.visits,
                last_seen_at=v.last_seen_at,
                blocked=v.blocked_at is not None,
                country=v.country,
                device=_device(v),
            )
            for v in page
        ],
        next_cursor=next_cursor,
    )


def _page_view(view: PageView) -> PageViewOut:
    return PageViewOut(
        id=view.id,
        url=view.url,
        title=view.title,
        viewed_at=view.viewed_at,
        duration_seconds=view.duration_seconds,
    )


async def _visitor(
    session: AsyncSession, account_id: uuid.UUID, visitor_id: uuid.UUID, *, for_update: bool = False
) -> Visitor:
    visitor = await repo.get_visitor(session, account_id, visitor_id, for_update=for_update)
    if visitor is None:
        raise VisitorNotFound()
    return visitor


async def profile(
    session: AsyncSession, presence: Presence, account_id: uuid.UUID, visitor_id: uuid.UUID
) -> VisitorOut:
    visitor = await _visitor(session, account_id, visitor_id)
    return await _profile_out(session, presence, visitor)


async def _profile_out(session: AsyncSession, presence: Presence, visitor: Visitor) -> VisitorOut:
    live = await presence.get(visitor.account_id, visitor.id)
    recent = await repo.page_views(session, visitor.account_id, visitor.id, limit=RECENT_PAGES)
    started = float(live["started_at"]) if live and live.get("started_at") else None
    return VisitorOut(
        id=visitor.id,
        display_name=visitor.display_name,
        label=visitor.label,
        name=visitor.name,
        email=visitor.email,
        phone=visitor.phone,
        note=visitor.note,
        custom=visitor.custom or {},
        visits=visitor.visits,
        returning=visitor.visits > 1,
        first_seen_at=visitor.first_seen_at,
        last_seen_at=visitor.last_seen_at,
        active=live is not None,
        chatting=await repo.is_chatting(session, visitor.account_id, visitor.id),
        blocked=visitor.blocked_at is not None,
        blocked_at=visitor.blocked_at,
        current_page=(
            PageOut(url=visitor.last_url, title=visitor.last_title or "")
            if live is not None and visitor.last_url
            else None
        ),
        time_on_site_seconds=int(time.time() - started) if started is not None else None,
        device=_device(visitor),
        country=visitor.country,
        referrer=visitor.referrer,
        utm=visitor.utm or {},
        recent_page_views=[_page_view(v) for v in recent],
        channel=visitor.channel,
        avatar_url=visitor.avatar_url,
        facebook=visitor.facebook,
    )


async def update_profile(
    session: AsyncSession,
    presence: Presence,
    account_id: uuid.UUID,
    visitor_id: uuid.UUID,
    patch: VisitorPatch,
) -> VisitorOut:
    visitor = await _visitor(session, account_id, visitor_id, for_update=True)
    if apply_patch(visitor, patch):
        await announce_update(session, presence, visitor)
    return await _profile_out(session, presence, visitor)


async def browsing_history(
    session: AsyncSession,
    account_id: uuid.UUID,
    visitor_id: uuid.UUID,
    *,
    limit: int,
    cursor_token: str | None,
) -> PageViewList:
    after = decode_time_id(cursor_token)
    await _visitor(session, account_id, visitor_id)
    rows = await repo.page_views(session, account_id, visitor_id, limit=limit + 1, after=after)
    page, next_cursor = page_of(rows, limit, lambda v: (v.viewed_at, v.id))
    return PageViewList(items=[_page_view(v) for v in page], next_cursor=next_cursor)


async def set_blocked(
    session: AsyncSession,
    presence: Presence,
    account_id: uuid.UUID,
    visitor_id: uuid.UUID,
    *,
    blocked: bool,
) -> VisitorOut:
    """Block or unblock; the event is emitted on a change only (repeating is harmless)."""
    visitor = await _visitor(session, account_id, visitor_id, for_update=True)
    if (visitor.blocked_at is not None) != blocked:
        visitor.blocked_at = datetime.now(UTC) if blocked else None
        await session.flush()
        event = "visitors.visitor.blocked" if blocked else "visitors.visitor.unblocked"
        await outbox.emit(session, event, account_id, visitor_data(visitor))
        await presence.update(account_id, visitor.id, {"blocked": "1" if blocked else "0"})
    return await _profile_out(session, presence, visitor)
