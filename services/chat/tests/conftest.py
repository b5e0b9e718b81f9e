"""Fixtures of the chat service tests: the app over ASGI, visitors, projections fed as events."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import pytest_asyncio
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from parley_chat.app import app
from parley_chat.consumers import CONSUMERS
from parley_chat.events import outbox
from parley_common.events.consumer import handle_once
from parley_common.events.envelope import Event
from parley_common.security import issue_visitor_token
from parley_common.testing import SignedInAgent, make_agent


@dataclass(frozen=True)
class TestVisitor:
    visitor_id: uuid.UUID
    account_id: uuid.UUID
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


def make_visitor(account_id: uuid.UUID) -> TestVisitor:
    visitor_id = uuid.uuid4()
    return TestVisitor(visitor_id, account_id, issue_visitor_token(visitor_id, account_id))


@pytest_asyncio.fixture
async def client(service_client: Callable[[Any], Any]) -> AsyncIterator[httpx.AsyncClient]:
    async with service_client(app) as c:
        yield c


@pytest.fixture
def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)


Feed = Callable[..., Any]


@pytest.fixture
def feed(session_factory: async_sessionmaker[AsyncSession]) -> Feed:
    """``await feed("auth.agent.created", account_id, {...})``: run chat's handler, committed."""
    handlers = {key: h for consumer in CONSUMERS for key, h in consumer.handlers.items()}

    async def run(event_type: str, account_id: uuid.UUID, data: dict[str, Any]) -> Event:
        event = Event(type=event_type, account_id=account_id, data=data)
        await handle_once(session_factory, outbox.processed, "test", handlers[event_type], event)
        return event

    return run


@pytest_asyncio.fixture
async def chat_worker(worker: Callable[[str], Any]) -> AsyncIterator[Any]:
    """The chat worker (outbox relay, consumers): it sends e-mail and Messenger replies."""
    async with worker("chat") as ctx:
        yield ctx


@pytest.fixture
def visitor(agent: SignedInAgent) -> TestVisitor:
    return make_visitor(agent.account_id)


@pytest_asyncio.fixture
async def named_agent(agent: SignedInAgent, feed: Feed) -> SignedInAgent:
    await feed(
        "auth.agent.created",
        agent.account_id,
        {
            "agent_id": str(agent.agent_id),
            "name": "Anna",
            "email": "anna@example.com",
            "role": "owner",
            "status": "online",
        },
    )
    return agent


async def colleague(
    feed: Feed, account_id: uuid.UUID, name: str = "Bob", status: str = "online"
) -> SignedInAgent:
    other = make_agent("agent", account_id)
    await feed(
        "auth.agent.created",
        account_id,
        {
            "agent_id": str(other.agent_id),
            "name": name,
            "email": f"{name}@example.com",
            "role": "agent",
            "status": status,
        },
    )
    return other


async def events_of(
    session_factory: async_sessionmaker[AsyncSession],
    event_type: str,
    conversation_id: uuid.UUID | str,
) -> list[dict[str, Any]]:
    """The outbox rows of a type for one conversation, oldest first."""
    async with session_factory() as session:
        rows = await session.execute(
            text(
                "SELECT body FROM chat.outbox WHERE type = :t "
                "AND body->'data'->>'conversation_id' = :c ORDER BY position"
            ),
            {"t": event_type, "c": str(conversation_id)},
        )
        return [row.body for row in rows]


async def visitor_writes(
    client: httpx.AsyncClient, visitor: TestVisitor, text_: str = "Hello", **extra: Any
) -> dict[str, Any]:
    response = await client.post(
        "/api/v1/widget/messages", headers=visitor.headers, json={"text": text_, **extra}
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body
