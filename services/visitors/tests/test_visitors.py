"""The agents' side: the Visitors tab, visitor details, edits, blocking, other accounts."""

from __future__ import annotations

import uuid


async def test_active_list_sorted_filtered_and_paged(client, site, open_widget, handle, worker):
    a = await open_widget(site, "https://acme.test/pricing", title="Pricing")
    b = await open_widget(site, "https://acme.test/blog/one", title="Blog")
    c = await open_widget(site, "https://acme.test/PRICING/team", title="Team")
    headers = site.agent.headers
    resp = await client.get("/api/v1/visitors?state=active", headers=headers)
    assert resp.status_code == 200
    body = resp.json()
    ids = [i["id"] for i in body["items"]]
    assert ids == [c["visitor_id"], b["visitor_id"], a["visitor_id"]]
    assert body["total_active"] == 3 and body["next_cursor"] is None

    # A heartbeat moves a visitor to the top.
    await client.post("/api/v1/widget/heartbeat", headers=a["headers"])
    ids = [i["id"] for i in (await client.get("/api/v1/visitors", headers=headers)).json()["items"]]
    assert ids[0] == a["visitor_id"]

    resp = await client.get("/api/v1/visitors", params={"url_contains": "pricing"}, headers=headers)
    assert {i["id"] for i in resp.json()["items"]} == {a["visitor_id"], c["visitor_id"]}

    async with worker("visitors"):  # the handler updates the live row through the worker
        await handle(
            "chat.conversation.created",
            site.account_id,
            {"conversation_id": str(uuid.uuid4()), "visitor_id": b["visitor_id"]},
        )
    resp = await client.get("/api/v1/visitors", params={"chatting": "true"}, headers=headers)
    assert [i["id"] for i in resp.json()["items"]] == [b["visitor_id"]]
    resp = await client.get("/api/v1/visitors", params={"chatting": "false"}, headers=headers)
    assert {i["id"] for i in resp.json()["items"]} == {a["visitor_id"], c["visitor_id"]}
    resp = await client.get("/api/v1/visitors", params={"returning": "true"}, headers=headers)
    assert resp.json()["items"] == []

    page1 = (await client.get("/api/v1/visitors?limit=2", headers=headers)).json()
    assert len(page1["items"]) == 2 and page1["next_cursor"]
    page2 = (
        await client.get(
            "/api/v1/visitors", params={"limit": 2, "cursor": page1["next_cursor"]}, headers=headers
        )
    ).json()
    seen = [i["id"] for i in page1["items"] + page2["items"]]
    assert sorted(seen) == sorted([a["visitor_id"], b["visitor_id"], c["visitor_id"]])
    assert page2["next_cursor"] is None

    resp = await client.get("/api/v1/visitors", params={"cursor": "!!"}, headers=headers)
    assert resp.status_code == 422 and resp.json()["code"] == "invalid_cursor"
    resp = await client.get("/api/v1/visitors", params={"state": "sleeping"}, headers=headers)
    assert resp.status_code == 422
    assert (await client.get("/api/v1/visitors")).status_code == 401


async def test_lists_show_only_the_own_account(client, site, other_site, open_widget):
    mine = await open_widget(site)
    await open_widget(other_site)
    items = (await client.get("/api/v1/visitors", headers=site.agent.headers)).json()["items"]
    assert [i["id"] for i in items] == [mine["visitor_id"]]
    known = (await client.get("/api/v1/visitors?state=all", headers=site.agent.headers)).json()[
        "items"
    ]
    assert [i["id"] for i in known] == [mine["visitor_id"]]


async def test_profile_view_and_edit(client, site, open_widget, events):
    session = await open_widget(site, "https://acme.test/docs", title="Docs")
    vid = session["visitor_id"]
    headers = site.agent.headers
    resp = await client.get(f"/api/v1/visitors/{vid}", headers=headers)
    assert resp.status_code == 200
    profile = resp.json()
    assert profile["active"] is True and profile["chatting"] is False
    assert profile["current_page"] == {"url": "https://acme.test/docs", "title": "Docs"}
    assert profile["device"]["browser"] == "Chrome" and profile["device"]["type"] == "desktop"
    assert [p["title"] for p in profile["recent_page_views"]] == ["Docs"]
    assert profile["name"] is None and profile["display_name"].startswith("Visitor ")

    patch = {
        "name": "Jane Doe",
        "email": "jane@example.com",
        "phone": "+420 777 123 456",
        "note": "Wants the annual plan",
        "custom": {"plan": "pro", "seats": 5},
    }
    resp = await client.patch(f"/api/v1/visitors/{vid}", json=patch, headers=headers)
    assert resp.status_code == 200
    body = resp.json()
    assert {k: body[k] for k in patch} == patch
    kind, data = (await events(site.account_id, vid))[-1]
    assert kind == "visitors.visitor.updated"
    assert (data["name"], data["email"], data["label"]) == (
        "Jane Doe",
        "jane@example.com",
        body["label"],
    )

    resp = await client.patch(
        f"/api/v1/visitors/{vid}", json={"phone": None, "custom": {"seats": None}}, headers=headers
    )
    assert resp.json()["phone"] is None and resp.json()["custom"] == {"plan": "pro"}

    count = len(await events(site.account_id, vid))
    for bad in (
        {"email": "nope"},
        {"phone": "call me"},
        {"role": "admin"},
        {"name": "x" * 201},
        {"custom": {"bad key!": 1}},
    ):
        resp = await client.patch(f"/api/v1/visitors/{vid}", json=bad, headers=headers)
        assert resp.status_code == 422, bad
        assert resp.headers["content-type"] == "application/problem+json"
    # Same values again: nothing changes, nothing is announced.
    await client.patch(f"/api/v1/visitors/{vid}", json={"name": "Jane Doe"}, headers=headers)
    assert len(await events(site.account_id, vid)) == count
    assert (await client.get(f"/api/v1/visitors/{vid}", headers=headers)).json()["email"] == (
        "jane@example.com"
    )


async def test_block_and_unblock(client, site, open_widget, events):
    session = await open_widget(site)
    vid = session["visitor_id"]
    headers = site.agent.headers
    resp = await client.post(f"/api/v1/visitors/{vid}/block", headers=headers)
    assert resp.status_code == 200 and resp.json()["blocked"] is True
    await client.post(f"/api/v1/visitors/{vid}/block", headers=headers)  # repeat: no new event
    kinds = [t for t, _ in await events(site.account_id, vid)]
    assert kinds.count("visitors.visitor.blocked") == 1
    blocked_data = next(d for t, d in await events(site.account_id, vid) if t.endswith("blocked"))
    assert blocked_data["blocked"] is True and blocked_data["label"]

    again = await open_widget(site, visitor_id=vid)
    assert again["visitor_id"] == vid and again["blocked"] is True
    [item] = (await client.get("/api/v1/visitors", headers=headers)).json()["items"]
    assert item["blocked"] is True

    resp = await client.delete(f"/api/v1/visitors/{vid}/block", headers=headers)
    assert resp.status_code == 200 and resp.json()["blocked"] is False
    assert [t for t, _ in await events(site.account_id, vid)][-1] == "visitors.visitor.unblocked"
    assert (await open_widget(site, visitor_id=vid))["blocked"] is False


async def test_another_accounts_visitor_is_not_found(client, site, other_site, open_widget, events):
    theirs = await open_widget(other_site)
    vid = theirs["visitor_id"]
    headers = site.agent.headers
    calls = [
        client.get(f"/api/v1/visitors/{vid}", headers=headers),
        client.patch(f"/api/v1/visitors/{vid}", json={"name": "Mine now"}, headers=headers),
        client.get(f"/api/v1/visitors/{vid}/page-views", headers=headers),
        client.post(f"/api/v1/visitors/{vid}/block", headers=headers),
        client.delete(f"/api/v1/visitors/{vid}/block", headers=headers),
        client.get(f"/api/v1/visitors/{uuid.uuid4()}", headers=headers),
    ]
    for call in calls:
        resp = await call
        assert resp.status_code == 404
        assert resp.json()["code"] == "visitor_not_found"
    profile = (await client.get(f"/api/v1/visitors/{vid}", headers=other_site.agent.headers)).json()
    assert profile["name"] is None and profile["blocked"] is False
    assert [t for t, _ in await events(other_site.account_id, vid)] == ["visitors.visitor.arrived"]


async def test_known_visitors_paged(client, site, open_widget):
    made = [await open_widget(site) for _ in range(3)]
    headers = site.agent.headers
    page1 = (await client.get("/api/v1/visitors?state=all&limit=2", headers=headers)).json()
    page2 = (
        await client.get(
            "/api/v1/visitors",
            params={"state": "all", "limit": 2, "cursor": page1["next_cursor"]},
            headers=headers,
        )
    ).json()
    ids = [i["id"] for i in page1["items"] + page2["items"]]
    assert ids == [m["visitor_id"] for m in reversed(made)]
    assert page2["next_cursor"] is None


async def test_seed_visitors_bulk_inserts_known_visitors(client, site):
    from parley_visitors.commands import seed_visitors

    done: list[int] = []
    await seed_visitors(str(site.account_id), 25, done.append)
    assert sum(done) == 25
    page = (
        await client.get("/api/v1/visitors?state=all&limit=200", headers=site.agent.headers)
    ).json()
    assert len(page["items"]) == 25
    assert sum(1 for i in page["items"] if i["name"]) == 5
    active = (await client.get("/api/v1/visitors", headers=site.agent.headers)).json()
    assert active["items"] == []  # known, not on the website
