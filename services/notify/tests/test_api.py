"""The notify API: devices and notification settings, against a migrated PostgreSQL."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from parley_common.testing import SignedInAgent, make_agent
from parley_notify.app import app
from parley_notify.models import Device

TOKEN = "ab" * 32


def token() -> str:
    return uuid.uuid4().hex * 2


async def devices_of(session: AsyncSession, agent: SignedInAgent) -> list[Device]:
    return list(
        await session.scalars(
            select(Device).where(
                Device.account_id == agent.account_id, Device.agent_id == agent.agent_id
            )
        )
    )


async def test_register_device_then_reregister(service_client, agent, session):
    tok = token().upper()
    async with service_client(app) as client:
        resp = await client.post(
            "/api/v1/devices",
            headers=agent.headers,
            json={
                "platform": "ios",
                "token": tok,
                "environment": "sandbox",
                "bundle_id": "com.example.app",
                "locale": "cs-CZ",
            },
        )
        assert resp.status_code == 201, resp.text
        body = resp.json()
        assert body["token"] == tok.lower()
        assert body["environment"] == "sandbox"
        assert body["bundle_id"] == "com.example.app"
        again = await client.post(
            "/api/v1/devices", headers=agent.headers, json={"token": tok.lower()}
        )
        assert again.status_code == 200
        assert again.json()["id"] == body["id"]
        assert again.json()["environment"] == "production"
    rows = await devices_of(session, agent)
    assert [d.token for d in rows] == [tok.lower()]
    assert rows[0].session_id == agent.principal.session_id


async def test_token_registered_by_another_agent_moves(service_client, agent, session):
    other = make_agent("agent", agent.account_id)
    stranger = make_agent()
    tok = token()
    async with service_client(app) as client:
        assert (
            await client.post("/api/v1/devices", headers=agent.headers, json={"token": tok})
        ).status_code == 201
        assert (
            await client.post("/api/v1/devices", headers=other.headers, json={"token": tok})
        ).status_code == 200
        assert await devices_of(session, agent) == []
        assert [d.token for d in await devices_of(session, other)] == [tok]
        # Another account's agent signs in on the same phone: the token follows them.
        assert (
            await client.post("/api/v1/devices", headers=stranger.headers, json={"token": tok})
        ).status_code == 200
    assert await devices_of(session, other) == []
    assert [d.account_id for d in await devices_of(session, stranger)] == [stranger.account_id]


async def test_devices_per_agent_are_bounded(service_client, agent, session, monkeypatch):
    from parley_notify.config import get_notify_settings

    monkeypatch.setattr(get_notify_settings(), "max_devices_per_agent", 3)
    tokens = [token() for _ in range(5)]
    async with service_client(app) as client:
        for tok in tokens:
            assert (
                await client.post("/api/v1/devices", headers=agent.headers, json={"token": tok})
            ).status_code == 201
    kept = {d.token for d in await devices_of(session, agent)}
    assert kept == set(tokens[-3:])


async def test_invalid_device_bodies_are_422(service_client, agent, session):
    bad = [
        {"token": "not-hex" * 10},
        {"token": "ab" * 8},  # too short
        {"token": "abc" * 21},  # odd number of hex digits
        {"token": TOKEN, "environment": "staging"},
        {"token": TOKEN, "platform": "android"},
        {"token": TOKEN, "agent_id": str(uuid.uuid4())},  # unknown field
        {"token": TOKEN, "bundle_id": "bad bundle id"},
        {},
    ]
    async with service_client(app) as client:
        for body in bad:
            resp = await client.post("/api/v1/devices", headers=agent.headers, json=body)
            assert resp.status_code == 422, body
            assert resp.headers["content-type"] == "application/problem+json"
            assert resp.json()["code"] == "validation_error"
        assert (await client.post("/api/v1/devices", json={"token": TOKEN})).status_code == 401
    assert await devices_of(session, agent) == []


async def test_unregister_device(service_client, agent, other_account, session):
    mine, colleague_token = token(), token()
    colleague = make_agent("agent", agent.account_id)
    async with service_client(app) as client:
        await client.post("/api/v1/devices", headers=agent.headers, json={"token": mine})
        await client.post(
            "/api/v1/devices", headers=colleague.headers, json={"token": colleague_token}
        )
        # Another account cannot see or remove it, nor can a colleague: 404, nothing changes.
        for who, tok in ((other_account, mine), (agent, colleague_token)):
            resp = await client.delete(f"/api/v1/devices/{tok}", headers=who.headers)
            assert resp.status_code == 404
            assert resp.json()["code"] == "device_not_found"
        resp = await client.delete("/api/v1/devices/zz", headers=agent.headers)
        assert resp.status_code == 422
        resp = await client.delete(f"/api/v1/devices/{mine.upper()}", headers=agent.headers)
        assert resp.status_code == 204
        resp = await client.delete(f"/api/v1/devices/{mine}", headers=agent.headers)
        assert resp.status_code == 404
    assert await devices_of(session, agent) == []
    assert len(await devices_of(session, colleague)) == 1


async def test_notification_settings_default_on_and_patch(service_client, agent, other_account):
    everything_on = {
        "new_message": True,
        "new_visitor": True,
        "offline_notifications": True,
        "sound": True,
        "email_notifications": True,
    }
    path = "/api/v1/me/notification-settings"
    async with service_client(app) as client:
        resp = await client.get(path, headers=agent.headers)
        assert resp.status_code == 200
        assert resp.json() == everything_on
        resp = await client.patch(
            path, headers=agent.headers, json={"new_visitor": False, "sound": False}
        )
        assert resp.status_code == 200
        expected = {**everything_on, "new_visitor": False, "sound": False}
        assert resp.json() == expected
        resp = await client.patch(path, headers=agent.headers, json={"sound": True})
        assert resp.json() == {**expected, "sound": True}
        assert (await client.get(path, headers=agent.headers)).json() == {**expected, "sound": True}
        # Another agent's settings are untouched.
        assert (await client.get(path, headers=other_account.headers)).json() == everything_on
        assert (await client.patch(path, headers=agent.headers, json={})).status_code == 200


async def test_notification_settings_reject_bad_input(service_client, agent):
    path = "/api/v1/me/notification-settings"
    async with service_client(app) as client:
        for body in ({"sound": "loud"}, {"sound": 1}, {"volume": 3}, {"new_message": None}):
            resp = await client.patch(path, headers=agent.headers, json=body)
            if body == {"new_message": None}:
                # null means "leave as is"
                assert resp.status_code == 200
                continue
            assert resp.status_code == 422, body
            assert resp.json()["code"] == "validation_error"
        resp = await client.get(path, headers=agent.headers)
        assert all(resp.json().values())
        assert (await client.get(path)).status_code == 401
