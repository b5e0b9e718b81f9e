"""Outgoing webhooks inside notify: admin CRUD, SSRF refusal, signed deliveries to a real
HTTP receiver, retries with backoff, giving up (webhook disabled, admins e-mailed), timeouts."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio
from sqlalchemy import select

from parley_common import sealed
from parley_common.events.envelope import Event
from parley_common.testing import eventually, make_agent
from parley_notify import webhooks
from parley_notify.config import get_notify_settings
from parley_notify.models import MailNotification, Webhook

from .webhook_receiver import WebhookReceiver


@pytest_asyncio.fixture
async def receiver(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[WebhookReceiver]:
    for name, value in {
        "PARLEY_WEBHOOKS_ALLOW_PRIVATE": "true",
        "PARLEY_WEBHOOK_RETRY_BASE_SECONDS": "0.05",
        "PARLEY_WEBHOOK_RETRY_WINDOW_SECONDS": "1",
        "PARLEY_WEBHOOK_TIMEOUT_SECONDS": "1",
        "PARLEY_WEBHOOK_POLL_SECONDS": "0.05",
    }.items():
        monkeypatch.setenv(name, value)
    get_notify_settings.cache_clear()
    server = await WebhookReceiver().start()
    yield server
    await server.stop()
    monkeypatch.undo()
    get_notify_settings.cache_clear()


async def _subscribe(api: Any, agent: Any, url: str, events: list[str]) -> dict[str, Any]:
    resp = await api.post(
        "/api/v1/webhooks", headers=agent.headers, json={"url": url, "events": events}
    )
    assert resp.status_code == 201, resp.text
    return dict(resp.json())


async def _event(sessions: Any, account_id: uuid.UUID, event_type: str, data: dict) -> Event:
    event = Event(type=event_type, account_id=account_id, data=data)
    async with sessions() as session, session.begin():
        await webhooks.on_event(session, event)
    return event


async def test_urls_that_reach_inside_are_refused(api, agent) -> None:
    for url in (
        "http://127.0.0.1:8000/hook",
        "http://localhost/hook",
        "http://169.254.169.254/latest/meta-data",
        "http://10.1.2.3/x",
        "http://[::1]/x",
        "ftp://example.com/x",
    ):
        resp = await api.post(
            "/api/v1/webhooks",
            headers=agent.headers,
            json={"url": url, "events": ["chat.message.created"]},
        )
        assert resp.status_code == 422, (url, resp.text)
    listed = await api.get("/api/v1/webhooks", headers=agent.headers)
    assert listed.json()["items"] == []


async def test_crud_admins_only_and_per_account(api, agent, other_account, receiver) -> None:
    bad = await api.post(
        "/api/v1/webhooks",
        headers=agent.headers,
        json={"url": receiver.url("/ok"), "events": ["no.such.event"]},
    )
    assert bad.status_code == 422
    member = make_agent("agent", agent.account_id)
    refused = await api.get("/api/v1/webhooks", headers=member.headers)
    assert refused.status_code == 403
    hook = await _subscribe(api, agent, receiver.url("/ok"), ["chat.message.created"])
    assert hook["secret"].startswith("whsec_") and hook["enabled"] is True
    got = await api.get(f"/api/v1/webhooks/{hook['id']}", headers=agent.headers)
    assert got.status_code == 200 and "secret" not in got.json()
    for method in ("GET", "PATCH", "DELETE"):
        resp = await api.request(
            method, f"/api/v1/webhooks/{hook['id']}", headers=other_account.headers, json={}
        )
        assert resp.status_code == 404, method
    patched = await api.patch(
        f"/api/v1/webhooks/{hook['id']}",
        headers=agent.headers,
        json={"events": ["chat.conversation.resolved"], "enabled": False},
    )
    assert patched.json()["events"] == ["chat.conversation.resolved"]
    assert patched.json()["enabled"] is False
    gone = await api.delete(f"/api/v1/webhooks/{hook['id']}", headers=agent.headers)
    assert gone.status_code == 204
    assert (
        await api.get(f"/api/v1/webhooks/{hook['id']}", headers=agent.headers)
    ).status_code == 404


async def test_signed_delivery_and_ping(api, agent, sessions, worker, receiver) -> None:
    hook = await _subscribe(api, agent, receiver.url("/ok"), ["chat.message.created"])
    data = {"conversation_id": str(uuid.uuid4()), "text": "Hello", "author_type": "visitor"}
    event = await _event(sessions, agent.account_id, "chat.message.created", data)
    await _event(sessions, agent.account_id, "chat.message.created", data | {"x": 1})
    await _event(sessions, agent.account_id, "chat.conversation.resolved", data)
    async with worker("notify"):
        [first, _] = await eventually(lambda: len(receiver.at("/ok")) == 2 and receiver.at("/ok"))
        ping = await api.post(f"/api/v1/webhooks/{hook['id']}/test", headers=agent.headers)
        assert ping.status_code == 202, ping.text
        await eventually(lambda: len(receiver.at("/ok")) == 3)

        async def recorded() -> list[dict[str, Any]]:
            # An attempt is recorded once its answer is in: after the receiver saw it.
            resp = await api.get(f"/api/v1/webhooks/{hook['id']}/deliveries", headers=agent.headers)
            items: list[dict[str, Any]] = resp.json()["items"]
            return items if len(items) == 3 else []

        attempts = await eventually(recorded)
    deliveries = {r.headers["X-Parley-Delivery"] for r in receiver.at("/ok")}
    assert len(deliveries) == 3
    assert first.signed_with(hook["secret"]) and not first.signed_with("whsec_other")
    assert first.headers["X-Parley-Event"] == "chat.message.created"
    assert first.json["id"] == str(event.id) and first.json["data"]["text"] == "Hello"
    assert receiver.at("/ok")[2].headers["X-Parley-Event"] == "ping"
    assert [(a["status_code"], a["delivery_status"]) for a in attempts] == [(200, "succeeded")] * 3
    assert attempts[0]["event_type"] == "ping"


async def test_secrets_are_sealed_at_rest_and_still_sign(
    api, agent, sessions, worker, receiver
) -> None:
    """The row holds the secret sealed (parley_common.sealed), never as shown; deliveries are
    signed with the secret as shown, and a secret stored before sealing still signs."""
    hook = await _subscribe(api, agent, receiver.url("/sealed"), ["chat.conversation.resolved"])
    old = await _subscribe(api, agent, receiver.url("/plain"), ["chat.conversation.resolved"])
    async with sessions() as session, session.begin():
        row = await session.get(Webhook, uuid.UUID(hook["id"]))
        assert row is not None and row.secret.startswith(sealed.PREFIX)
        assert hook["secret"] not in row.secret and sealed.unseal(row.secret) == hook["secret"]
        legacy = await session.get(Webhook, uuid.UUID(old["id"]))
        assert legacy is not None
        legacy.secret = old["secret"]  # as stored before secrets were sealed
    data = {"conversation_id": str(uuid.uuid4())}
    await _event(sessions, agent.account_id, "chat.conversation.resolved", data)
    async with worker("notify"):
        await eventually(lambda: receiver.at("/sealed") and receiver.at("/plain"))
    assert receiver.at("/sealed")[0].signed_with(hook["secret"])
    assert receiver.at("/plain")[0].signed_with(old["secret"])


async def test_failures_are_retried_then_the_webhook_is_disabled_and_admins_mailed(
    api, agent, feed, sessions, worker, receiver
) -> None:
    email = f"admin-{uuid.uuid4().hex[:8]}@example.com"
    await feed(
        "auth.agent.created",
        agent.account_id,
        {"agent_id": agent.agent_id, "email": email, "role": "owner", "name": "Olivia"},
    )
    hook = await _subscribe(api, agent, receiver.url("/fail"), ["chat.conversation.resolved"])
    await _event(sessions, agent.account_id, "chat.conversation.resolved", {"conversation_id": 1})

    async def disabled() -> Any:
        got = (await api.get(f"/api/v1/webhooks/{hook['id']}", headers=agent.headers)).json()
        return got if not got["enabled"] else None

    async with worker("notify"):
        got = await eventually(disabled, timeout=30)
    assert got["disabled_reason"] == "failing"
    assert len(receiver.at("/fail")) >= 2  # retried before giving up
    attempts = (
        await api.get(f"/api/v1/webhooks/{hook['id']}/deliveries", headers=agent.headers)
    ).json()["items"]
    assert len(attempts) == len(receiver.at("/fail"))
    assert all(a["status_code"] == 500 and a["error"] == "HTTP 500" for a in attempts)
    assert attempts[0]["delivery_status"] == "failed" and attempts[0]["next_retry_at"] is None
    async with sessions() as session:
        mails = (
            await session.scalars(
                select(MailNotification).where(MailNotification.account_id == agent.account_id)
            )
        ).all()
    # Queued for the admins; the mail job sends it (tested with the SMTP sink in
    # test_visitors_and_mail).
    assert [(m.to_address, m.kind) for m in mails] == [(email, "webhook_disabled")]
    assert receiver.url("/fail") in mails[0].body


async def test_a_receiver_that_never_answers_costs_one_timeout(
    api, agent, sessions, worker, receiver
) -> None:
    slow = await _subscribe(api, agent, receiver.url("/slow"), ["chat.message.created"])
    fast = await _subscribe(api, agent, receiver.url("/ok"), ["chat.message.created"])
    await _event(sessions, agent.account_id, "chat.message.created", {"text": "hi"})
    async with worker("notify"):
        await eventually(lambda: receiver.at("/ok"))

        async def timed_out() -> Any:
            resp = await api.get(f"/api/v1/webhooks/{slow['id']}/deliveries", headers=agent.headers)
            items = resp.json()["items"]
            return items if items else None

        [attempt, *_] = await eventually(timed_out, timeout=10)
    assert attempt["error"] == "timed out" and attempt["status_code"] is None
    assert fast["id"] != slow["id"]
