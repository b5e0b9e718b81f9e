"""Agent actions: join, assign, resolve/reopen, read/unread, lists, contact, typing, rating."""

from __future__ import annotations

import uuid

import orjson
from sqlalchemy import text

from parley_chat.jobs import resolve_idle_once
from parley_common.pagination import encode_cursor

from .conftest import colleague, events_of, make_visitor, visitor_writes


async def test_join_assigns_the_first_agent_only(
    client, visitor, named_agent, feed, session_factory
):
    cid = (await visitor_writes(client, visitor))["conversation_id"]
    joined = await client.post(f"/api/v1/conversations/{cid}/join", headers=named_agent.headers)
    assert joined.status_code == 200
    assert joined.json()["assignee"] == {
        "id": str(named_agent.agent_id),
        "name": "Anna",
        "email": None,
    }
    bob = await colleague(feed, named_agent.account_id)
    second = (await client.post(f"/api/v1/conversations/{cid}/join", headers=bob.headers)).json()
    assert second["assignee_id"] == str(named_agent.agent_id)
    assert set(second["agent_ids"]) == {str(named_agent.agent_id), str(bob.agent_id)}
    assigned = await events_of(session_factory, "chat.conversation.assigned", cid)
    assert [e["data"]["assignee_id"] for e in assigned] == [str(named_agent.agent_id)]
    widget = (await client.get("/api/v1/widget/conversation", headers=visitor.headers)).json()
    assert [m["text"] for m in widget["messages"] if m["author_type"] == "system"] == [
        "Anna joined the conversation",
        "Bob joined the conversation",
    ]


async def test_assign_to_an_agent_of_the_account(
    client, visitor, named_agent, feed, other_account, session_factory
):
    cid = (await visitor_writes(client, visitor))["conversation_id"]
    bob = await colleague(feed, named_agent.account_id)
    done = await client.post(
        f"/api/v1/conversations/{cid}/assign",
        headers=named_agent.headers,
        json={"agent_id": str(bob.agent_id)},
    )
    assert done.status_code == 200 and done.json()["assignee"]["name"] == "Bob"
    events = await events_of(session_factory, "chat.conversation.assigned", cid)
    assert events[-1]["data"]["assignee_id"] == str(bob.agent_id)

    stranger = await client.post(
        f"/api/v1/conversations/{cid}/assign",
        headers=named_agent.headers,
        json={"agent_id": str(other_account.agent_id)},
    )
    assert stranger.status_code == 404 and stranger.json()["code"] == "agent_not_found"
    back = await client.post(
        f"/api/v1/conversations/{cid}/assign",
        headers=named_agent.headers,
        json={"agent_id": str(named_agent.agent_id)},
    )
    assert back.json()["assignee_id"] == str(named_agent.agent_id)
    await feed("auth.agent.removed", named_agent.account_id, {"agent_id": str(bob.agent_id)})
    removed = await client.post(
        f"/api/v1/conversations/{cid}/assign",
        headers=named_agent.headers,
        json={"agent_id": str(bob.agent_id)},
    )
    assert removed.status_code == 404
    junk = await client.post(
        f"/api/v1/conversations/{cid}/assign",
        headers=named_agent.headers,
        json={"agent_id": "nope"},
    )
    assert junk.status_code == 422


async def test_resolve_reopen_and_visitor_message_reopens(
    client, visitor, named_agent, session_factory
):
    cid = (await visitor_writes(client, visitor))["conversation_id"]
    resolved = await client.post(
        f"/api/v1/conversations/{cid}/resolve", headers=named_agent.headers
    )
    assert resolved.status_code == 200 and resolved.json()["status"] == "resolved"
    again = await client.post(f"/api/v1/conversations/{cid}/resolve", headers=named_agent.headers)
    assert again.status_code == 409 and again.json()["code"] == "conversation_not_open"
    listed = (
        await client.get(
            "/api/v1/conversations", headers=named_agent.headers, params={"status": "resolved"}
        )
    ).json()
    assert [c["id"] for c in listed["items"]] == [cid]
    event = (await events_of(session_factory, "chat.conversation.resolved", cid))[0]
    assert event["data"]["rating_requested"] is False

    sent = await visitor_writes(client, visitor, "one more thing")
    assert sent["conversation_id"] == cid
    view = (await client.get(f"/api/v1/conversations/{cid}", headers=named_agent.headers)).json()
    assert view["status"] == "open"
    assert len(await events_of(session_factory, "chat.conversation.reopened", cid)) == 1

    await client.post(f"/api/v1/conversations/{cid}/resolve", headers=named_agent.headers)
    reopened = await client.post(f"/api/v1/conversations/{cid}/reopen", headers=named_agent.headers)
    assert reopened.status_code == 200 and reopened.json()["status"] == "open"
    twice = await client.post(f"/api/v1/conversations/{cid}/reopen", headers=named_agent.headers)
    assert twice.status_code == 409


async def test_unread_stays_until_read(client, visitor, named_agent, feed, session_factory):
    cid = (await visitor_writes(client, visitor))["conversation_id"]
    bob = await colleague(feed, named_agent.account_id)
    read = (
        await client.post(f"/api/v1/conversations/{cid}/read", headers=named_agent.headers)
    ).json()
    assert read["unread_count"] == 0
    unread = (
        await client.post(f"/api/v1/conversations/{cid}/unread", headers=named_agent.headers)
    ).json()
    assert unread["unread_count"] == 1 and unread["marked_unread"] is True
    # Still unread after new activity and a reply, and only for Anna.
    await client.post(
        f"/api/v1/conversations/{cid}/messages", headers=named_agent.headers, json={"text": "reply"}
    )
    again = (await client.get(f"/api/v1/conversations/{cid}", headers=named_agent.headers)).json()
    assert again["unread_count"] == 1
    only_unread = (
        await client.get(
            "/api/v1/conversations", headers=named_agent.headers, params={"unread": "true"}
        )
    ).json()
    assert [c["id"] for c in only_unread["items"]] == [cid]
    bobs = (await client.get(f"/api/v1/conversations/{cid}", headers=bob.headers)).json()
    assert bobs["marked_unread"] is False
    await client.post(f"/api/v1/conversations/{cid}/read", headers=named_agent.headers)
    after = (
        await client.get(
            "/api/v1/conversations", headers=named_agent.headers, params={"unread": "true"}
        )
    ).json()
    assert after["items"] == []
    events = await events_of(session_factory, "chat.conversation.read", cid)
    assert [e["data"]["unread"] for e in events] == [False, True, False]


async def test_list_filters_and_cursor_paging(client, agent, feed):
    bob = await colleague(feed, agent.account_id)
    ids = []
    for _ in range(5):
        ids.append(
            (await visitor_writes(client, make_visitor(agent.account_id)))["conversation_id"]
        )
    await client.post(
        f"/api/v1/conversations/{ids[0]}/assign",
        headers=agent.headers,
        json={"agent_id": str(bob.agent_id)},
    )
    first = (
        await client.get(
            "/api/v1/conversations", headers=agent.headers, params={"limit": 2, "status": "open"}
        )
    ).json()
    second = (
        await client.get(
            "/api/v1/conversations",
            headers=agent.headers,
            params={"limit": 2, "cursor": first["next_cursor"]},
        )
    ).json()
    third = (
        await client.get(
            "/api/v1/conversations",
            headers=agent.headers,
            params={"limit": 2, "cursor": second["next_cursor"]},
        )
    ).json()
    seen = [c["id"] for page in (first, second, third) for c in page["items"]]
    assert seen == [ids[0], ids[4], ids[3], ids[2], ids[1]]  # assignment is activity
    assert third["next_cursor"] is None
    by_bob = (
        await client.get(
            "/api/v1/conversations", headers=agent.headers, params={"assignee": str(bob.agent_id)}
        )
    ).json()
    assert [c["id"] for c in by_bob["items"]] == [ids[0]]
    unassigned = (
        await client.get(
            "/api/v1/conversations", headers=agent.headers, params={"unassigned": "true"}
        )
    ).json()
    assert len(unassigned["items"]) == 4
    email = (
        await client.get(
            "/api/v1/conversations", headers=agent.headers, params={"channel": "email"}
        )
    ).json()
    assert email["items"] == []
    bad = await client.get(
        "/api/v1/conversations", headers=agent.headers, params={"status": "deleted"}
    )
    assert bad.status_code == 422
    mine = (
        await client.get("/api/v1/conversations", headers=bob.headers, params={"assignee": "me"})
    ).json()
    assert [c["id"] for c in mine["items"]] == [ids[0]]
    bad_assignee = await client.get(
        "/api/v1/conversations", headers=agent.headers, params={"assignee": "someone"}
    )
    assert bad_assignee.status_code == 422 and bad_assignee.json()["code"] == "invalid_filter"
    for cursor in ("!!", encode_cursor("2020-01-01T00:00:00", uuid.uuid4()), encode_cursor(1)):
        bad_cursor = await client.get(
            "/api/v1/conversations", headers=agent.headers, params={"cursor": cursor}
        )
        assert bad_cursor.status_code == 422, cursor
        assert bad_cursor.json()["code"] == "invalid_cursor", cursor


async def test_agent_contacts_a_visitor(client, named_agent, feed, other_account):
    visitor = make_visitor(named_agent.account_id)
    unknown = await client.post(
        f"/api/v1/visitors/{visitor.visitor_id}/conversations",
        headers=named_agent.headers,
        json={"text": "Hi"},
    )
    assert unknown.status_code == 404 and unknown.json()["code"] == "visitor_not_found"
    await feed(
        "visitors.visitor.arrived",
        named_agent.account_id,
        {"visitor_id": str(visitor.visitor_id), "name": "Jane", "url": "https://x"},
    )
    opened = await client.post(
        f"/api/v1/visitors/{visitor.visitor_id}/conversations",
        headers=named_agent.headers,
        json={"text": "Can I help?"},
    )
    assert opened.status_code == 201
    body = opened.json()
    assert body["started_by"] == "agent" and body["assignee_id"] == str(named_agent.agent_id)
    assert body["visitor"]["name"] == "Jane"
    existing = await client.post(
        f"/api/v1/visitors/{visitor.visitor_id}/conversations", headers=named_agent.headers, json={}
    )
    assert existing.status_code == 200 and existing.json()["id"] == body["id"]
    widget = (await client.get("/api/v1/widget/conversation", headers=visitor.headers)).json()
    assert widget["messages"][-1]["text"] == "Can I help?"
    foreign = await client.post(
        f"/api/v1/visitors/{visitor.visitor_id}/conversations",
        headers=other_account.headers,
        json={},
    )
    assert foreign.status_code == 404


async def test_typing_frames_go_to_redis(client, visitor, named_agent, redis, settings):
    cid = (await visitor_writes(client, visitor))["conversation_id"]
    pubsub = redis.pubsub()
    await pubsub.subscribe(f"{settings.namespace}:typing:{named_agent.account_id}")
    await pubsub.get_message(timeout=1)
    agent_typing = await client.post(
        f"/api/v1/conversations/{cid}/typing", headers=named_agent.headers
    )
    visitor_typing = await client.post("/api/v1/widget/typing", headers=visitor.headers)
    assert agent_typing.status_code == visitor_typing.status_code == 204
    frames = []
    for _ in range(20):
        message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=0.5)
        if message:
            frames.append(orjson.loads(message["data"]))
        if len(frames) == 2:
            break
    await pubsub.aclose()
    assert [(f["author_type"], f["conversation_id"]) for f in frames] == [
        ("agent", cid),
        ("visitor", cid),
    ]
    assert frames[0]["author_name"] == "Anna"
    assert frames[1]["visitor_id"] == str(visitor.visitor_id)


async def test_rating_once_when_requested(client, visitor, named_agent, feed, session_factory):
    await feed(
        "auth.settings.updated",
        named_agent.account_id,
        {"section": "general", "settings": {"satisfaction_rating_enabled": True}},
    )
    cid = (await visitor_writes(client, visitor))["conversation_id"]
    early = await client.post(
        "/api/v1/widget/rating", headers=visitor.headers, json={"conversation_id": cid, "rating": 5}
    )
    assert early.status_code == 409 and early.json()["code"] == "rating_not_requested"
    await client.post(f"/api/v1/conversations/{cid}/resolve", headers=named_agent.headers)
    event = (await events_of(session_factory, "chat.conversation.resolved", cid))[0]
    assert event["data"]["rating_requested"] is True
    widget = (await client.get("/api/v1/widget/conversation", headers=visitor.headers)).json()
    assert widget["rating_requested"] is True
    bad = await client.post(
        "/api/v1/widget/rating", headers=visitor.headers, json={"conversation_id": cid, "rating": 7}
    )
    assert bad.status_code == 422
    rated = await client.post(
        "/api/v1/widget/rating",
        headers=visitor.headers,
        json={"conversation_id": cid, "rating": "good", "comment": "ok"},
    )
    assert rated.status_code == 201 and rated.json()["rating"] == 5
    twice = await client.post(
        "/api/v1/widget/rating", headers=visitor.headers, json={"conversation_id": cid, "rating": 1}
    )
    assert twice.status_code == 409 and twice.json()["code"] == "already_rated"
    view = (await client.get(f"/api/v1/conversations/{cid}", headers=named_agent.headers)).json()
    assert view["rating"] == 5 and view["rating_comment"] == "ok"


async def test_contact_form_opens_a_conversation_with_the_email(
    client, visitor, agent, feed, session_factory
):
    sent = await client.post(
        "/api/v1/widget/contact-form",
        headers=visitor.headers,
        json={"name": "Jane", "email": "jane@example.com", "text": "Call me"},
    )
    assert sent.status_code == 201
    cid = sent.json()["conversation_id"]
    view = (await client.get(f"/api/v1/conversations/{cid}", headers=agent.headers)).json()
    assert view["channel"] == "contact_form"
    assert view["visitor"] == {
        "id": str(visitor.visitor_id),
        "name": "Jane",
        "email": "jane@example.com",
    }
    assert await events_of(session_factory, "chat.conversation.created", cid)
    # A later arrival without an e-mail keeps the one the contact form gave.
    await feed(
        "visitors.visitor.arrived",
        visitor.account_id,
        {"visitor_id": str(visitor.visitor_id), "name": None, "email": None},
    )
    again = (await client.get(f"/api/v1/conversations/{cid}", headers=agent.headers)).json()
    assert again["visitor"]["email"] == "jane@example.com"
    bad = await client.post(
        "/api/v1/widget/contact-form",
        headers=visitor.headers,
        json={"email": "not-an-email", "text": "x"},
    )
    assert bad.status_code == 422


async def test_idle_conversations_resolve_automatically(
    client, visitor, agent, feed, engine, session_factory
):
    await feed(
        "auth.settings.updated",
        agent.account_id,
        {"section": "general", "settings": {"auto_resolve_minutes": 5}},
    )
    cid = (await visitor_writes(client, visitor))["conversation_id"]
    async with engine.begin() as conn:
        await conn.execute(
            text(
                "UPDATE chat.conversations SET last_activity_at = now() - "
                "interval '6 minutes' WHERE id = :id"
            ),
            {"id": uuid.UUID(cid)},
        )
    fresh = (await visitor_writes(client, make_visitor(agent.account_id)))["conversation_id"]
    # What the chat worker's auto_resolve job runs every interval (0 = no default for others).
    assert await resolve_idle_once(session_factory, 0) >= 1
    view = (await client.get(f"/api/v1/conversations/{cid}", headers=agent.headers)).json()
    assert view["status"] == "resolved"
    other = (await client.get(f"/api/v1/conversations/{fresh}", headers=agent.headers)).json()
    assert other["status"] == "open"
