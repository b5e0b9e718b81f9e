"""Notify test fixtures: the APNs double (TLS from a test CA, HTTP/2) and event helpers."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from parley_common.events.envelope import Event
from parley_common.testing import SignedInAgent
from parley_notify.app import app
from parley_notify.config import get_notify_settings
from parley_notify.consumers import CONSUMERS
from parley_notify.models import Delivery, Push

from .apns_double import APNsDouble, TestPKI

TEAM_ID, KEY_ID = "TEAM123456", "KEY1234567"
HANDLERS = CONSUMERS[0].handlers


@pytest_asyncio.fixture(scope="session")
async def apns() -> AsyncIterator[APNsDouble]:
    """The APNs double; the notify settings of this run point at it."""
    base = Path(os.environ.get("PARLEY_TEST_TMP_DIR", "/tmp")) / f"apns-{uuid.uuid4().hex[:6]}"
    pki = TestPKI.create(base)
    double = await APNsDouble(pki).start()
    os.environ.update(
        {
            "PARLEY_APNS_KEY_FILE": str(pki.p8_file),
            "PARLEY_APNS_KEY_ID": KEY_ID,
            "PARLEY_APNS_TEAM_ID": TEAM_ID,
            "PARLEY_APNS_PRODUCTION_HOST": "localhost",
            "PARLEY_APNS_SANDBOX_HOST": "127.0.0.1",
            "PARLEY_APNS_PORT": str(double.port),
            "PARLEY_APNS_CA_FILE": str(pki.ca_file),
            "PARLEY_PUSH_RETRY_BASE_MS": "200",
            "PARLEY_PUSH_MAX_ATTEMPTS": "3",
            "PARLEY_VISITOR_BURST_SECONDS": "1.5",
            "PARLEY_MISSED_CHAT_AFTER_SECONDS": "2",
            "PARLEY_SWEEP_INTERVAL_SECONDS": "0.2",
            # No safety poll within a test: only the wakes (NOTIFY, due times) act in time.
            "PARLEY_WAKE_SAFETY_SECONDS": "3600",
        }
    )
    get_notify_settings.cache_clear()
    yield double
    await double.stop()


@pytest_asyncio.fixture
async def notify_worker(worker: Callable[[str], Any], apns: APNsDouble) -> AsyncIterator[Any]:
    async with worker("notify") as ctx:
        yield ctx


@pytest.fixture
def sessions(engine: Any) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)


@pytest.fixture
def feed(sessions: async_sessionmaker[AsyncSession]) -> Callable[..., Any]:
    """``await feed(type, account_id, data)``: run notify's handler for an event and commit,
    as the consumer does. Returns the event (pass it back as ``event=`` to redeliver it)."""

    async def run(
        event_type: str | None = None,
        account_id: uuid.UUID | None = None,
        data: dict[str, Any] | None = None,
        *,
        event: Event | None = None,
        **envelope: Any,
    ) -> Event:
        if event is None:
            assert event_type is not None and account_id is not None
            event = Event(
                type=event_type, account_id=account_id, data=_jsonable(data or {}), **envelope
            )
        async with sessions() as session, session.begin():
            await HANDLERS[event.type](session, event)
        return event

    return run


def _jsonable(data: dict[str, Any]) -> dict[str, Any]:
    return {k: str(v) if isinstance(v, uuid.UUID) else v for k, v in data.items()}


def device_token() -> str:
    return (uuid.uuid4().hex * 2).lower()


async def register(
    client: httpx.AsyncClient, agent: SignedInAgent, token: str | None = None, **body: Any
) -> str:
    token = token or device_token()
    resp = await client.post(
        "/api/v1/devices", headers=agent.headers, json={"token": token, **body}
    )
    assert resp.status_code in (200, 201), resp.text
    return token


@pytest_asyncio.fixture
async def api(service_client: Callable[[Any], Any]) -> AsyncIterator[httpx.AsyncClient]:
    async with service_client(app) as client:
        yield client


async def pushes_for(sessions: async_sessionmaker[AsyncSession], token: str) -> list[Push]:
    async with sessions() as session:
        return list(
            await session.scalars(select(Push).where(Push.token == token).order_by(Push.created_at))
        )


async def deliveries_for(
    sessions: async_sessionmaker[AsyncSession], push_id: uuid.UUID
) -> list[Delivery]:
    async with sessions() as session:
        return list(
            await session.scalars(
                select(Delivery).where(Delivery.push_id == push_id).order_by(Delivery.attempt)
            )
        )
