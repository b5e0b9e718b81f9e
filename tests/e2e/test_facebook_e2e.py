"""Facebook Messenger through the gateway: an admin connects a page, a signed Messenger message
becomes a facebook conversation on the agent's stream and list, and the agent's reply reaches
Graph (a local Graph server the chat process is restarted to use). Messenger users stored
before the visitors service knew them become visitors with `parley backfill-messenger-visitors`."""

from __future__ import annotations

import asyncio
import subprocess
import uuid
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pytest_asyncio
from websockets.asyncio.client import connect

from parley_common.e2e import ROOT, System, load_test_module, next_event
from parley_common.testing import eventually

VERIFY_TOKEN = "e2e-verify-token"
PAGE_ID, PSID, TOKEN = "104812345678901", "7100000000000042", "EAAGe2e-page-token-4321"


@pytest_asyncio.fixture
async def graph(system: System) -> AsyncIterator[Any]:
    module = load_test_module("services/chat/tests/graph_server.py")
    server = await module.GraphServer().start()
    env = {
        "PARLEY_FACEBOOK_GRAPH_URL": server.url,
        "PARLEY_FACEBOOK_APP_SECRET": server.app_secret,
        "PARLEY_FACEBOOK_VERIFY_TOKEN": VERIFY_TOKEN,
    }
    try:
        # The API takes the webhook; the worker sends replies (messages/delivery.py).
        async with system.reconfigured("chat", env), system.reconfigured("chat-worker", env):
            server.module = module
            yield server
    finally:
        await server.stop()


async def test_messenger_round_trip(system: System, gateway, graph) -> None:
    owner = await system.signup(gateway)
    headers = owner["headers"]
    graph.pages[PAGE_ID] = (TOKEN, "Olivia's shop")
    graph.profiles[PSID] = ("Jane", "Doe")

    connected = await gateway.put(
        "/api/v1/integrations/facebook",
        headers=headers,
        json={"page_id": PAGE_ID, "page_access_token": TOKEN},
    )
    assert connected.status_code == 200, connected.text
    assert connected.json()["page_name"] == "Olivia's shop"
    assert connected.json()["token_last4"] == "4321" and TOKEN not in connected.text
    assert PAGE_ID in graph.subscribed

    body = graph.module.message_event(PAGE_ID, PSID, "m_e2e_1", "Is the bakery open today?")
    ws_url = system.url.replace("http://", "ws://", 1) + "/api/v1/stream"
    async with connect(ws_url, additional_headers=headers, proxy=None, open_timeout=5) as ws:
        forged = await gateway.post(
            "/api/v1/webhooks/facebook",
            content=body,
            headers={"X-Hub-Signature-256": graph.module.sign("not-the-secret", body)},
        )
        assert forged.status_code == 403 and forged.json()["code"] == "invalid_signature"
        for _ in range(2):  # Facebook retries; one message is stored
            resp = await gateway.post(
                "/api/v1/webhooks/facebook",
                content=body,
                headers={
                    "Content-Type": "application/json",
                    "X-Hub-Signature-256": graph.module.sign(graph.app_secret, body),
                },
            )
            assert resp.status_code == 200, resp.text
        seen = await next_event(
            ws,
            lambda f: f["event"] == "chat.message.created" and f["data"]["channel"] == "facebook",
        )
        assert seen["data"]["text"] == "Is the bakery open today?"
        assert seen["data"]["visitor_name"] == "Jane Doe"
        cid = seen["data"]["conversation_id"]

    visitor_id = seen["data"]["visitor_id"]

    async def known_visitor() -> dict[str, Any] | None:
        resp = await gateway.get(f"/api/v1/visitors/{visitor_id}", headers=headers)
        return resp.json() if resp.status_code == 200 else None

    visitor = await eventually(known_visitor, timeout=15)  # a visitor in the visitors service
    assert (visitor["name"], visitor["channel"]) == ("Jane Doe", "facebook")
    assert visitor["avatar_url"] == f"https://graph.example/pics/{PSID}.jpg"
    assert visitor["facebook"] == {"page_id": PAGE_ID, "psid": PSID}

    listed = await gateway.get("/api/v1/conversations", headers=headers)
    assert listed.status_code == 200, listed.text
    [conversation] = [c for c in listed.json()["items"] if c["id"] == cid]
    assert conversation["channel"] == "facebook"
    assert conversation["visitor"]["name"] == "Jane Doe"
    messages = await gateway.get(f"/api/v1/conversations/{cid}/messages", headers=headers)
    texts = [m["text"] for m in messages.json()["items"]]
    assert texts.count("Is the bakery open today?") == 1

    reply = await gateway.post(
        f"/api/v1/conversations/{cid}/messages",
        headers=headers,
        json={"text": "Yes, until 6 pm!"},
    )
    assert reply.status_code == 201, reply.text
    assert reply.json()["channel"] == "facebook"
    # The chat worker sends it once the message is stored.
    [sent] = await eventually(lambda: graph.sent_messages(PAGE_ID))
    assert sent == {
        "recipient": {"id": PSID},
        "messaging_type": "RESPONSE",
        "message": {"text": "Yes, until 6 pm!"},
    }

    note = await gateway.post(
        f"/api/v1/conversations/{cid}/messages",
        headers=headers,
        json={"text": "Regular customer", "internal": True},
    )
    assert note.status_code == 201, note.text
    assert note.json()["internal"] is True and note.json()["channel"] == "chat"
    assert len(graph.sent_messages(PAGE_ID)) == 1  # a note never goes to Messenger

    graph.fail("POST", f"/{PAGE_ID}/messages", 400, "(#551) This person isn't available", 551)
    refused = await gateway.post(
        f"/api/v1/conversations/{cid}/messages", headers=headers, json={"text": "Hello?"}
    )
    assert refused.status_code == 201, refused.text

    async def refusal() -> dict[str, Any] | None:
        listed = await gateway.get(f"/api/v1/conversations/{cid}/messages", headers=headers)
        [message] = [m for m in listed.json()["items"] if m["id"] == refused.json()["id"]]
        delivery: dict[str, Any] = message["delivery"]
        return delivery if delivery["status"] == "failed" else None

    delivery = await eventually(refusal)  # stored, and the agent sees Messenger refused it
    assert delivery["code"] == "facebook_send_failed" and "isn't available" in delivery["detail"]

    gone = await gateway.delete("/api/v1/integrations/facebook", headers=headers)
    assert gone.status_code == 204 and PAGE_ID not in graph.subscribed


async def test_messenger_contacts_from_before_become_visitors(
    system: System, gateway, graph
) -> None:
    """`parley backfill-messenger-visitors`: a Messenger user chat stored before the visitors
    service learnt of contacts becomes a visitor with name, picture and Facebook identity; the
    command can run again."""
    owner = await system.signup(gateway)
    headers = owner["headers"]
    page_id, psid, token = "104800000000777", "7100000000000777", "EAAGe2e-old-page-token"
    graph.pages[page_id] = (token, "Old shop")
    graph.profiles[psid] = ("Olaf", "Old")
    connected = await gateway.put(
        "/api/v1/integrations/facebook",
        headers=headers,
        json={"page_id": page_id, "page_access_token": token},
    )
    assert connected.status_code == 200, connected.text
    visitor_id = uuid.uuid4()
    url = system.env["PARLEY_DATABASE_URL"].replace("postgresql+asyncpg://", "postgresql://")
    conn = await asyncpg.connect(url)
    try:  # a contact as chat stored it before it told the visitors service
        await conn.execute(
            "INSERT INTO chat.facebook_contacts (account_id, page_id, psid, visitor_id, name) "
            "VALUES ($1, $2, $3, $4, 'Olaf Old')",
            uuid.UUID(owner["account"]["id"]),
            page_id,
            psid,
            visitor_id,
        )
    finally:
        await conn.close()
    path = f"/api/v1/visitors/{visitor_id}"
    assert (await gateway.get(path, headers=headers)).status_code == 404

    env = {**system.env, "PARLEY_FACEBOOK_GRAPH_URL": graph.url}
    for _ in range(2):  # idempotent
        done = await asyncio.to_thread(
            subprocess.run,
            [str(ROOT / ".venv/bin/parley"), "backfill-messenger-visitors"],
            env=env,
            capture_output=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr.decode()[-2000:]

        async def known() -> dict[str, Any] | None:
            resp = await gateway.get(path, headers=headers)
            return resp.json() if resp.status_code == 200 else None

        visitor = await eventually(known, timeout=20)
        assert (visitor["name"], visitor["channel"]) == ("Olaf Old", "facebook")
        assert visitor["avatar_url"] == f"https://graph.example/pics/{psid}.jpg"
        assert visitor["facebook"] == {"page_id": page_id, "psid": psid}
