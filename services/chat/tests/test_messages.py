"""Visitor and agent messages: opening, idempotent retries, blocking, paging, events."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import text

from parley_chat.errors import ConversationNotFound
from parley_chat.messages.store import Author, store_message
from parley_common.events.catalogue import routing_key

from .conftest import colleague, events_of, make_visitor, visitor_writes


async def test_first_visitor_message_opens_an_unassigned_conversation(
    client, visitor, named_agent, session_factory
):
    sent = await visitor_writes(client, visitor, "Is shipping free?")
    conversation_id = sent["conversation_id"]
    assert sent["message"]["author_type"] == "visitor"
    assert sent["message"]["text"] == "Is shipping free?"

    view = (
        await client.get(f"/api/v1/conversations/{conversation_id}", headers=named_agent.headers)
    ).json()
    assert view["status"] == "open" and view["assignee_id"] is None
    assert view["unread_count"] == 1
    assert view["last_message"]["text"] == "Is shipping free?"

    created = await events_of(session_factory, "chat.conversation.created", conversation_id)
    assert len(created) == 1 and created[0]["data"]["visitor_id"] == str(visitor.visitor_id)
    messages = await events_of(session_factory, "chat.message.created", conversation_id)
    assert [m["data"]["text"] for m in messages] == ["Is shipping free?"]

    second = await visitor_writes(client, visitor, "Hello?")
    assert second["conversation_id"] == conversation_id


async def test_visitor_name_comes_from_the_visitors_projection(
    client, visitor, feed, session_factory
):
    anonymous = await visitor_writes(client, visitor, "first")
    assert anonymous["message"]["author_name"] == "Visitor"
    await feed(
        "visitors.visitor.arrived",
        visitor.account_id,
        {"visitor_id": str(visitor.visitor_id), "name": None, "label": "#42"},
    )
    await feed(
        "visitors.visitor.updated",
        visitor.account_id,
        {"visitor_id": str(visitor.visitor_id), "name": "Jane"},
    )
    named = await visitor_writes(client, visitor, "second")
    assert named["message"]["author_name"] == "Jane"
    events = await events_of(session_factory, "chat.message.created", named["conversation_id"])
    assert events[-1]["data"]["visitor_name"] == "Jane"


async def test_retried_send_with_client_message_id_is_stored_once(
    client, visitor, agent, session_factory
):
    first = await visitor_writes(client, visitor, "once", client_message_id="m-1")
    again = await visitor_writes(client, visitor, "once", client_message_id="m-1")
    assert again["message"]["id"] == first["message"]["id"]
    page = (
        await client.get(
            f"/api/v1/conversations/{first['conversation_id']}/messages", headers=agent.headers
        )
    ).json()
    assert [m["text"] for m in page["items"]] == ["once"]
    events = await events_of(session_factory, "chat.message.created", first["conversation_id"])
    assert len(events) == 1


async def test_agent_retry_is_idempotent_too(client, visitor, named_agent):
    sent = await visitor_writes(client, visitor)
    url = f"/api/v1/conversations/{sent['conversation_id']}/messages"
    body = {"text": "Hi!", "client_message_id": "a-1"}
    one = await client.post(url, headers=named_agent.headers, json=body)
    two = await client.post(url, headers=named_agent.headers, json=body)
    assert one.status_code == two.status_code == 201
    assert one.json()["id"] == two.json()["id"]
    listed = (await client.get(url, headers=named_agent.headers)).json()
    texts = [m["text"] for m in listed["items"]]
    assert texts.count("Hi!") == 1


async def test_message_events_say_whose_turn_it_was_and_route_by_it(
    client, visitor, named_agent, session_factory
):
    first = await visitor_writes(client, visitor, "one")
    await visitor_writes(client, visitor, "two")
    url = f"/api/v1/conversations/{first['conversation_id']}/messages"
    reply = await client.post(url, headers=named_agent.headers, json={"text": "three"})
    assert reply.status_code == 201, reply.text
    await visitor_writes(client, visitor, "four")
    events = await events_of(session_factory, "chat.message.created", first["conversation_id"])
    turns = [(e["data"]["author_type"], e["data"]["previous_author_type"]) for e in events]
    assert turns == [
        ("visitor", None),
        ("visitor", "visitor"),
        ("system", "visitor"),  # the agent joined
        ("agent", "system"),
        ("visitor", "agent"),
    ]
    account = str(visitor.account_id)
    assert [routing_key(e) for e in events[:2]] == [
        f"chat.message.created.visitor.none.chat.{account}",
        f"chat.message.created.visitor.visitor.chat.{account}",
    ]


async def test_blocked_visitor_gets_403_and_nothing_is_stored(client, visitor, feed, engine):
    await feed(
        "visitors.visitor.blocked", visitor.account_id, {"visitor_id": str(visitor.visitor_id)}
    )
    response = await client.post(
        "/api/v1/widget/messages", headers=visitor.headers, json={"text": "spam"}
    )
    assert response.status_code == 403
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == "visitor_blocked"
    async with engine.connect() as conn:
        count = (
            await conn.execute(
                text("SELECT count(*) FROM chat.conversations WHERE visitor_id = :v"),
                {"v": visitor.visitor_id},
            )
        ).scalar()
    assert count == 0

    await feed(
        "visitors.visitor.unblocked", visitor.account_id, {"visitor_id": str(visitor.visitor_id)}
    )
    await visitor_writes(client, visitor, "sorry")


async def test_a_message_into_the_open_conversation_is_stored_and_told_in_full(
    client, visitor, feed, session_factory
):
    # The open conversation's message is one statement (messages.store): the event it writes
    # carries the same message as the answer, with the names the projection gives.
    first = await visitor_writes(client, visitor, "one")
    await feed(
        "visitors.visitor.arrived",
        visitor.account_id,
        {"visitor_id": str(visitor.visitor_id), "name": "", "label": "#7"},
    )
    sent = await visitor_writes(client, visitor, "two", client_message_id="c-2")
    message = sent["message"]
    assert sent["conversation_id"] == first["conversation_id"]
    assert (message["author_name"], message["client_message_id"]) == ("#7", "c-2")
    events = await events_of(session_factory, "chat.message.created", sent["conversation_id"])
    data = events[-1]["data"]
    assert {k: data[k] for k in ("message_id", "seq", "author_name", "visitor_name")} == {
        "message_id": message["id"],
        "seq": message["seq"],
        "author_name": "#7",
        "visitor_name": "#7",
    }
    assert (data["conversation_id"], data["previous_author_type"]) == (
        sent["conversation_id"],
        "visitor",
    )
    assert data["seq"] > first["message"]["seq"]
    again = await visitor_writes(client, visitor, "two", client_message_id="c-2")
    assert again["message"] == message
    events = await events_of(session_factory, "chat.message.created", sent["conversation_id"])
    assert len(events) == 2


async def test_a_visitor_blocked_during_a_conversation_cannot_write_into_it(
    client, visitor, agent, feed
):
    sent = await visitor_writes(client, visitor, "hello")
    await feed(
        "visitors.visitor.blocked", visitor.account_id, {"visitor_id": str(visitor.visitor_id)}
    )
    response = await client.post(
        "/api/v1/widget/messages", headers=visitor.headers, json={"text": "spam"}
    )
    assert response.status_code == 403 and response.json()["code"] == "visitor_blocked"
    page = (
        await client.get(
            f"/api/v1/conversations/{sent['conversation_id']}/messages", headers=agent.headers
        )
    ).json()
    assert [m["text"] for m in page["items"]] == ["hello"]


async def test_bad_messages_are_clear_4xx(client, visitor, agent):
    empty = await client.post(
        "/api/v1/widget/messages", headers=visitor.headers, json={"text": "   "}
    )
    assert empty.status_code == 422 and empty.json()["code"] == "empty_message"
    unknown = await client.post(
        "/api/v1/widget/messages", headers=visitor.headers, json={"text": "x", "html": "<b>"}
    )
    assert unknown.status_code == 422 and unknown.json()["code"] == "validation_error"
    too_long = await client.post(
        "/api/v1/widget/messages", headers=visitor.headers, json={"text": "x" * 10_001}
    )
    assert too_long.status_code == 422
    no_token = await client.post("/api/v1/widget/messages", json={"text": "x"})
    assert no_token.status_code == 401
    agent_token = await client.post(
        "/api/v1/widget/messages", headers=agent.headers, json={"text": "x"}
    )
    assert agent_token.status_code == 401


async def test_text_is_stored_as_plain_text(client, visitor, agent):
    sent = await visitor_writes(client, visitor, "<script>alert(1)</script>")
    page = (
        await client.get(
            f"/api/v1/conversations/{sent['conversation_id']}/messages", headers=agent.headers
        )
    ).json()
    assert page["items"][0]["text"] == "<script>alert(1)</script>"


async def test_message_paging_both_ways(client, visitor, agent):
    sent = await visitor_writes(client, visitor, "m0")
    for i in range(1, 7):
        await visitor_writes(client, visitor, f"m{i}")
    url = f"/api/v1/conversations/{sent['conversation_id']}/messages"
    first = (await client.get(url, headers=agent.headers, params={"limit": 3})).json()
    assert [m["text"] for m in first["items"]] == ["m6", "m5", "m4"]
    older = (
        await client.get(
            url, headers=agent.headers, params={"limit": 3, "cursor": first["next_cursor"]}
        )
    ).json()
    assert [m["text"] for m in older["items"]] == ["m3", "m2", "m1"]
    since = first["items"][-1]["seq"]
    newer = (await client.get(url, headers=agent.headers, params={"since": since})).json()
    assert [m["text"] for m in newer["items"]] == ["m5", "m6"]
    bad = await client.get(url, headers=agent.headers, params={"cursor": "nope"})
    assert bad.status_code == 422 and bad.json()["code"] == "invalid_cursor"


async def test_agent_message_joins_and_counts_as_served(client, visitor, named_agent):
    sent = await visitor_writes(client, visitor)
    cid = sent["conversation_id"]
    reply = await client.post(
        f"/api/v1/conversations/{cid}/messages",
        headers=named_agent.headers,
        json={"text": "Hi, Anna here"},
    )
    assert reply.status_code == 201
    assert reply.json()["author_name"] == "Anna"
    view = (await client.get(f"/api/v1/conversations/{cid}", headers=named_agent.headers)).json()
    assert view["assignee_id"] == str(named_agent.agent_id)
    assert view["unread_count"] == 0

    widget = (await client.get("/api/v1/widget/conversation", headers=visitor.headers)).json()
    assert [m["author_type"] for m in widget["messages"]] == ["visitor", "system", "agent"]


async def test_another_accounts_conversation_is_404(client, visitor, other_account):
    sent = await visitor_writes(client, visitor)
    cid = sent["conversation_id"]
    for method, path, body in [
        ("GET", f"/api/v1/conversations/{cid}", None),
        ("GET", f"/api/v1/conversations/{cid}/messages", None),
        ("POST", f"/api/v1/conversations/{cid}/messages", {"text": "hi"}),
        ("POST", f"/api/v1/conversations/{cid}/join", None),
        ("POST", f"/api/v1/conversations/{cid}/resolve", None),
        ("POST", f"/api/v1/conversations/{cid}/reopen", None),
        ("POST", f"/api/v1/conversations/{cid}/read", None),
        ("POST", f"/api/v1/conversations/{cid}/unread", None),
        ("POST", f"/api/v1/conversations/{cid}/assign", {"agent_id": str(uuid.uuid4())}),
        ("POST", f"/api/v1/conversations/{cid}/transcript", {"email": "x@example.com"}),
        ("POST", f"/api/v1/conversations/{cid}/typing", None),
    ]:
        response = await client.request(method, path, headers=other_account.headers, json=body)
        assert response.status_code == 404, (path, response.text)
        assert response.json()["code"] == "conversation_not_found"
    listed = (await client.get("/api/v1/conversations", headers=other_account.headers)).json()
    assert listed["items"] == []
    # A visitor of another account cannot rate it either.
    stranger = make_visitor(other_account.account_id)
    rating = await client.post(
        "/api/v1/widget/rating",
        headers=stranger.headers,
        json={"conversation_id": cid, "rating": 5},
    )
    assert rating.status_code == 404


async def test_auto_assignment_round_robin(client, agent, feed):
    await feed(
        "auth.account.created",
        agent.account_id,
        {
            "name": "Shop",
            "widget_key": "wk",
            "plan": "free",
            "settings": {"general": {"auto_assign": True, "timezone": "UTC"}},
        },
    )
    first = await colleague(feed, agent.account_id, "Bob")
    second = await colleague(feed, agent.account_id, "Cid")
    await colleague(feed, agent.account_id, "Dan", status="offline")
    assignees = []
    for _ in range(4):
        sent = await visitor_writes(client, make_visitor(agent.account_id))
        view = (
            await client.get(
                f"/api/v1/conversations/{sent['conversation_id']}", headers=agent.headers
            )
        ).json()
        assignees.append(view["assignee_id"])
    online = sorted([str(first.agent_id), str(second.agent_id)])
    assert set(assignees) == set(online)
    assert assignees[0] != assignees[1] and assignees[0] == assignees[2]


async def test_bot_message_opens_a_conversation(client, visitor, feed, agent):
    await feed(
        "bots.message.requested",
        visitor.account_id,
        {"visitor_id": str(visitor.visitor_id), "text": "Need help?", "bot_id": str(uuid.uuid4())},
    )
    widget = (await client.get("/api/v1/widget/conversation", headers=visitor.headers)).json()
    assert [(m["author_type"], m["text"]) for m in widget["messages"]] == [("bot", "Need help?")]
    sent = await visitor_writes(client, visitor, "yes")
    assert sent["conversation_id"] == widget["id"]


async def test_bots_do_not_write_to_blocked_visitors(client, visitor, feed):
    await feed(
        "visitors.visitor.blocked", visitor.account_id, {"visitor_id": str(visitor.visitor_id)}
    )
    await feed(
        "bots.message.requested",
        visitor.account_id,
        {"visitor_id": str(visitor.visitor_id), "text": "Buy now!"},
    )
    response = await client.get("/api/v1/widget/conversation", headers=visitor.headers)
    assert response.status_code == 404


async def test_a_message_into_a_conversation_gone_meanwhile_is_a_404_and_stores_nothing(
    session_factory, visitor
):
    """An erasure can delete the conversation between reading it and writing the message."""
    gone = uuid.uuid4()
    async with session_factory() as session, session.begin():
        with pytest.raises(ConversationNotFound):
            await store_message(
                session,
                account_id=visitor.account_id,
                conversation_id=gone,
                visitor_id=visitor.visitor_id,
                author=Author("visitor", visitor.visitor_id, None),
                text="Still there?",
            )
    async with session_factory() as session:
        stored = await session.scalar(
            text("SELECT count(*) FROM chat.messages WHERE conversation_id = :c"), {"c": gone}
        )
    assert stored == 0
