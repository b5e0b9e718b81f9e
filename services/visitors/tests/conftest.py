"""Fixtures for the visitors tests: the running app, an account in the projection, events."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import pytest_asyncio
from sqlalchemy import select, text

from parley_common.events.envelope import Event
from parley_common.testing import SignedInAgent, make_agent
from parley_visitors import consumers
from parley_visitors.app import app as visitors_app
from parley_visitors.models import Visitor

CHROME_UA = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/126.0.0.0 Safari/537.36"
)
IPHONE_UA = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1"
)


@dataclass
class Site:
    """An account known to the visitors service, and one of its agents."""

    agent: SignedInAgent
    widget_key: str

    @property
    def account_id(self) -> uuid.UUID:
        return self.agent.account_id


@pytest_asyncio.fixture
async def client(service_client: Any) -> AsyncIterator[httpx.AsyncClient]:
    async with service_client(visitors_app) as http:
        yield http


@pytest.fixture
def handle(client: httpx.AsyncClient) -> Callable[..., Awaitable[None]]:
    """Run a consumer handler on an event in its own committed transaction."""

    async def run(
        event_type: str, account_id: uuid.UUID, data: dict[str, Any], **envelope: Any
    ) -> None:
        handler = consumers.CONSUMERS[0].handlers[event_type]
        event = Event(type=event_type, account_id=account_id, data=data, **envelope)
        async with visitors_app.state.session_factory() as session, session.begin():
            await handler(session, event)

    return run


async def _new_site(handle: Callable[..., Awaitable[None]], **general: Any) -> Site:
    agent = make_agent()
    widget_key = "wk_" + uuid.uuid4().hex[:16]
    await handle(
        "auth.account.created",
        agent.account_id,
        {
            "name": "Acme",
            "widget_key": widget_key,
            "plan": "free",
            "settings": {
                "general": {"language": "en", "allowed_domains": [], **general},
                "design": {"color": "#1f6feb", "texts": {"title": "Chat with us"}},
                "contact_form": {"enabled": True},
            },
        },
    )
    return Site(agent, widget_key)


@pytest_asyncio.fixture
async def site(handle: Callable[..., Awaitable[None]]) -> Site:
    return await _new_site(handle)


@pytest_asyncio.fixture
async def other_site(handle: Callable[..., Awaitable[None]]) -> Site:
    return await _new_site(handle)


@pytest.fixture
def new_site(handle: Callable[..., Awaitable[None]]) -> Callable[..., Awaitable[Site]]:
    return lambda **general: _new_site(handle, **general)


@pytest.fixture
def open_widget(client: httpx.AsyncClient) -> Callable[..., Awaitable[dict[str, Any]]]:
    """POST /widget/sessions like the chat box does on page load."""

    async def run(
        site: Site,
        url: str = "https://acme.test/",
        *,
        visitor_id: str | None = None,
        title: str = "Home",
        user_agent: str = CHROME_UA,
        headers: dict[str, str] | None = None,
        referrer: str | None = None,
    ) -> dict[str, Any]:
        body: dict[str, Any] = {
            "widget_key": site.widget_key,
            "page": {"url": url, "title": title, "referrer": referrer},
        }
        if visitor_id:
            body["visitor_id"] = visitor_id
        resp = await client.post(
            "/api/v1/widget/sessions",
            json=body,
            headers={"user-agent": user_agent, **(headers or {})},
        )
        assert resp.status_code == 200, resp.text
        data: dict[str, Any] = resp.json()
        data["headers"] = {"Authorization": f"Bearer {data['visitor_token']}"}
        return data

    return run


@pytest.fixture
def events() -> Callable[..., Awaitable[list[tuple[str, dict[str, Any]]]]]:
    """The events the visitors service wrote to its outbox for an account, oldest first."""

    async def read(account_id: uuid.UUID, visitor_id: str | None = None) -> list[Any]:
        async with visitors_app.state.session_factory() as session:
            rows = await session.execute(
                text(
                    "SELECT type, body FROM visitors.outbox "
                    "WHERE body->>'account_id' = :acc ORDER BY position"
                ),
                {"acc": str(account_id)},
            )
            out = [(row.type, row.body["data"]) for row in rows]
        if visitor_id is not None:
            out = [(t, d) for t, d in out if d.get("visitor_id") == visitor_id]
        return out

    return read


@pytest.fixture
def visitor_row() -> Callable[[str], Awaitable[Visitor | None]]:
    async def read(visitor_id: str) -> Visitor | None:
        async with visitors_app.state.session_factory() as session:
            row: Visitor | None = await session.scalar(
                select(Visitor).where(Visitor.id == uuid.UUID(visitor_id))
            )
            return row

    return read
