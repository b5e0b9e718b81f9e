"""Chat through the whole system (gateway only): a visitor writes, the agent's stream sees it,
the agent joins and replies, the visitor's stream sees the reply; unread, assign, transcript
(received by the SMTP sink), resolve, Resolved tab and SmartHub stats."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage

import aiosmtplib

from parley_common.e2e import System, next_event
from parley_common.testing import eventually


async def test_chat_end_to_end(system: System, gateway, smtp_sink) -> None:
    owner = await system.signup(gateway)
    headers = owner["headers"]
    session = await system.widget_session(gateway, owner)
    visitor_token = session["visitor_token"]
    visitor = {"Authorization": f"Bearer {visitor_token}"}

    async with (
        system.agent_stream(headers) as agent_ws,
        system.visitor_stream(visitor_token) as visitor_ws,
    ):
        sent = await gateway.post(
            "/api/v1/widget/messages",
            headers=visitor,
            json={"text": "Do you ship to Norway?", "client_message_id": "w-1"},
        )
        assert sent.status_code == 201, sent.text
        cid = sent.json()["conversation_id"]
        seen = await next_event(
            agent_ws,
            lambda f: f["event"] == "chat.message.created" and f["data"]["conversation_id"] == cid,
        )
        assert seen["data"]["text"] == "Do you ship to Norway?"

        joined = await gateway.post(f"/api/v1/conversations/{cid}/join", headers=headers)
        assert joined.status_code == 200, joined.text
        assert joined.json()["assignee_id"] == owner["agent"]["id"]
        reply = await gateway.post(
            f"/api/v1/conversations/{cid}/messages",
            headers=headers,
            json={"text": "Yes, in 3 days."},
        )
        assert reply.status_code == 201, reply.text
        got = await next_event(
            visitor_ws,
            lambda f: f["event"] == "chat.message.created" and f["data"]["author_type"] == "agent",
        )
        assert got["data"]["text"] == "Yes, in 3 days."
        assert got["data"]["conversation_id"] == cid

    unread = await gateway.post(f"/api/v1/conversations/{cid}/unread", headers=headers)
    assert unread.status_code == 200 and unread.json()["unread_count"] >= 1
    listed = (
        await gateway.get("/api/v1/conversations", headers=headers, params={"unread": "true"})
    ).json()
    assert [c["id"] for c in listed["items"]] == [cid]

    bob = await system.invite(gateway, owner)

    async def bob_known() -> bool:
        resp = await gateway.post(
            f"/api/v1/conversations/{cid}/assign",
            headers=headers,
            json={"agent_id": bob["agent"]["id"]},
        )
        return resp.status_code == 200  # 404 until chat has seen auth.agent.created

    await eventually(bob_known, timeout=20, interval=0.3)
    view = (await gateway.get(f"/api/v1/conversations/{cid}", headers=headers)).json()
    assert view["assignee"]["id"] == bob["agent"]["id"]
    assert view["assignee"]["name"] == "Bob Agent"

    mailbox = f"transcript-{uuid.uuid4().hex[:8]}@example.com"
    transcript = await gateway.post(
        f"/api/v1/conversations/{cid}/transcript", headers=headers, json={"email": mailbox}
    )
    assert transcript.status_code == 200, transcript.text
    mail = (await smtp_sink.wait_for(mailbox))[0]
    assert "Do you ship to Norway?" in mail.get_body(("plain",)).get_content()

    resolved = await gateway.post(f"/api/v1/conversations/{cid}/resolve", headers=headers)
    assert resolved.status_code == 200 and resolved.json()["status"] == "resolved"
    tab = (
        await gateway.get("/api/v1/conversations", headers=headers, params={"status": "resolved"})
    ).json()
    assert [c["id"] for c in tab["items"]] == [cid]
    today = datetime.now(UTC).date()
    stats = (
        await gateway.get(
            "/api/v1/stats/conversations",
            headers=headers,
            params={"from": str(today - timedelta(days=1)), "to": str(today + timedelta(days=1))},
        )
    ).json()
    assert (stats["new"], stats["served"], stats["resolved"], stats["missed"]) == (1, 1, 1, 0)
    assert stats["median_first_response_seconds"] is not None


async def test_email_reply_round_trip_and_attachment(system: System, gateway, smtp_sink) -> None:
    """An agent answers by e-mail; the visitor's reply comes back through the inbound SMTP
    process into the conversation. A visitor's upload goes through the gateway both ways."""
    owner = await system.signup(gateway)
    headers = owner["headers"]
    session = await system.widget_session(gateway, owner)
    visitor = session["headers"]
    visitor_id = session["visitor_id"]

    upload = await gateway.post(
        "/api/v1/widget/attachments",
        headers=visitor,
        files={"file": ("invoice.html", b"<html>not inline</html>")},
    )
    assert upload.status_code == 201, upload.text
    sent = await gateway.post(
        "/api/v1/widget/messages",
        headers=visitor,
        json={"text": "See my invoice", "attachment_ids": [upload.json()["id"]]},
    )
    assert sent.status_code == 201, sent.text
    cid = sent.json()["conversation_id"]
    download = await gateway.get(upload.json()["url"], headers=headers)
    assert download.status_code == 200 and download.content == b"<html>not inline</html>"
    assert download.headers["content-disposition"].startswith("attachment")
    assert download.headers["x-content-type-options"] == "nosniff"

    email = f"jane-{uuid.uuid4().hex[:8]}@example.com"
    patched = await gateway.patch(
        f"/api/v1/visitors/{visitor_id}", headers=headers, json={"name": "Jane", "email": email}
    )
    assert patched.status_code == 200, patched.text

    async def reply_by_email() -> bool:
        resp = await gateway.post(
            f"/api/v1/conversations/{cid}/messages",
            headers=headers,
            json={"text": "Paid, thanks!", "channel": "email", "client_message_id": "e-1"},
        )
        return resp.status_code == 201  # 409 until chat has seen visitors.visitor.updated

    await eventually(reply_by_email, timeout=20, interval=0.3)
    mail = (await smtp_sink.wait_for(email))[0]
    answer = EmailMessage()
    answer["From"] = email
    answer["To"] = str(mail["Reply-To"])
    answer["Subject"] = "Re: " + str(mail["Subject"])
    answer.set_content("Great, thank you!\n\n> Paid, thanks!\n")
    await aiosmtplib.send(
        answer, hostname="127.0.0.1", port=int(system.env["PARLEY_INBOUND_MAIL_PORT"])
    )

    page = (await gateway.get(f"/api/v1/conversations/{cid}/messages", headers=headers)).json()
    newest = page["items"][0]
    assert (newest["author_type"], newest["channel"], newest["text"]) == (
        "visitor",
        "email",
        "Great, thank you!",
    )
