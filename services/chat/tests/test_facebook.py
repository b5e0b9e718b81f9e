"""Facebook Messenger: connecting a page, the signed webhook, agent replies through Graph.

Graph is a real local HTTP server (graph_server.py) that checks tokens and records calls.
"""

from __future__ import annotations

import json
import random
import uuid
from typing import Any

import pytest_asyncio
from sqlalchemy import text

from parley_chat.app import app
from parley_chat.config import get_chat_settings
from parley_common.testing import eventually, make_agent

from .conftest import events_of
from .graph_server import GraphServer, message_event, sign
from .test_attachments_shortcuts import PNG, upload

VERIFY_TOKEN = "parley-verify-me"
WEBHOOK = "/api/v1/webhooks/facebook"
INTEGRATION = "/api/v1/integrations/facebook"


def graph_id() -> str:
    return str(random.randint(10**14, 10**15 - 1))


@pytest_asyncio.fixture
async def graph(monkeypatch):
    server = await GraphServer().start()
    settings = get_chat_settings()
    monkeypatch.setattr(settings, "facebook_graph_url", server.url)
    monkeypatch.setattr(settings, "facebook_app_secret", server.app_secret)
    monkeypatch.setattr(settings, "facebook_verify_token", VERIFY_TOKEN)
    yield server
    await server.stop()


@pytest_asyncio.fixture
async def client(graph, service_client):
    """The chat app started after the Graph settings point at the test server."""
    async with service_client(app) as c:
        yield c


@pytest_asyncio.fixture
async def page(graph, client, agent) -> dict[str, Any]:
    """A page connected to the `agent`'s account; its Messenger user Jane Doe."""
    page_id, token, psid = graph_id(), f"EAAG{uuid.uuid4().hex}", graph_id()
    graph.pages[page_id] = (token, "Jane's Bakery")
    graph.profiles[psid] = ("Jane", "Doe")
    resp = await client.put(
        INTEGRATION, headers=agent.headers, json={"page_id": page_id, "page_access_token": token}
    )
    assert resp.status_code == 200, resp.text
    return {"id": page_id, "token": token, "psid": psid}


async def post_webhook(client, graph, body: bytes, signature: str | None = "sign"):
    headers = {"Content-Type": "application/json"}
    if signature == "sign":
        signature = sign(graph.app_secret, body)
    if signature is not None:
        headers["X-Hub-Signature-256"] = signature
    return await client.post(WEBHOOK, content=body, headers=headers)


async def messenger_writes(client, graph, page, mid: str, text_: str = "Hi there") -> Any:
    resp = await post_webhook(client, graph, message_event(page["id"], page["psid"], mid, text_))
    assert resp.status_code == 200, resp.text
    return resp.json()


async def facebook_conversations(client, agent) -> list[dict[str, Any]]:
    resp = await client.get(
        "/api/v1/conversations", headers=agent.headers, params={"channel": "facebook"}
    )
    assert resp.status_code == 200, resp.text
    return list(resp.json()["items"])


async def messages_of(client, agent, cid) -> list[dict[str, Any]]:
    resp = await client.get(f"/api/v1/conversations/{cid}/messages", headers=agent.headers)
    assert resp.status_code == 200, resp.text
    return list(reversed(resp.json()["items"]))


async def last_delivery(client, agent, cid, status: str) -> dict[str, Any] | None:
    """The last message's delivery once it has ``status``."""
    delivery: dict[str, Any] = (await messages_of(client, agent, cid))[-1]["delivery"]
    return delivery if delivery["status"] == status else None


# --- connecting a page ------------------------------------------------------------------------
async def test_connect_show_and_disconnect_a_page(graph, client, agent):
    page_id, token = graph_id(), "EAAGsecret-token-1234"
    graph.pages[page_id] = (token, "Jane's Bakery")
    resp = await client.put(
        INTEGRATION, headers=agent.headers, json={"page_id": page_id, "page_access_token": token}
    )
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["page_id"] == page_id and body["page_name"] == "Jane's Bakery"
    assert body["status"] == "connected" and body["token_last4"] == "1234"
    assert body["connected_by"] == str(agent.agent_id)
    assert token not in resp.text
    [check] = graph.calls("GET", f"/{page_id}")
    assert check.query["fields"] == "id,name"
    assert check.headers["Authorization"] == f"Bearer {token}"
    [subscribe] = graph.calls("POST", f"/{page_id}/subscribed_apps")
    assert subscribe.query["subscribed_fields"] == "messages,messaging_postbacks"
    assert page_id in graph.subscribed

    shown = await client.get(INTEGRATION, headers=agent.headers)
    assert shown.status_code == 200 and shown.json() == body and token not in shown.text

    gone = await client.delete(INTEGRATION, headers=agent.headers)
    assert gone.status_code == 204
    assert page_id not in graph.subscribed
    missing = await client.get(INTEGRATION, headers=agent.headers)
    assert missing.status_code == 404
    assert missing.headers["content-type"] == "application/problem+json"
    assert missing.json()["code"] == "facebook_not_connected"
    again = await client.delete(INTEGRATION, headers=agent.headers)
    assert again.status_code == 404 and again.json()["code"] == "facebook_not_connected"


async def test_connecting_another_page_replaces_and_unsubscribes_the_first(graph, client, agent):
    first, second = graph_id(), graph_id()
    graph.pages[first] = ("EAAGfirst-token", "First")
    graph.pages[second] = ("EAAGsecond-token", "Second")
    for page_id, (token, _) in ((first, graph.pages[first]), (second, graph.pages[second])):
        resp = await client.put(
            INTEGRATION,
            headers=agent.headers,
            json={"page_id": page_id, "page_access_token": token},
        )
        assert resp.status_code == 200, resp.text
    assert (await client.get(INTEGRATION, headers=agent.headers)).json()["page_id"] == second
    assert graph.subscribed == {second}


async def test_only_admins_connect_and_disconnect(graph, client, agent):
    member = make_agent("agent", agent.account_id)
    page_id = graph_id()
    graph.pages[page_id] = ("EAAGmember-token", "P")
    resp = await client.put(
        INTEGRATION,
        headers=member.headers,
        json={"page_id": page_id, "page_access_token": "EAAGmember-token"},
    )
    assert resp.status_code == 403 and resp.json()["code"] == "forbidden"
    assert (await client.delete(INTEGRATION, headers=member.headers)).status_code == 403
    assert graph.requests == []


async def test_refused_token_or_unreachable_graph_stores_nothing(graph, client, agent):
    page_id = graph_id()
    graph.pages[page_id] = ("EAAGright-token", "P")
    wrong = await client.put(
        INTEGRATION,
        headers=agent.headers,
        json={"page_id": page_id, "page_access_token": "EAAGwrong-token"},
    )
    assert wrong.status_code == 422 and wrong.json()["code"] == "facebook_page_invalid"
    assert "Invalid OAuth access token" in wrong.json()["detail"]

    graph.fail("POST", f"/{page_id}/subscribed_apps", 500, "An unknown error occurred", 1)
    down = await client.put(
        INTEGRATION,
        headers=agent.headers,
        json={"page_id": page_id, "page_access_token": "EAAGright-token"},
    )
    assert down.status_code == 502 and down.json()["code"] == "facebook_unavailable"
    assert (await client.get(INTEGRATION, headers=agent.headers)).status_code == 404


async def test_connect_validates_its_body(graph, client, agent):
    for body in (
        {"page_id": "1/../../me", "page_access_token": "EAAGtoken-xyz"},
        {"page_id": "123", "page_access_token": "short"},
        {"page_id": "123", "page_access_token": "EAAGtoken-xyz", "extra": True},
        {"page_id": "123"},
    ):
        resp = await client.put(INTEGRATION, headers=agent.headers, json=body)
        assert resp.status_code == 422, body
        assert resp.json()["code"] == "validation_error"
    assert graph.requests == []


async def test_a_page_belongs_to_one_account(graph, client, agent, other_account, page):
    taken = await client.put(
        INTEGRATION,
        headers=other_account.headers,
        json={"page_id": page["id"], "page_access_token": page["token"]},
    )
    assert taken.status_code == 409 and taken.json()["code"] == "facebook_page_taken"
    assert (await client.get(INTEGRATION, headers=other_account.headers)).status_code == 404
    assert (await client.delete(INTEGRATION, headers=other_account.headers)).status_code == 404
    assert (await client.get(INTEGRATION, headers=agent.headers)).json()["page_id"] == page["id"]
    # Reconnecting with a fresh token is the same account's update, not a conflict.
    graph.pages[page["id"]] = ("EAAGrotated-9999", "Jane's Bakery")
    again = await client.put(
        INTEGRATION,
        headers=agent.headers,
        json={"page_id": page["id"], "page_access_token": "EAAGrotated-9999"},
    )
    assert again.status_code == 200 and again.json()["token_last4"] == "9999"


# --- the webhook --------------------------------------------------------------------------
async def test_verify_challenge(graph, client):
    params = {"hub.mode": "subscribe", "hub.verify_token": VERIFY_TOKEN, "hub.challenge": "1158"}
    ok = await client.get(WEBHOOK, params=params)
    assert ok.status_code == 200 and ok.text == "1158"
    assert ok.headers["content-type"].startswith("text/plain")
    for bad in ({**params, "hub.verify_token": "nope"}, {**params, "hub.mode": "unsubscribe"}):
        resp = await client.get(WEBHOOK, params=bad)
        assert resp.status_code == 403 and resp.json()["code"] == "verification_failed"
        assert "1158" not in resp.text


async def test_unconfigured_verify_token_refuses_everything(graph, client, monkeypatch):
    monkeypatch.setattr(get_chat_settings(), "facebook_verify_token", "")
    resp = await client.get(
        WEBHOOK, params={"hub.mode": "subscribe", "hub.verify_token": "", "hub.challenge": "1"}
    )
    assert resp.status_code == 403


async def test_a_message_opens_a_facebook_conversation(graph, client, agent, page, session_factory):
    result = await messenger_writes(client, graph, page, "m_first", "Do you bake on Sundays?")
    assert result == {"received": True, "stored": 1}
    [conversation] = await facebook_conversations(client, agent)
    assert conversation["channel"] == "facebook" and conversation["status"] == "open"
    assert conversation["visitor"]["name"] == "Jane Doe"
    assert conversation["last_message"]["text"] == "Do you bake on Sundays?"
    assert conversation["unread_count"] == 1
    [message] = await messages_of(client, agent, conversation["id"])
    assert (message["author_type"], message["author_name"], message["channel"]) == (
        "visitor",
        "Jane Doe",
        "facebook",
    )
    assert message["text"] == "Do you bake on Sundays?"
    [created] = await events_of(session_factory, "chat.conversation.created", conversation["id"])
    assert created["data"]["channel"] == "facebook"
    [event] = await events_of(session_factory, "chat.message.created", conversation["id"])
    assert event["data"]["text"] == "Do you bake on Sundays?"
    assert event["data"]["visitor_name"] == "Jane Doe"

    await messenger_writes(client, graph, page, "m_second", "And on Mondays?")
    again = await facebook_conversations(client, agent)
    assert [c["id"] for c in again] == [conversation["id"]]
    texts = [m["text"] for m in await messages_of(client, agent, conversation["id"])]
    assert texts == ["Do you bake on Sundays?", "And on Mondays?"]
    assert len(graph.calls("GET", f"/{page['psid']}")) == 1  # the name is fetched once


async def test_a_retried_delivery_stores_one_message(graph, client, agent, page):
    body = message_event(page["id"], page["psid"], "m_retried", "Only once please")
    first = await post_webhook(client, graph, body)
    second = await post_webhook(client, graph, body)
    assert first.json()["stored"] == 1 and second.status_code == 200
    assert second.json()["stored"] == 0
    [conversation] = await facebook_conversations(client, agent)
    texts = [m["text"] for m in await messages_of(client, agent, conversation["id"])]
    assert texts == ["Only once please"]

    await client.post(f"/api/v1/conversations/{conversation['id']}/resolve", headers=agent.headers)
    late = await post_webhook(client, graph, body)  # a retry after the resolve opens nothing
    assert late.json()["stored"] == 0
    assert [c["status"] for c in await facebook_conversations(client, agent)] == ["resolved"]

    # A new message reopens the conversation, as in every channel (messages/append.py).
    await messenger_writes(client, graph, page, "m_after", "Me again")
    assert [c["status"] for c in await facebook_conversations(client, agent)] == ["open"]


async def test_bad_signatures_are_refused_and_store_nothing(graph, client, agent, page):
    body = message_event(page["id"], page["psid"], "m_forged", "forged")
    for signature in (None, "sha256=" + "0" * 64, sign("another-secret", body), "md5=abc"):
        resp = await post_webhook(client, graph, body, signature)
        assert resp.status_code == 403, signature
        assert resp.headers["content-type"] == "application/problem+json"
        assert resp.json()["code"] == "invalid_signature"
    tampered = await post_webhook(
        client, graph, body.replace(b"forged", b"FORGED"), sign(graph.app_secret, body)
    )
    assert tampered.status_code == 403
    assert await facebook_conversations(client, agent) == []


async def test_echoes_receipts_and_unknown_pages_are_ignored(graph, client, agent, page):
    base = json.loads(message_event(page["id"], page["psid"], "m_x", "x"))
    events = [
        {
            "sender": {"id": page["id"]},
            "recipient": {"id": page["psid"]},
            "message": {"mid": "m_echo", "text": "from the page", "is_echo": True},
        },
        {
            "sender": {"id": page["psid"]},
            "recipient": {"id": page["id"]},
            "delivery": {"mids": ["m_echo"], "watermark": 1},
        },
        {"sender": {"id": page["psid"]}, "recipient": {"id": page["id"]}, "read": {"watermark": 1}},
        {
            "sender": {"id": page["psid"]},
            "recipient": {"id": graph_id()},
            "message": {"mid": "m_other_page", "text": "to a page nobody connected"},
        },
    ]
    base["entry"][0]["messaging"] = events
    body = json.dumps(base).encode()
    resp = await post_webhook(client, graph, body)
    assert resp.status_code == 200 and resp.json()["stored"] == 0
    assert await facebook_conversations(client, agent) == []

    not_json = await post_webhook(client, graph, b"{not json")
    assert not_json.status_code == 422 and not_json.json()["code"] == "invalid_payload"


async def test_attachments_and_postbacks_become_text(graph, client, agent, page):
    url = "https://scontent.example/photo.jpg"
    body = message_event(
        page["id"],
        page["psid"],
        "m_photo",
        None,
        attachments=[{"type": "image", "payload": {"url": url}}],
    )
    assert (await post_webhook(client, graph, body)).json()["stored"] == 1
    postback = json.loads(message_event(page["id"], page["psid"], "m_unused", "x"))
    postback["entry"][0]["messaging"][0].pop("message")
    postback["entry"][0]["messaging"][0]["postback"] = {
        "mid": "m_postback",
        "title": "Get Started",
        "payload": "GET_STARTED",
    }
    resp = await post_webhook(client, graph, json.dumps(postback).encode())
    assert resp.json()["stored"] == 1
    [conversation] = await facebook_conversations(client, agent)
    texts = [m["text"] for m in await messages_of(client, agent, conversation["id"])]
    assert texts == [f"[image] {url}", "Get Started"]


# --- agent replies ------------------------------------------------------------------------
async def test_an_agent_reply_goes_to_messenger(graph, client, agent, page, chat_worker):
    await messenger_writes(client, graph, page, "m_q", "Are you open?")
    [conversation] = await facebook_conversations(client, agent)
    resp = await client.post(
        f"/api/v1/conversations/{conversation['id']}/messages",
        headers=agent.headers,
        json={"text": "Yes, until 6 pm."},
    )
    assert resp.status_code == 201, resp.text
    assert resp.json()["channel"] == "facebook"
    # Sent by the chat worker after the message was stored (messages/delivery.py).
    [sent] = await eventually(lambda: graph.calls("POST", f"/{page['id']}/messages"))
    assert sent.json == {
        "recipient": {"id": page["psid"]},
        "messaging_type": "RESPONSE",
        "message": {"text": "Yes, until 6 pm."},
    }
    assert sent.headers["Authorization"] == f"Bearer {page['token']}"
    assert await eventually(lambda: last_delivery(client, agent, conversation["id"], "sent"))

    long = "x" * 4500
    resp = await client.post(
        f"/api/v1/conversations/{conversation['id']}/messages",
        headers=agent.headers,
        json={"text": long},
    )
    assert resp.status_code == 201
    await eventually(lambda: len(graph.sent_messages(page["id"])) == 4)
    parts = [m["message"]["text"] for m in graph.sent_messages(page["id"])[1:]]
    assert [len(p) for p in parts] == [2000, 2000, 500] and "".join(parts) == long


async def test_a_refused_reply_is_stored_as_failed(graph, client, agent, page, chat_worker):
    await messenger_writes(client, graph, page, "m_late", "Hello?")
    [conversation] = await facebook_conversations(client, agent)
    graph.fail(
        "POST",
        f"/{page['id']}/messages",
        400,
        "(#10) This message is sent outside of allowed window.",
        10,
    )
    resp = await client.post(
        f"/api/v1/conversations/{conversation['id']}/messages",
        headers=agent.headers,
        json={"text": "Sorry for the wait"},
    )
    assert resp.status_code == 201 and resp.json()["delivery"]["status"] == "pending"
    delivery = await eventually(lambda: last_delivery(client, agent, conversation["id"], "failed"))
    assert delivery["code"] == "facebook_send_failed"
    assert "outside of allowed window" in delivery["detail"]


async def test_attachments_cannot_be_sent_to_messenger(graph, client, agent, page):
    await messenger_writes(client, graph, page, "m_att", "Send me a photo")
    [conversation] = await facebook_conversations(client, agent)
    uploaded = await upload(client, agent.headers, "photo.png", PNG)
    assert uploaded.status_code == 201, uploaded.text
    resp = await client.post(
        f"/api/v1/conversations/{conversation['id']}/messages",
        headers=agent.headers,
        json={"text": "here", "attachment_ids": [uploaded.json()["id"]]},
    )
    assert resp.status_code == 422 and resp.json()["code"] == "facebook_attachments_unsupported"
    assert graph.sent_messages(page["id"]) == []


async def test_a_reply_after_disconnecting_is_refused(graph, client, agent, page):
    await messenger_writes(client, graph, page, "m_bye", "Bye")
    [conversation] = await facebook_conversations(client, agent)
    assert (await client.delete(INTEGRATION, headers=agent.headers)).status_code == 204
    resp = await client.post(
        f"/api/v1/conversations/{conversation['id']}/messages",
        headers=agent.headers,
        json={"text": "Still there?"},
    )
    assert resp.status_code == 409 and resp.json()["code"] == "facebook_page_disconnected"
    assert graph.sent_messages(page["id"]) == []
    # With the page gone, its Messenger users' messages are not taken any more.
    late = await messenger_writes(client, graph, page, "m_late_after", "Hello?")
    assert late["stored"] == 0


async def test_another_accounts_facebook_conversation_is_404(
    graph, client, agent, other_account, page, engine
):
    await messenger_writes(client, graph, page, "m_private", "Private")
    [conversation] = await facebook_conversations(client, agent)
    cid = conversation["id"]
    assert await facebook_conversations(client, other_account) == []
    view = await client.get(f"/api/v1/conversations/{cid}", headers=other_account.headers)
    assert view.status_code == 404
    reply = await client.post(
        f"/api/v1/conversations/{cid}/messages",
        headers=other_account.headers,
        json={"text": "hijack"},
    )
    assert reply.status_code == 404 and reply.json()["code"] == "conversation_not_found"
    assert graph.sent_messages(page["id"]) == []
    async with engine.connect() as conn:
        owners = await conn.execute(
            text("SELECT DISTINCT account_id FROM chat.facebook_contacts WHERE page_id = :p"),
            {"p": page["id"]},
        )
        assert [row.account_id for row in owners] == [agent.account_id]


async def test_unreachable_graph_is_502_without_our_internals(graph, client, agent):
    await graph.stop()
    graph._runner = None  # stopped here; the fixture has nothing left to stop
    down = await client.put(
        INTEGRATION,
        headers=agent.headers,
        json={"page_id": graph_id(), "page_access_token": "EAAGright-token"},
    )
    assert down.status_code == 502 and down.json()["code"] == "facebook_unavailable"
    assert "Error" not in down.json()["detail"]  # no exception class (httpx.ConnectError)
