"""Fixtures for the auth tests: a client on the real app, sign-up helpers, outbox reads."""

from __future__ import annotations

import random
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import pytest_asyncio
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from parley_auth.app import app

PASSWORD = "correct horse battery"


def random_ip() -> str:
    return f"10.{random.randint(0, 255)}.{random.randint(0, 255)}.{random.randint(1, 254)}"


@pytest_asyncio.fixture
async def client(service_client: Callable[..., Any]) -> AsyncIterator[httpx.AsyncClient]:
    async with service_client(app) as c:
        yield c


@dataclass
class Signed:
    """A signed-up owner (or accepted invitee): its token pair, agent and account."""

    body: dict[str, Any]
    email: str
    password: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.body['access_token']}"}

    @property
    def agent_id(self) -> str:
        return str(self.body["agent"]["id"])

    @property
    def account_id(self) -> str:
        return str(self.body["account"]["id"])

    @property
    def refresh_token(self) -> str:
        return str(self.body["refresh_token"])


def unique_email(prefix: str = "owner") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}@example.com"


@pytest.fixture
def signup(client: httpx.AsyncClient) -> Callable[..., Any]:
    async def do(**fields: Any) -> Signed:
        body = {"email": unique_email(), "password": PASSWORD, "name": "Olivia Owner", **fields}
        resp = await client.post(
            "/api/v1/auth/signup", json=body, headers={"X-Forwarded-For": random_ip()}
        )
        assert resp.status_code == 201, resp.text
        return Signed(resp.json(), body["email"].strip().lower(), body["password"])

    return do


@pytest.fixture
def login(client: httpx.AsyncClient) -> Callable[..., Any]:
    async def do(email: str, password: str = PASSWORD) -> Signed:
        resp = await client.post(
            "/api/v1/auth/login",
            json={"email": email, "password": password},
            headers={"X-Forwarded-For": random_ip()},
        )
        assert resp.status_code == 200, resp.text
        return Signed(resp.json(), email, password)

    return do


@pytest.fixture
def invite_agent(client: httpx.AsyncClient) -> Callable[..., Any]:
    """An owner/admin invites someone, who accepts: returns the new agent signed in."""

    async def do(by: Signed, role: str = "agent") -> Signed:
        email = unique_email("agent")
        resp = await client.post(
            "/api/v1/agents", json={"email": email, "role": role}, headers=by.headers
        )
        assert resp.status_code == 201, resp.text
        token = resp.json()["token"]
        resp = await client.post(
            "/api/v1/invitations/accept",
            json={"token": token, "name": "Adam Agent", "password": PASSWORD},
        )
        assert resp.status_code == 201, resp.text
        return Signed(resp.json(), email, PASSWORD)

    return do


@pytest.fixture
def events(engine: AsyncEngine) -> Callable[..., Any]:
    """``await events(account_id, "auth.agent.updated")`` → the data of those outbox rows."""

    async def read(account_id: str, event_type: str | None = None) -> list[dict[str, Any]]:
        query = "SELECT type, body FROM auth.outbox WHERE body->>'account_id' = :acc"
        params: dict[str, Any] = {"acc": str(account_id)}
        if event_type is not None:
            query += " AND type = :type"
            params["type"] = event_type
        async with engine.connect() as conn:
            rows = (await conn.execute(text(query + " ORDER BY position"), params)).all()
        return [{"type": r.type, **r.body["data"]} for r in rows]

    return read
