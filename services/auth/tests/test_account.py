"""Account settings (general, design, contact form), chat code, subscription, account name."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from parley_auth.subscriptions import apply_subscription_change

SECTIONS = {"general": "general", "design": "design", "contact-form": "contact_form"}


async def test_settings_defaults(client: httpx.AsyncClient, signup: Any) -> None:
    owner = await signup()
    general = (await client.get("/api/v1/account/settings/general", headers=owner.headers)).json()
    assert general["language"] == "en" and general["timezone"] == "UTC"
    assert general["satisfaction_rating_enabled"] is True
    design = (await client.get("/api/v1/account/settings/design", headers=owner.headers)).json()
    assert design["color"].startswith("#") and design["button_theme"] == "bubble"
    assert "welcome" in design["texts"]
    form = (await client.get("/api/v1/account/settings/contact-form", headers=owner.headers)).json()
    assert form["enabled"] is True and any(f["name"] == "email" for f in form["fields"])


async def test_patch_general_merges_and_emits(
    client: httpx.AsyncClient, signup: Any, events: Any
) -> None:
    owner = await signup()
    resp = await client.patch(
        "/api/v1/account/settings/general",
        headers=owner.headers,
        json={
            "language": "de",
            "timezone": "Europe/Prague",
            "office_hours": {
                "enabled": True,
                "schedule": [{"day": "mon", "from": "09:00", "to": "17:00"}],
            },
            "allowed_domains": ["Shop.Example.com", "*.example.org"],
        },
    )
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["language"] == "de" and body["timezone"] == "Europe/Prague"
    assert body["satisfaction_rating_enabled"] is True  # untouched
    assert body["office_hours"]["schedule"] == [{"day": "mon", "from": "09:00", "to": "17:00"}]
    assert body["allowed_domains"] == ["*.example.org", "shop.example.com"]
    resp = await client.patch(
        "/api/v1/account/settings/general",
        headers=owner.headers,
        json={"satisfaction_rating_enabled": False},
    )
    stored = (await client.get("/api/v1/account/settings/general", headers=owner.headers)).json()
    assert stored["satisfaction_rating_enabled"] is False and stored["language"] == "de"
    emitted = await events(owner.account_id, "auth.settings.updated")
    assert len(emitted) == 2
    assert emitted[-1]["section"] == "general"
    assert emitted[-1]["settings"] == stored
    assert emitted[-1]["widget_key"] == owner.body["account"]["widget_key"]


async def test_assignment_and_auto_resolve_settings(
    client: httpx.AsyncClient, signup: Any, events: Any
) -> None:
    owner = await signup()
    created = (await events(owner.account_id, "auth.account.created"))[0]
    assert created["settings"]["general"]["auto_assign"] is False
    assert created["settings"]["general"]["auto_resolve_minutes"] is None
    url = "/api/v1/account/settings/general"
    resp = await client.patch(
        url, headers=owner.headers, json={"auto_assign": True, "auto_resolve_minutes": 60}
    )
    assert resp.status_code == 200, resp.text
    assert resp.json()["auto_assign"] is True and resp.json()["auto_resolve_minutes"] == 60
    stored = (await client.get(url, headers=owner.headers)).json()
    assert stored["auto_assign"] is True and stored["auto_resolve_minutes"] == 60
    emitted = await events(owner.account_id, "auth.settings.updated")
    assert emitted[-1]["section"] == "general"
    assert emitted[-1]["settings"]["auto_assign"] is True
    assert emitted[-1]["settings"]["auto_resolve_minutes"] == 60
    # null turns auto-resolve off again; auto_assign is left as it was
    resp = await client.patch(url, headers=owner.headers, json={"auto_resolve_minutes": None})
    assert resp.status_code == 200, resp.text
    assert resp.json()["auto_resolve_minutes"] is None and resp.json()["auto_assign"] is True
    emitted = await events(owner.account_id, "auth.settings.updated")
    assert len(emitted) == 2
    assert emitted[-1]["settings"]["auto_resolve_minutes"] is None
    assert emitted[-1]["settings"]["auto_assign"] is True


async def test_patch_design_and_contact_form(
    client: httpx.AsyncClient, signup: Any, events: Any
) -> None:
    owner = await signup()
    resp = await client.patch(
        "/api/v1/account/settings/design",
        headers=owner.headers,
        json={
            "color": "#FF6600",
            "texts": {"welcome": "Hello!"},
            "button_theme": "bar",
            "position": "left",
        },
    )
    assert resp.status_code == 200, resp.text
    design = resp.json()
    assert design["color"] == "#FF6600" and design["texts"]["welcome"] == "Hello!"
    assert design["texts"]["offline"]  # other texts kept
    resp = await client.patch(
        "/api/v1/account/settings/contact-form",
        headers=owner.headers,
        json={
            "enabled": False,
            "offline_text": "Write to us",
            "fields": [{"name": "email", "required": True}, {"name": "phone"}],
        },
    )
    assert resp.status_code == 200, resp.text
    assert [f["name"] for f in resp.json()["fields"]] == ["email", "phone"]
    sections = [e["section"] for e in await events(owner.account_id, "auth.settings.updated")]
    assert sections == ["design", "contact_form"]


async def test_settings_bad_input_is_422_and_changes_nothing(
    client: httpx.AsyncClient, signup: Any, events: Any
) -> None:
    owner = await signup()
    bad = {
        "general": [
            {"language": "xx"},
            {"timezone": "Mars/Olympus"},
            {"language": None},
            {"allowed_domains": ["not a domain"]},
            {"unknown": 1},
            {"office_hours": {"schedule": [{"day": "mon", "from": "18:00", "to": "09:00"}]}},
            {"office_hours": {"schedule": [{"day": "mon", "from": "25:00", "to": "26:00"}]}},
            {"auto_assign": None},
            {"auto_assign": "yes"},
            {"auto_resolve_minutes": 4},
            {"auto_resolve_minutes": 10081},
            {"auto_resolve_minutes": "60"},
            {"auto_resolve_minutes": 60.5},
            {"auto_resolve_minutes": True},
        ],
        "design": [
            {"color": "red"},
            {"color": "#12345"},
            {"button_theme": "rainbow"},
            {"texts": {"welcome": "x" * 1001}},
            {"texts": {"footer": "x"}},
            {"position": "top"},
        ],
        "contact-form": [
            {"fields": []},
            {"fields": [{"name": "name"}]},
            {"fields": [{"name": "email"}, {"name": "email"}]},
            {"fields": [{"name": "shoe_size"}]},
            {"offline_text": "x" * 1001},
            {"enabled": "maybe"},
        ],
    }
    for path, bodies in bad.items():
        before = (
            await client.get(f"/api/v1/account/settings/{path}", headers=owner.headers)
        ).json()
        for body in bodies:
            resp = await client.patch(
                f"/api/v1/account/settings/{path}", headers=owner.headers, json=body
            )
            assert resp.status_code == 422, (path, body, resp.text)
            assert resp.json()["code"] == "validation_error"
        after = (await client.get(f"/api/v1/account/settings/{path}", headers=owner.headers)).json()
        assert after == before
    assert await events(owner.account_id, "auth.settings.updated") == []


async def test_only_admins_change_settings(
    client: httpx.AsyncClient, signup: Any, invite_agent: Any
) -> None:
    owner = await signup()
    agent = await invite_agent(owner)
    for path in SECTIONS:
        assert (
            await client.get(f"/api/v1/account/settings/{path}", headers=agent.headers)
        ).status_code == 200
    resp = await client.patch(
        "/api/v1/account/settings/design", headers=agent.headers, json={"color": "#000000"}
    )
    assert resp.status_code == 403
    admin = await invite_agent(owner, role="admin")
    resp = await client.patch(
        "/api/v1/account/settings/design", headers=admin.headers, json={"color": "#000000"}
    )
    assert resp.status_code == 200


async def test_settings_are_per_account(client: httpx.AsyncClient, signup: Any) -> None:
    a, b = await signup(), await signup()
    await client.patch(
        "/api/v1/account/settings/design", headers=a.headers, json={"color": "#abcdef"}
    )
    b_design = (await client.get("/api/v1/account/settings/design", headers=b.headers)).json()
    assert b_design["color"] != "#abcdef"


async def test_chat_code(client: httpx.AsyncClient, signup: Any, settings: Any) -> None:
    owner = await signup()
    body = (await client.get("/api/v1/account/chat-code", headers=owner.headers)).json()
    key = owner.body["account"]["widget_key"]
    assert body["widget_key"] == key
    assert body["snippet"] == (
        f'<script src="{settings.public_url}/widget.js" data-widget-key="{key}" async></script>'
    )


async def test_account_get_and_rename(
    client: httpx.AsyncClient, signup: Any, invite_agent: Any
) -> None:
    owner = await signup(account_name="Shop")
    assert (await client.get("/api/v1/account", headers=owner.headers)).json()["name"] == "Shop"
    resp = await client.patch("/api/v1/account", headers=owner.headers, json={"name": "Shop 2"})
    assert resp.status_code == 200 and resp.json()["name"] == "Shop 2"
    agent = await invite_agent(owner)
    resp = await client.patch("/api/v1/account", headers=agent.headers, json={"name": "Mine"})
    assert resp.status_code == 403
    resp = await client.patch("/api/v1/account", headers=owner.headers, json={"name": ""})
    assert resp.status_code == 422


async def test_subscription_free_by_default(client: httpx.AsyncClient, signup: Any) -> None:
    owner = await signup()
    sub = (await client.get("/api/v1/account/subscription", headers=owner.headers)).json()
    assert sub["plan"] == "free" and sub["status"] == "active" and sub["expires_at"] is None
    assert sub["entitlements"]["max_agents"] == 3
    assert sub["entitlements"]["max_active_chatbots"] == 1


async def test_apply_subscription_change(
    client: httpx.AsyncClient, signup: Any, engine: AsyncEngine, events: Any
) -> None:
    owner = await signup()
    expires = datetime.now(UTC) + timedelta(days=30)
    async with AsyncSession(engine, expire_on_commit=False) as session:
        await apply_subscription_change(
            session, owner.account_id, "premium", "active", expires, "app_store"
        )
        await session.commit()
    sub = (await client.get("/api/v1/account/subscription", headers=owner.headers)).json()
    assert sub["plan"] == "premium" and sub["effective_plan"] == "premium"
    assert sub["entitlements"]["max_agents"] > 3
    account = (await client.get("/api/v1/account", headers=owner.headers)).json()
    assert account["plan"] == "premium"
    changed = await events(owner.account_id, "auth.subscription.changed")
    assert changed[-1]["plan"] == "premium" and changed[-1]["status"] == "active"
    assert changed[-1]["entitlements"]["max_agents"] == sub["entitlements"]["max_agents"]

    async with AsyncSession(engine, expire_on_commit=False) as session:
        await apply_subscription_change(
            session, owner.account_id, "premium", "refunded", expires, "app_store"
        )
        await session.commit()
    sub = (await client.get("/api/v1/account/subscription", headers=owner.headers)).json()
    assert sub["effective_plan"] == "free" and sub["entitlements"]["max_agents"] == 3
    assert (await events(owner.account_id, "auth.subscription.changed"))[-1]["plan"] == "free"
