"""Internal notes through the gateway: agents see them (list, stream); the visitor never does
(widget stream, widget conversation), and neither do transcripts or e-mail replies.
(Messenger: test_facebook_e2e; notifications: services/notify/tests/test_internal_notes.)"""

from __future__ import annotations

import uuid

from parley_common.e2e import System, next_event
from parley_common.testing import eventually

NOTE = "Internal: refund him quietly, VIP"


async def test_a_note_reaches_agents_only(system: System, gateway, smtp_sink) -> None:
    owner = await system.signup(gateway)
    headers = owner["headers"]
    session = await system.widget_session(gateway, owner)
    visitor_token, visitor, visitor_id = (
        session["visitor_token"],
        session["headers"],
        session["visitor_id"],
    )

    async with (
        system.agent_stream(headers) as agent_ws,
        system.visitor_stream(visitor_token) as visitor_ws,
    ):
        sent = await gateway.post(
            "/api/v1/widget/messages", headers=visitor, json={"text": "My parcel is late"}
        )
        assert sent.status_code == 201, sent.text
        cid = sent.json()["conversation_id"]

        note = await gateway.post(
            f"/api/v1/conversations/{cid}/messages",
            headers=headers,
            json={"text": NOTE, "internal": True},
        )
        assert note.status_code == 201, note.text
        assert note.json()["internal"] is True and note.json()["channel"] == "chat"
        seen = await next_event(
            agent_ws,
            lambda f: f["event"] == "chat.message.created" and f["data"]["author_type"] == "agent",
        )
        assert seen["data"]["text"] == NOTE and seen["data"]["internal"] is True

        reply = await gateway.post(
            f"/api/v1/conversations/{cid}/messages", headers=headers, json={"text": "On its way!"}
        )
        assert reply.status_code == 201, reply.text
        # The first agent message (or join notice) the visitor's stream carries is after the
        # note in seq order: had the note leaked, it would come first.
        got = await next_event(
            visitor_ws,
            lambda f: (
                f["event"] == "chat.message.created"
                and f["data"]["author_type"] in ("agent", "system")
            ),
        )
        assert got["data"]["text"] != NOTE
        got = await next_event(
            visitor_ws,
            lambda f: f["event"] == "chat.message.created" and f["data"]["author_type"] == "agent",
        )
        assert got["data"]["text"] == "On its way!"

    listed = (await gateway.get(f"/api/v1/conversations/{cid}/messages", headers=headers)).json()
    notes = [m for m in listed["items"] if m["internal"]]
    assert [m["text"] for m in notes] == [NOTE]

    widget = await gateway.get("/api/v1/widget/conversation", headers=visitor)
    assert widget.status_code == 200, widget.text
    texts = [m["text"] for m in widget.json()["messages"]]
    assert "On its way!" in texts and NOTE not in widget.text

    mailbox = f"transcript-{uuid.uuid4().hex[:8]}@example.com"
    transcript = await gateway.post(
        f"/api/v1/conversations/{cid}/transcript", headers=headers, json={"email": mailbox}
    )
    assert transcript.status_code == 200, transcript.text
    body = (await smtp_sink.wait_for(mailbox))[0].get_body(("plain",)).get_content()
    assert "On its way!" in body and NOTE not in body

    email = f"jane-{uuid.uuid4().hex[:8]}@example.com"
    patched = await gateway.patch(
        f"/api/v1/visitors/{visitor_id}", headers=headers, json={"email": email}
    )
    assert patched.status_code == 200, patched.text
    mailed_note = await gateway.post(
        f"/api/v1/conversations/{cid}/messages",
        headers=headers,
        json={"text": NOTE, "internal": True, "channel": "email"},
    )
    assert mailed_note.status_code == 422, mailed_note.text

    async def reply_by_email() -> bool:
        resp = await gateway.post(
            f"/api/v1/conversations/{cid}/messages",
            headers=headers,
            json={"text": "Tracking sent", "channel": "email", "client_message_id": "n-1"},
        )
        return resp.status_code == 201  # 409 until chat has seen visitors.visitor.updated

    await eventually(reply_by_email, timeout=20, interval=0.3)
    mails = await smtp_sink.wait_for(email)
    assert all(NOTE not in m.get_body(("plain",)).get_content() for m in mails)
    after = (await gateway.get(f"/api/v1/conversations/{cid}/messages", headers=headers)).json()
    assert [m["text"] for m in after["items"]].count(NOTE) == 1
