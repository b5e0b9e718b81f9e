"""An ended session or a changed role reaches every service at once, not when the token expires.

Auth, chat, visitors, bots and notify run in this process on the run's database and Redis;
a real agent signs up and is invited through auth, then auth removes, demotes, logs out or
changes a password, and each service must refuse the old access token within about a second.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from typing import Any

import httpx
import pytest_asyncio

from parley_auth.app import app as auth_app
from parley_bots.app import app as bots_app
from parley_chat.app import app as chat_app
from parley_common.testing import eventually, running_app
from parley_notify.app import app as notify_app
from parley_visitors.app import app as visitors_app

PASSWORD = "correct horse battery"
# What a signed-in agent reads in each service.
READS = {
    "auth": (auth_app, "/api/v1/me"),
    "chat": (chat_app, "/api/v1/conversations"),
    "visitors": (visitors_app, "/api/v1/visitors"),
    "bots": (bots_app, "/api/v1/chatbots"),
    "notify": (notify_app, "/api/v1/me/notification-settings"),
}
# Within about a second (the services remember a session's state for half a second).
SOON = 1.5

AUTOMATIC_MESSAGE = {
    "name": "Welcome",
    "trigger": {"type": "visitor_arrived"},
    "message": "Hi there! Need a hand?",
}
CHATBOT = {
    "name": "Concierge",
    "trigger": {"type": "visitor_arrived"},
    "steps": [{"id": "start", "message": "What brings you here?", "goal": True}],
    "handover_message": "A colleague will be right with you.",
}


def bearer(tokens: dict[str, Any]) -> dict[str, str]:
    return {"Authorization": f"Bearer {tokens['access_token']}"}


def address() -> dict[str, str]:
    return {"X-Forwarded-For": f"10.9.{random.randint(0, 255)}.{random.randint(1, 254)}"}


class Services:
    def __init__(self, clients: dict[str, httpx.AsyncClient]) -> None:
        self.clients = clients
        self.auth = clients["auth"]

    async def statuses(self, headers: dict[str, str]) -> dict[str, int]:
        return {
            name: (await self.clients[name].get(path, headers=headers)).status_code
            for name, (_, path) in READS.items()
        }

    async def refused_everywhere(self, headers: dict[str, str]) -> dict[str, Any]:
        """Every service answers 401 session_revoked, within about a second."""

        async def all_refused() -> bool:
            return set((await self.statuses(headers)).values()) == {401}

        await eventually(all_refused, timeout=SOON)
        answers = {}
        for name, (_, path) in READS.items():
            resp = await self.clients[name].get(path, headers=headers)
            assert resp.headers["content-type"] == "application/problem+json"
            answers[name] = resp.json()["code"]
        assert set(answers.values()) == {"session_revoked"}, answers
        return answers

    async def signup(self) -> dict[str, Any]:
        resp = await self.auth.post(
            "/api/v1/auth/signup",
            json={
                "email": f"o-{uuid.uuid4().hex[:10]}@example.com",
                "password": PASSWORD,
                "name": "Olivia Owner",
            },
            headers=address(),
        )
        assert resp.status_code == 201, resp.text
        return dict(resp.json())

    async def invite(self, owner: dict[str, Any], role: str) -> dict[str, Any]:
        email = f"a-{uuid.uuid4().hex[:10]}@example.com"
        resp = await self.auth.post(
            "/api/v1/agents", json={"email": email, "role": role}, headers=bearer(owner)
        )
        assert resp.status_code == 201, resp.text
        resp = await self.auth.post(
            "/api/v1/invitations/accept",
            json={"token": resp.json()["token"], "name": "Adam Agent", "password": PASSWORD},
        )
        assert resp.status_code == 201, resp.text
        return {**resp.json(), "email": email}

    async def login(self, email: str, password: str = PASSWORD) -> dict[str, Any]:
        resp = await self.auth.post(
            "/api/v1/auth/login", json={"email": email, "password": password}, headers=address()
        )
        assert resp.status_code == 200, resp.text
        return dict(resp.json())


@pytest_asyncio.fixture(scope="module")
async def services(database: str) -> AsyncIterator[Services]:
    async with AsyncExitStack() as stack:
        clients = {
            name: await stack.enter_async_context(running_app(app))
            for name, (app, _) in READS.items()
        }
        yield Services(clients)


async def test_a_removed_agent_is_refused_by_every_service_within_a_second(services) -> None:
    owner = await services.signup()
    member = await services.invite(owner, "agent")
    assert set((await services.statuses(bearer(member))).values()) == {200}

    resp = await services.auth.delete(
        f"/api/v1/agents/{member['agent']['id']}", headers=bearer(owner)
    )
    assert resp.status_code == 204
    await services.refused_everywhere(bearer(member))
    # The owner, same account, is untouched.
    assert set((await services.statuses(bearer(owner))).values()) == {200}


async def test_a_demoted_admin_is_refused_admin_actions_at_once(services) -> None:
    owner = await services.signup()
    admin = await services.invite(owner, "admin")
    bots = services.clients["bots"]
    created = await bots.post(
        "/api/v1/automatic-messages", json=AUTOMATIC_MESSAGE, headers=bearer(admin)
    )
    assert created.status_code == 201, created.text

    resp = await services.auth.patch(
        f"/api/v1/agents/{admin['agent']['id']}", json={"role": "agent"}, headers=bearer(owner)
    )
    assert resp.status_code == 200 and resp.json()["role"] == "agent"

    # The access token still says "admin"; every service acts on the role as it is now.
    # Probes that change nothing: an admin gets 404 (no such thing), anyone else 403.
    chat = services.clients["chat"]
    probes = [
        (bots, f"/api/v1/automatic-messages/{uuid.uuid4()}"),
        (bots, f"/api/v1/chatbots/{uuid.uuid4()}"),
        (chat, "/api/v1/integrations/facebook"),
    ]

    async def refused() -> bool:
        answers = {
            (await client.delete(path, headers=bearer(admin))).status_code
            for client, path in probes
        }
        return answers == {403}

    await eventually(refused, timeout=SOON)
    for client, method, path, body in [
        (bots, "POST", "/api/v1/automatic-messages", AUTOMATIC_MESSAGE),
        (bots, "POST", "/api/v1/chatbots", CHATBOT),
        (bots, "DELETE", f"/api/v1/automatic-messages/{created.json()['id']}", None),
        (services.auth, "PATCH", "/api/v1/account", {"name": "Mine now"}),
    ]:
        resp = await client.request(method, path, json=body, headers=bearer(admin))
        assert resp.status_code == 403, (path, resp.text)
        assert resp.json()["code"] in ("forbidden", "admin_only")
    listed = await bots.get("/api/v1/automatic-messages", headers=bearer(admin))
    assert [b["id"] for b in listed.json()["items"]] == [created.json()["id"]]  # nothing made
    # Still an agent of the account: reading works.
    assert set((await services.statuses(bearer(admin))).values()) == {200}


async def test_a_promoted_agent_acts_as_admin_without_logging_in_again(services) -> None:
    owner = await services.signup()
    member = await services.invite(owner, "agent")
    bots = services.clients["bots"]
    refused = await bots.post("/api/v1/chatbots", json=CHATBOT, headers=bearer(member))
    assert refused.status_code == 403

    resp = await services.auth.patch(
        f"/api/v1/agents/{member['agent']['id']}", json={"role": "admin"}, headers=bearer(owner)
    )
    assert resp.status_code == 200

    async def created() -> bool:
        resp = await bots.post("/api/v1/chatbots", json=CHATBOT, headers=bearer(member))
        return resp.status_code == 201

    await eventually(created, timeout=SOON)


async def test_a_password_change_ends_every_other_session_everywhere(services) -> None:
    owner = await services.signup()
    member = await services.invite(owner, "agent")
    phone = await services.login(member["email"])
    assert set((await services.statuses(bearer(phone))).values()) == {200}

    resp = await services.auth.post(
        "/api/v1/me/password",
        json={"current_password": PASSWORD, "new_password": "a much better passphrase"},
        headers=bearer(member),
    )
    assert resp.status_code == 204
    await services.refused_everywhere(bearer(phone))
    # The session that changed the password goes on.
    assert set((await services.statuses(bearer(member))).values()) == {200}


async def test_logout_ends_the_session_everywhere(services) -> None:
    owner = await services.signup()
    laptop = await services.login(owner["agent"]["email"])
    resp = await services.auth.post(
        "/api/v1/auth/logout", json={"refresh_token": owner["refresh_token"]}
    )
    assert resp.status_code == 204
    await services.refused_everywhere(bearer(owner))
    assert set((await services.statuses(bearer(laptop))).values()) == {200}


async def test_refresh_token_reuse_ends_the_session_everywhere(services) -> None:
    owner = await services.signup()
    rotated = await services.auth.post(
        "/api/v1/auth/refresh", json={"refresh_token": owner["refresh_token"]}
    )
    assert rotated.status_code == 200
    stolen = await services.auth.post(
        "/api/v1/auth/refresh", json={"refresh_token": owner["refresh_token"]}
    )
    assert stolen.status_code == 401 and stolen.json()["code"] == "refresh_token_reused"
    # Both the first access token and the one the rotation gave are dead.
    await services.refused_everywhere(bearer(owner))
    await services.refused_everywhere(bearer(rotated.json()))
