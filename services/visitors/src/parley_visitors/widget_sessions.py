"""The chat box's side: widget sessions, page views, heartbeats and presence transitions."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from parley_common import i18n
from parley_common.security import VisitorPrincipal, issue_visitor_token
from parley_visitors import repository as repo
from parley_visitors.client_info import CountryLookup, parse_device, utm_parameters
from parley_visitors.config import VisitorsSettings
from parley_visitors.errors import OriginNotAllowed, VisitorNotFound, WidgetKeyNotFound
from parley_visitors.events import outbox, visitor_data
from parley_visitors.models import Account, Visitor
from parley_visitors.presence import Presence
from parley_visitors.schemas import PageIn, WidgetSettings, WidgetVisitorPatch

SECTIONS = ("general", "design", "contact_form")


@dataclass(frozen=True)
class Client:
    """What the HTTP request tells about the visitor's browser."""

    origin: str | None
    user_agent: str | None
    ip: str | None


@dataclass(frozen=True)
class SessionResult:
    visitor: Visitor
    token: str
    settings: WidgetSettings


def make_label(visitor_id: uuid.UUID) -> str:
    return f"Visitor {visitor_id.int % 90000 + 10000}"


def _host_allowed(host: str, domain: str) -> bool:
    if domain.startswith("*."):
        return host.endswith(domain[1:])
    return host == domain or host.endswith("." + domain)


def check_origin(account: Account, origin: str | None, public_url: str) -> None:
    """With allowed domains set, a browser on another site gets no session (the demo may)."""
    allowed = (account.settings.get("general") or {}).get("allowed_domains") or []
    if not allowed or not origin:
        return
    host = (urlsplit(origin).hostname or "").lower()
    if host and host == (urlsplit(public_url).hostname or "").lower():
        return
    if not any(_host_allowed(host, domain.lower()) for domain in allowed):
        raise OriginNotAllowed(f"{host or origin} is not one of the account's allowed domains.")


async def widget_settings(session: AsyncSession, account: Account) -> WidgetSettings:
    sections = {name: dict(account.settings.get(name) or {}) for name in SECTIONS}
    localize_default_texts(sections)
    return WidgetSettings(**sections, agents_online=account.agents_online)


def localize_default_texts(sections: dict[str, dict[str, Any]]) -> None:
    """The chat box's texts the account left at their (English) defaults, in its language."""
    language = i18n.language_of(sections["general"].get("language"))
    if language == i18n.SOURCE_LANGUAGE:
        return
    texts = dict(sections["design"].get("texts") or {})
    for key, default in i18n.WIDGET_TEXTS.items():
        if texts.get(key) == default:
            texts[key] = i18n.gettext(language, default)
    if texts:
        sections["design"]["texts"] = texts
    form = sections["contact_form"]
    if form.get("offline_text") == i18n.CONTACT_FORM_OFFLINE_TEXT:
        form["offline_text"] = i18n.gettext(language, i18n.CONTACT_FORM_OFFLINE_TEXT)


async def settings_for_key(session: AsyncSession, widget_key: str) -> WidgetSettings:
    account = await repo.account_by_widget_key(session, widget_key)
    if account is None:
        raise WidgetKeyNotFound()
    return await widget_settings(session, account)


def presence_row(visitor: Visitor, chatting: bool) -> dict[str, str]:
    """The active list's row for this visitor, as stored in Redis."""
    values: dict[str, Any] = {
        "label": visitor.label,
        "name": visitor.name,
        "email": visitor.email,
        "url": visitor.last_url,
        "title": visitor.last_title,
        "visits": visitor.visits,
        "browser": visitor.browser,
        "os": visitor.os,
        "device_type": visitor.device_type,
        "country": visitor.country,
        "chatting": "1" if chatting else "0",
        "blocked": "1" if visitor.blocked_at else "0",
    }
    return {key: "" if value is None else str(value) for key, value in values.items()}


async def mark_active(
    session: AsyncSession,
    presence: Presence,
    visitor: Visitor,
    now: float,
    *,
    previous_url: str | None,
) -> None:
    """Refresh presence; emit `arrived` or `page_changed` on those transitions only."""
    chatting = await repo.is_chatting(session, visitor.account_id, visitor.id)
    arrived = await presence.touch(
        visitor.account_id, visitor.id, now, presence_row(visitor, chatting)
    )
    if arrived:
        await outbox.emit(
            session, "visitors.visitor.arrived", visitor.account_id, visitor_data(visitor)
        )
    elif visitor.last_url and visitor.last_url != previous_url:
        await outbox.emit(
            session, "visitors.visitor.page_changed", visitor.account_id, visitor_data(visitor)
        )


async def start_session(
    session: AsyncSession,
    presence: Presence,
    *,
    widget_key: str,
    visitor_id: uuid.UUID | None,
    page: PageIn | None,
    client: Client,
    countries: CountryLookup,
    settings: VisitorsSettings,
) -> SessionResult:
    account = await repo.account_by_widget_key(session, widget_key)
    if account is None:
        raise WidgetKeyNotFound()
    check_origin(account, client.origin, settings.public_url)
    now = time.time()
    moment = datetime.fromtimestamp(now, UTC)
    visitor = None
    if visitor_id is not None:
        visitor = await repo.get_visitor(session, account.account_id, visitor_id, for_update=True)
    if visitor is None:
        new_id = uuid.uuid4()
        visitor = await repo.add_visitor(
            session,
            Visitor(
                id=new_id,
                account_id=account.account_id,
                label=make_label(new_id),
                visits=1,
                first_seen_at=moment,
                last_seen_at=moment,
                custom={},
                utm={},
            ),
        )
        previous_url = None
    else:
        previous_url = visitor.last_url
        if await presence.get(account.account_id, visitor.id) is None:
            visitor.visits += 1  # a new visit: it was not active a moment ago
        visitor.last_seen_at = moment
    if client.user_agent:
        device = parse_device(client.user_agent)
        visitor.user_agent = client.user_agent[:512]
        visitor.browser, visitor.os, visitor.device_type = (
            device.browser,
            device.os,
            device.device_type,
        )
    visitor.country = countries.country(client.ip) or visitor.country
    if page is not None:
        if page.referrer:
            visitor.referrer = page.referrer
        utm = utm_parameters(page.url)
        if utm:
            visitor.utm = utm
        await _record_page(session, visitor, page.url, page.title, moment, settings)
    await session.flush()
    await mark_active(session, presence, visitor, now, previous_url=previous_url)
    token = issue_visitor_token(visitor.id, account.account_id)
    return SessionResult(visitor, token, await widget_settings(session, account))


async def _record_page(
    session: AsyncSession,
    visitor: Visitor,
    url: str,
    title: str,
    moment: datetime,
    settings: VisitorsSettings,
) -> None:
    await repo.add_page_view(
        session,
        visitor.account_id,
        visitor.id,
        url,
        title,
        moment,
        settings.visitors_page_views_per_visitor,
    )
    visitor.last_url, visitor.last_title = url, title


async def _own_visitor(session: AsyncSession, principal: VisitorPrincipal) -> Visitor:
    visitor = await repo.get_visitor(
        session, principal.account_id, principal.visitor_id, for_update=True
    )
    if visitor is None:
        raise VisitorNotFound()
    return visitor


async def record_page_view(
    session: AsyncSession,
    presence: Presence,
    principal: VisitorPrincipal,
    *,
    url: str,
    title: str,
    settings: VisitorsSettings,
) -> None:
    visitor = await _own_visitor(session, principal)
    now = time.time()
    moment = datetime.fromtimestamp(now, UTC)
    previous_url = visitor.last_url
    await _record_page(session, visitor, url, title, moment, settings)
    visitor.last_seen_at = moment
    await session.flush()
    await mark_active(session, presence, visitor, now, previous_url=previous_url)


async def heartbeat(
    session_factory: async_sessionmaker[AsyncSession],
    presence: Presence,
    principal: VisitorPrincipal,
) -> None:
    """Redis only, unless the visitor had gone inactive: then it arrives again (one
    transaction, opened only then)."""
    now = time.time()
    if await presence.heartbeat(principal.account_id, principal.visitor_id, now):
        return
    async with session_factory() as session, session.begin():
        visitor = await _own_visitor(session, principal)
        visitor.last_seen_at = datetime.fromtimestamp(now, UTC)
        await mark_active(session, presence, visitor, now, previous_url=visitor.last_url)


def apply_patch(visitor: Visitor, patch: WidgetVisitorPatch) -> bool:
    """Apply the named fields; True when something changed."""
    changed = False
    for field in patch.model_fields_set - {"custom"}:
        value = getattr(patch, field)
        if getattr(visitor, field) != value:
            setattr(visitor, field, value)
            changed = True
    if patch.custom is not None:
        custom = dict(visitor.custom or {})
        for key, value in patch.custom.items():
            if value is None:
                custom.pop(key, None)
            else:
                custom[key] = value
        if custom != visitor.custom:
            visitor.custom = custom
            changed = True
    return changed


async def announce_update(session: AsyncSession, presence: Presence, visitor: Visitor) -> None:
    await session.flush()
    await outbox.emit(
        session, "visitors.visitor.updated", visitor.account_id, visitor_data(visitor)
    )
    await presence.update(
        visitor.account_id,
        visitor.id,
        {
            "name": visitor.name or "",
            "email": visitor.email or "",
            "blocked": "1" if visitor.blocked_at else "0",
        },
    )


async def update_from_widget(
    session: AsyncSession,
    presence: Presence,
    principal: VisitorPrincipal,
    patch: WidgetVisitorPatch,
) -> Visitor:
    visitor = await _own_visitor(session, principal)
    if apply_patch(visitor, patch):
        await announce_update(session, presence, visitor)
    return visitor
