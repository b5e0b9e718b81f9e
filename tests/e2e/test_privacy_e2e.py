"""GDPR export through the gateway: one document with what visitors, chat and bots hold."""

from __future__ import annotations

import uuid

from parley_common.e2e import System


async def test_export_a_visitor(system: System, gateway) -> None:
    owner = await system.signup(gateway)
    other = await system.signup(gateway)
    headers = owner["headers"]
    visitor = await system.widget_session(gateway, owner, url="https://shop.example/shoes")
    vid = visitor["visitor_id"]
    email = f"jane-{uuid.uuid4().hex[:8]}@example.com"
    upload = await gateway.post(
        "/api/v1/widget/attachments",
        headers=visitor["headers"],
        files={"file": ("receipt.txt", b"order 42")},
    )
    assert upload.status_code == 201, upload.text
    sent = await gateway.post(
        "/api/v1/widget/messages",
        headers=visitor["headers"],
        json={"text": "Where are my shoes?", "attachment_ids": [upload.json()["id"]]},
    )
    assert sent.status_code == 201, sent.text
    cid = sent.json()["conversation_id"]
    patched = await gateway.patch(
        f"/api/v1/visitors/{vid}", headers=headers, json={"name": "Jane", "email": email}
    )
    assert patched.status_code == 200, patched.text
    reply = await gateway.post(
        f"/api/v1/conversations/{cid}/messages", headers=headers, json={"text": "On the way"}
    )
    assert reply.status_code == 201, reply.text

    export = await gateway.get(f"/api/v1/visitors/{vid}/export", headers=headers)
    assert export.status_code == 200, export.text
    doc = export.json()
    assert (doc["visitor"]["name"], doc["visitor"]["email"]) == ("Jane", email)
    assert [v["url"] for v in doc["page_views"]] == ["https://shop.example/shoes"]
    [conversation] = doc["conversations"]
    assert conversation["id"] == cid
    texts = [m["text"] for m in conversation["messages"]]
    assert "Where are my shoes?" in texts and "On the way" in texts
    [attachment] = doc["attachments"]
    assert attachment["name"] == "receipt.txt"
    download = await gateway.get(attachment["url"], headers=headers)
    assert download.status_code == 200 and download.content == b"order 42"
    assert doc["bot_runs"] == [] and doc["ratings"] == []

    foreign = await gateway.get(f"/api/v1/visitors/{vid}/export", headers=other["headers"])
    assert foreign.status_code == 404

    invite = await gateway.post(
        "/api/v1/agents", headers=headers, json={"email": f"bob-{uuid.uuid4().hex[:8]}@example.com"}
    )
    accepted = await gateway.post(
        "/api/v1/invitations/accept",
        json={"token": invite.json()["token"], "name": "Bob", "password": "correct horse b"},
    )
    bob = {"Authorization": f"Bearer {accepted.json()['access_token']}"}
    refused = await gateway.get(f"/api/v1/visitors/{vid}/export", headers=bob)
    assert refused.status_code == 403, refused.text
