"""The chat box's side: settings, sessions, page views, heartbeats, presence transitions."""

from __future__ import annotations

import asyncio
import time
import uuid
from pathlib import Path

import jwt
import pytest

from parley_common.security import (
    ALGORITHM,
    VISITOR_AUDIENCE,
    _read_key,
    issue_visitor_token,
    verify_visitor_token,
)
from parley_visitors.app import app as visitors_app
from parley_visitors.client_info import CountryLookup
from parley_visitors.config import get_visitors_settings
from parley_visitors.presence import Presence
from parley_visitors.sweeper import next_sweep_in, sweep_once

from .conftest import IPHONE_UA


async def sweep_all() -> int:
    """What the sweeper does after a minute of silence, without waiting a minute."""
    state = visitors_app.state
    return await sweep_once(
        state.presence, state.session_factory, now=time.time() + 3600, inactive_after=60
    )


async def test_settings_by_widget_key(client, site, handle):
    resp = await client.get("/api/v1/widget/settings", params={"widget_key": "wk_nope"})
    assert resp.status_code == 404
    assert resp.headers["content-type"] == "application/problem+json"
    assert resp.json()["code"] == "widget_key_not_found"

    resp = await client.get("/api/v1/widget/settings", params={"widget_key": site.widget_key})
    assert resp.status_code == 200
    body = resp.json()
    assert body["design"]["color"] == "#1f6feb"
    assert body["contact_form"] == {"enabled": True}
    assert body["agents_online"] is False

    agent_id = str(uuid.uuid4())
    await handle(
        "auth.agent.status_changed", site.account_id, {"agent_id": agent_id, "status": "online"}
    )
    await handle(
        "auth.settings.updated",
        site.account_id,
        {"section": "design", "settings": {"color": "#ff6600"}, "widget_key": site.widget_key},
    )
    body = (
        await client.get("/api/v1/widget/settings", params={"widget_key": site.widget_key})
    ).json()
    assert body["agents_online"] is True
    assert body["design"]["color"] == "#ff6600"
    assert body["design"]["texts"] == {"title": "Chat with us"}

    await handle(
        "auth.agent.status_changed", site.account_id, {"agent_id": agent_id, "status": "away"}
    )
    body = (
        await client.get("/api/v1/widget/settings", params={"widget_key": site.widget_key})
    ).json()
    assert body["agents_online"] is False


async def test_new_visitor_session(client, site, open_widget, events, visitor_row):
    session = await open_widget(
        site,
        "https://acme.test/pricing?utm_source=news&utm_campaign=spring&x=1",
        title="Pricing",
        user_agent=IPHONE_UA,
        referrer="https://www.google.com/",
    )
    visitor_id = session["visitor_id"]
    principal = verify_visitor_token(session["visitor_token"])
    assert (str(principal.visitor_id), principal.account_id) == (visitor_id, site.account_id)
    assert session["blocked"] is False
    assert session["settings"]["design"]["color"] == "#1f6feb"
    assert session["settings"]["agents_online"] is False

    row = await visitor_row(visitor_id)
    assert row is not None and row.account_id == site.account_id
    assert (row.browser, row.os, row.device_type) == ("Mobile Safari", "iOS", "mobile")
    assert row.referrer == "https://www.google.com/"
    assert row.utm == {"utm_source": "news", "utm_campaign": "spring"}
    assert row.visits == 1 and row.label.startswith("Visitor ")

    arrived = await events(site.account_id, visitor_id)
    assert [t for t, _ in arrived] == ["visitors.visitor.arrived"]
    assert arrived[0][1]["label"] == row.label
    assert arrived[0][1]["title"] == "Pricing"

    resp = await client.get("/api/v1/visitors", headers=site.agent.headers)
    [item] = resp.json()["items"]
    assert item["id"] == visitor_id
    assert item["current_page"] == {
        "url": "https://acme.test/pricing?utm_source=news&utm_campaign=spring&x=1",
        "title": "Pricing",
    }
    assert item["device"] == {"browser": "Mobile Safari", "os": "iOS", "type": "mobile"}
    assert item["visits"] == 1 and item["returning"] is False


async def test_returning_visitor_counts_visits_and_transitions_once(
    client, site, open_widget, events, visitor_row
):
    first = await open_widget(site, "https://acme.test/")
    vid = first["visitor_id"]
    # A reload while active is the same visit: no second `arrived`.
    again = await open_widget(site, "https://acme.test/", visitor_id=vid)
    assert again["visitor_id"] == vid
    assert (await visitor_row(vid)).visits == 1
    assert [t for t, _ in await events(site.account_id, vid)] == ["visitors.visitor.arrived"]

    assert await sweep_all() >= 1
    assert [t for t, _ in await events(site.account_id, vid)] == [
        "visitors.visitor.arrived",
        "visitors.visitor.left",
    ]
    resp = await client.get("/api/v1/visitors", headers=site.agent.headers)
    assert resp.json()["items"] == []
    assert (await sweep_all()) == 0  # nobody leaves twice

    back = await open_widget(site, "https://acme.test/blog", visitor_id=vid)
    assert back["visitor_id"] == vid
    assert (await visitor_row(vid)).visits == 2
    kinds = [t for t, _ in await events(site.account_id, vid)]
    assert kinds[-1] == "visitors.visitor.arrived" and kinds.count("visitors.visitor.arrived") == 2
    [item] = (await client.get("/api/v1/visitors", headers=site.agent.headers)).json()["items"]
    assert item["returning"] is True and item["visits"] == 2


async def test_visitor_id_of_another_account_starts_a_new_visitor(
    site, other_site, open_widget, visitor_row
):
    theirs = await open_widget(other_site)
    mine = await open_widget(site, visitor_id=theirs["visitor_id"])
    assert mine["visitor_id"] != theirs["visitor_id"]
    assert (await visitor_row(theirs["visitor_id"])).visits == 1


async def test_heartbeat_touches_redis_only(client, site, open_widget, events, visitor_row):
    session = await open_widget(site)
    vid = session["visitor_id"]
    before = await visitor_row(vid)
    for _ in range(3):
        resp = await client.post("/api/v1/widget/heartbeat", headers=session["headers"])
        assert resp.status_code == 200 and resp.json() == {"active": True}
    after = await visitor_row(vid)
    assert after.last_seen_at == before.last_seen_at
    assert len(await events(site.account_id, vid)) == 1

    await sweep_all()
    resp = await client.post("/api/v1/widget/heartbeat", headers=session["headers"])
    assert resp.status_code == 200
    kinds = [t for t, _ in await events(site.account_id, vid)]
    assert kinds == [
        "visitors.visitor.arrived",
        "visitors.visitor.left",
        "visitors.visitor.arrived",
    ]

    resp = await client.post("/api/v1/widget/heartbeat")
    assert resp.status_code == 401 and resp.json()["code"] == "unauthorized"
    resp = await client.post(
        "/api/v1/widget/heartbeat", headers={"Authorization": f"Bearer {site.agent.token}"}
    )
    assert resp.status_code == 401  # an agent token is no visitor token


async def test_heartbeat_answers_like_any_endpoint(client, site, open_widget, settings):
    """The heartbeat's lean path keeps the service's request ids, problems and metrics."""
    session = await open_widget(site)
    resp = await client.post(
        "/api/v1/widget/heartbeat", headers={**session["headers"], "x-request-id": "hb-1"}
    )
    assert resp.status_code == 200 and resp.json() == {"active": True}
    assert resp.headers["content-type"] == "application/json"
    assert resp.headers["x-request-id"] == "hb-1"

    # A well-signed token for a visitor this service never saw, while inactive: 404.
    stranger = issue_visitor_token(uuid.uuid4(), site.account_id)
    resp = await client.post(
        "/api/v1/widget/heartbeat",
        headers={"Authorization": f"Bearer {stranger}", "x-request-id": "hb-2"},
    )
    assert resp.status_code == 404
    assert resp.headers["content-type"] == "application/problem+json"
    assert resp.json()["code"] == "visitor_not_found"
    assert resp.json()["request_id"] == "hb-2"

    key = _read_key(settings.jwt_private_key_file)
    now = int(time.time())
    expired = jwt.encode(
        {
            "sub": session["visitor_id"],
            "acc": str(site.account_id),
            "iss": settings.jwt_issuer,
            "aud": VISITOR_AUDIENCE,
            "iat": now - 60,
            "exp": now - 1,
        },
        key,
        algorithm=ALGORITHM,
    )
    resp = await client.post(
        "/api/v1/widget/heartbeat", headers={"Authorization": f"Bearer {expired}"}
    )
    assert resp.status_code == 401 and resp.json()["code"] == "token_expired"

    resp = await client.get("/api/v1/widget/heartbeat", headers=session["headers"])
    assert resp.status_code == 405  # other methods still meet the router

    metrics = (await client.get("/metrics")).text
    assert 'route="/api/v1/widget/heartbeat",status="200"' in metrics


async def test_concurrent_heartbeats_each_get_their_own_answer(client, site, open_widget, events):
    """Heartbeats arriving together share one Redis round trip, not their answers."""
    sessions = [await open_widget(site) for _ in range(6)]
    await sweep_all()  # all six left
    gone = sessions.pop()
    stranger = {"Authorization": f"Bearer {issue_visitor_token(uuid.uuid4(), site.account_id)}"}
    for s in sessions:
        await client.post("/api/v1/widget/heartbeat", headers=s["headers"])  # back, one by one
    calls = [s["headers"] for s in sessions * 3] + [gone["headers"], stranger]
    answers = await asyncio.gather(
        *(client.post("/api/v1/widget/heartbeat", headers=h) for h in calls)
    )
    assert [r.status_code for r in answers] == [200] * (len(calls) - 1) + [404]
    assert answers[-1].json()["code"] == "visitor_not_found"
    kinds = [t for t, _ in await events(site.account_id, gone["visitor_id"])]
    assert kinds == [
        "visitors.visitor.arrived",
        "visitors.visitor.left",
        "visitors.visitor.arrived",
    ]
    active = (await client.get("/api/v1/visitors", headers=site.agent.headers)).json()
    assert active["total_active"] == 6


async def test_page_views_history_and_page_changed(client, site, open_widget, events):
    session = await open_widget(site, "https://acme.test/", title="Home")
    vid = session["visitor_id"]
    for n in range(1, 4):
        resp = await client.post(
            "/api/v1/widget/page-views",
            json={"url": f"https://acme.test/p{n}", "title": f"Page {n}"},
            headers=session["headers"],
        )
        assert resp.status_code == 204
    kinds = [t for t, _ in await events(site.account_id, vid)]
    assert kinds == ["visitors.visitor.arrived"] + ["visitors.visitor.page_changed"] * 3

    headers = site.agent.headers
    resp = await client.get(f"/api/v1/visitors/{vid}/page-views?limit=3", headers=headers)
    body = resp.json()
    assert [v["title"] for v in body["items"]] == ["Page 3", "Page 2", "Page 1"]
    assert body["items"][0]["duration_seconds"] is None  # still on it
    assert all(v["duration_seconds"] is not None for v in body["items"][1:])
    resp = await client.get(
        f"/api/v1/visitors/{vid}/page-views",
        params={"limit": 3, "cursor": body["next_cursor"]},
        headers=headers,
    )
    assert [v["title"] for v in resp.json()["items"]] == ["Home"]
    assert resp.json()["next_cursor"] is None

    resp = await client.get(
        f"/api/v1/visitors/{vid}/page-views", params={"cursor": "garbage"}, headers=headers
    )
    assert resp.status_code == 422 and resp.json()["code"] == "invalid_cursor"

    [item] = (await client.get("/api/v1/visitors", headers=headers)).json()["items"]
    assert item["current_page"]["title"] == "Page 3"


async def test_history_is_bounded(client, site, open_widget):
    settings = get_visitors_settings()
    keep = settings.visitors_page_views_per_visitor
    settings.visitors_page_views_per_visitor = 3
    try:
        session = await open_widget(site, "https://acme.test/0")
        for n in range(1, 6):
            await client.post(
                "/api/v1/widget/page-views",
                json={"url": f"https://acme.test/{n}", "title": str(n)},
                headers=session["headers"],
            )
    finally:
        settings.visitors_page_views_per_visitor = keep
    resp = await client.get(
        f"/api/v1/visitors/{session['visitor_id']}/page-views", headers=site.agent.headers
    )
    assert [v["title"] for v in resp.json()["items"]] == ["5", "4", "3"]


async def test_bad_widget_input_is_refused(client, site, open_widget):
    cases = [
        {"widget_key": site.widget_key, "extra": 1},
        {"widget_key": site.widget_key, "page": {"url": "javascript:alert(1)"}},
        {"widget_key": site.widget_key, "visitor_id": "not-a-uuid"},
        {"widget_key": ""},
    ]
    for body in cases:
        resp = await client.post("/api/v1/widget/sessions", json=body)
        assert resp.status_code == 422, body
        assert resp.json()["code"] == "validation_error"
    resp = await client.post("/api/v1/widget/sessions", json={"widget_key": "wk_missing"})
    assert resp.status_code == 404 and resp.json()["code"] == "widget_key_not_found"

    session = await open_widget(site)
    resp = await client.post(
        "/api/v1/widget/page-views",
        json={"url": "https://acme.test/", "title": "x" * 501},
        headers=session["headers"],
    )
    assert resp.status_code == 422
    resp = await client.patch(
        "/api/v1/widget/visitor", json={"email": "not-an-email"}, headers=session["headers"]
    )
    assert resp.status_code == 422


async def test_allowed_domains(client, new_site):
    site = await new_site(allowed_domains=["acme.test", "*.shop.test"])

    async def start(origin: str | None) -> int:
        headers = {"origin": origin} if origin else {}
        resp = await client.post(
            "/api/v1/widget/sessions", json={"widget_key": site.widget_key}, headers=headers
        )
        if resp.status_code == 403:
            assert resp.json()["code"] == "origin_not_allowed"
        return resp.status_code

    assert await start("https://acme.test") == 200
    assert await start("https://www.acme.test") == 200
    assert await start("https://eu.shop.test") == 200
    assert await start("http://127.0.0.1:8000") == 200  # the live demo page
    assert await start(None) == 200
    assert await start("https://evil.test") == 403
    assert await start("https://acme.test.evil.test") == 403


async def test_widget_names_its_visitor(client, site, open_widget, events):
    session = await open_widget(site)
    vid = session["visitor_id"]
    resp = await client.patch(
        "/api/v1/widget/visitor",
        json={"name": "Jane", "email": "jane@example.com", "custom": {"user_id": "u-1"}},
        headers=session["headers"],
    )
    assert resp.status_code == 204
    kind, data = (await events(site.account_id, vid))[-1]
    assert kind == "visitors.visitor.updated"
    assert (data["name"], data["email"]) == ("Jane", "jane@example.com")
    profile = (await client.get(f"/api/v1/visitors/{vid}", headers=site.agent.headers)).json()
    assert profile["custom"] == {"user_id": "u-1"} and profile["display_name"] == "Jane"
    [item] = (await client.get("/api/v1/visitors", headers=site.agent.headers)).json()["items"]
    assert item["display_name"] == "Jane"


async def test_country_from_configured_csv(client, site, open_widget, tmp_path: Path):
    csv_file = tmp_path / "countries.csv"
    csv_file.write_text(
        "first,last,country\n10.0.0.0,10.255.255.255,CZ\n2001:db8::,2001:db8::ffff,DE\n"
    )
    lookup = CountryLookup.from_csv(csv_file)
    assert lookup.country("10.1.2.3") == "CZ"
    assert lookup.country("2001:db8::1") == "DE"
    assert lookup.country("11.0.0.1") is None and lookup.country("bogus") is None
    assert CountryLookup.from_csv(None).country("10.1.2.3") is None

    previous = visitors_app.state.countries
    visitors_app.state.countries = lookup
    try:
        session = await open_widget(site, headers={"x-forwarded-for": "1.1.1.1, 10.9.8.7"})
    finally:
        visitors_app.state.countries = previous
    profile = (
        await client.get(f"/api/v1/visitors/{session['visitor_id']}", headers=site.agent.headers)
    ).json()
    assert profile["country"] == "CZ"


async def test_the_sweeper_sleeps_until_the_longest_silent_visitor_goes_inactive(client):
    """Not a fixed 5 s poll: with nobody here the sweeper sleeps the inactivity time (whoever
    arrives meanwhile goes inactive no sooner), else until the oldest silence ends, never
    less than the sweep interval."""
    presence = Presence(visitors_app.state.redis, f"test{uuid.uuid4().hex[:8]}")
    now = time.time()

    async def pause() -> float:
        return await next_sweep_in(presence, now=now, inactive_after=60, interval=5)

    try:
        assert await pause() == 60
        account = uuid.uuid4()
        await presence.touch(account, uuid.uuid4(), now - 20, {})
        assert await pause() == pytest.approx(40)
        await presence.touch(account, uuid.uuid4(), now - 58, {})
        assert await pause() == 5
    finally:
        await presence.pop_expired(now)  # takes every key of theirs
    assert await pause() == 60
