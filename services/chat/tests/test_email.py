"""Transcripts, e-mail replies and the inbound SMTP round trip (real SMTP both ways)."""

from __future__ import annotations

import uuid
from email.message import EmailMessage

import aiosmtplib
import pytest
import pytest_asyncio

from parley_chat.config import ChatSettings, get_chat_settings
from parley_chat.email import mailer
from parley_chat.email.inbound import start_server, strip_quoted
from parley_common.testing import free_port

from .conftest import events_of, visitor_writes


@pytest_asyncio.fixture
async def inbound(session_factory):
    settings = ChatSettings(inbound_mail_port=free_port())
    server = await start_server(settings, session_factory)
    yield settings
    server.close()
    await server.wait_closed()


async def test_transcript_is_mailed_as_text_and_html(client, visitor, named_agent, smtp_sink):
    cid = (await visitor_writes(client, visitor, "<b>bold?</b>"))["conversation_id"]
    await client.post(
        f"/api/v1/conversations/{cid}/messages",
        headers=named_agent.headers,
        json={"text": "Plain text only"},
    )
    address = f"t-{uuid.uuid4().hex[:8]}@example.com"
    sent = await client.post(
        f"/api/v1/conversations/{cid}/transcript",
        headers=named_agent.headers,
        json={"email": address},
    )
    assert sent.status_code == 200 and sent.json()["sent_to"] == address
    mail = (await smtp_sink.wait_for(address))[0]
    plain = mail.get_body(("plain",)).get_content()
    html = mail.get_body(("html",)).get_content()
    assert "<b>bold?</b>" in plain and "Anna: Plain text only" in plain
    assert "&lt;b&gt;bold?&lt;/b&gt;" in html and "<b>bold?</b>" not in html
    bad = await client.post(
        f"/api/v1/conversations/{cid}/transcript",
        headers=named_agent.headers,
        json={"email": "nope"},
    )
    assert bad.status_code == 422


async def test_transcripts_are_rate_limited_per_account(
    client, visitor, agent, smtp_sink, monkeypatch
):
    monkeypatch.setattr(get_chat_settings(), "transcripts_per_hour", 2)
    cid = (await visitor_writes(client, visitor))["conversation_id"]
    codes = []
    for _ in range(3):
        response = await client.post(
            f"/api/v1/conversations/{cid}/transcript",
            headers=agent.headers,
            json={"email": f"r-{uuid.uuid4().hex[:6]}@example.com"},
        )
        codes.append(response.status_code)
    assert codes == [200, 200, 429]
    assert "retry-after" in response.headers and response.json()["code"] == "rate_limited"


async def test_email_reply_needs_the_visitors_address(client, visitor, named_agent, engine):
    cid = (await visitor_writes(client, visitor))["conversation_id"]
    response = await client.post(
        f"/api/v1/conversations/{cid}/messages",
        headers=named_agent.headers,
        json={"text": "by mail", "channel": "email"},
    )
    assert response.status_code == 409 and response.json()["code"] == "visitor_has_no_email"
    page = (
        await client.get(f"/api/v1/conversations/{cid}/messages", headers=named_agent.headers)
    ).json()
    assert "by mail" not in [m["text"] for m in page["items"]]


async def test_email_round_trip(
    client, visitor, named_agent, feed, smtp_sink, inbound, session_factory, chat_worker
):
    email = f"jane-{uuid.uuid4().hex[:8]}@example.com"
    await feed(
        "visitors.visitor.updated",
        visitor.account_id,
        {"visitor_id": str(visitor.visitor_id), "name": "Jane", "email": email},
    )
    cid = (await visitor_writes(client, visitor, "Please e-mail me"))["conversation_id"]
    reply = await client.post(
        f"/api/v1/conversations/{cid}/messages",
        headers=named_agent.headers,
        json={"text": "Here is the answer.", "channel": "email"},
    )
    assert reply.status_code == 201 and reply.json()["channel"] == "email"
    mail = (await smtp_sink.wait_for(email))[0]
    reply_to = str(mail["Reply-To"])
    assert mailer.parse_reply_address(inbound, reply_to) == uuid.UUID(cid)
    assert "Here is the answer." in mail.get_body(("plain",)).get_content()

    await client.post(f"/api/v1/conversations/{cid}/resolve", headers=named_agent.headers)

    answer = EmailMessage()
    answer["From"] = email
    answer["To"] = reply_to
    answer["Subject"] = "Re: your conversation"
    answer["Message-ID"] = f"<{uuid.uuid4().hex}@example.com>"
    answer.set_content(
        "Thanks, that works!\n\nOn Mon, 1 Jan 2026, Anna wrote:\n> Here is the answer.\n"
    )
    await aiosmtplib.send(answer, hostname="127.0.0.1", port=inbound.inbound_mail_port)
    await aiosmtplib.send(answer, hostname="127.0.0.1", port=inbound.inbound_mail_port)

    view = (await client.get(f"/api/v1/conversations/{cid}", headers=named_agent.headers)).json()
    assert view["status"] == "open"
    page = (
        await client.get(f"/api/v1/conversations/{cid}/messages", headers=named_agent.headers)
    ).json()
    latest = page["items"][0]
    assert (latest["author_type"], latest["channel"], latest["text"]) == (
        "visitor",
        "email",
        "Thanks, that works!",
    )
    assert [m["text"] for m in page["items"]].count("Thanks, that works!") == 1
    assert len(await events_of(session_factory, "chat.conversation.reopened", cid)) == 1


async def test_inbound_refuses_unknown_or_forged_addresses(inbound):
    forged = f"c-{uuid.uuid4().hex}-{'0' * 20}@{inbound.inbound_mail_domain}"
    for address in (forged, "someone@example.com"):
        message = EmailMessage()
        message["From"] = "x@example.com"
        message["To"] = address
        message.set_content("hi")
        with pytest.raises(aiosmtplib.SMTPRecipientsRefused):
            await aiosmtplib.send(message, hostname="127.0.0.1", port=inbound.inbound_mail_port)


def test_strip_quoted_history():
    assert strip_quoted("New text\n\n> old\n> older") == "New text"
    assert strip_quoted("Yes\r\n-----Original Message-----\r\nFrom: a") == "Yes"
    assert strip_quoted("Sure\n--\nJane\nCEO") == "Sure"
    assert strip_quoted("Line 1\nLine 2") == "Line 1\nLine 2"
