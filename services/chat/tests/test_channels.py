"""Every way a visitor's words arrive follows the same rules (messages/append.py): the widget,
the contact form, a chatbot, an e-mail reply (real SMTP) and Messenger (the local Graph server).

- a blocked visitor's message is refused and nothing is stored;
- a message into a resolved conversation reopens it;
- a conversation the account assigns at once gets the "Conversation assigned to" notice;
- one chat.message.created event per message, a retry of the same message adds none.
"""

# ruff: noqa: F811 (the fixtures of test_facebook are imported, then requested by name)
from __future__ import annotations

import uuid
from email.message import EmailMessage
from typing import Any

import aiosmtplib
import pytest
from sqlalchemy import text

from parley_chat.email import mailer

from .conftest import Feed, colleague, events_of, make_visitor
from .test_email import inbound  # noqa: F401 (fixture)
from .test_facebook import (  # noqa: F401 (fixtures)
    client,
    graph,
    messenger_writes,
    page,
)


class Channel:
    """Sends a visitor-side message the way its channel does; ``None`` means it was refused
    where the sender can see it (an HTTP 4xx), else the channel's own answer."""

    def __init__(self, name: str, client: Any, agent: Any, feed: Feed, graph: Any, page: Any):
        self.name, self.client, self.agent, self.feed = name, client, agent, feed
        self.graph, self.page = graph, page
        self.widget_visitor = make_visitor(agent.account_id)
        self.visitor_id: uuid.UUID | None = (
            None if name == "messenger" else self.widget_visitor.visitor_id
        )
        self.conversation_id: str | None = None
        self.inbound: Any = None

    async def send(self, text_: str, key: str | None = None) -> int | None:
        key = key or uuid.uuid4().hex
        if self.name in ("widget", "contact_form"):
            path, body = (
                ("/api/v1/widget/messages", {"text": text_, "client_message_id": key})
                if self.name == "widget"
                else ("/api/v1/widget/contact-form", {"text": text_, "email": "j@example.com"})
            )
            response = await self.client.post(path, headers=self.widget_visitor.headers, json=body)
            return response.status_code
        if self.name == "bot":
            data = {"visitor_id": str(self.visitor_id), "text": text_, "bot_id": str(uuid.uuid4())}
            await self.feed("bots.message.requested", self.agent.account_id, data)
            return None
        if self.name == "email":
            return await self._mail(text_, key)
        stored = await messenger_writes(self.client, self.graph, self.page, f"m_{key}", text_)
        if self.visitor_id is None:
            [conversation] = await self.conversations()
            self.visitor_id = uuid.UUID(conversation["visitor_id"])
        return int(stored["stored"])

    async def start(self) -> str:
        """The visitor's first conversation, started through the channel (an e-mail reply
        answers a conversation the widget started)."""
        if self.name == "email":
            await self.client.post(
                "/api/v1/widget/messages",
                headers=self.widget_visitor.headers,
                json={"text": "Please answer by e-mail"},
            )
        else:
            await self.send("first")
        [conversation] = await self.conversations()
        self.conversation_id = conversation["id"]
        return str(conversation["id"])

    async def _mail(self, text_: str, key: str) -> int:
        mail = EmailMessage()
        mail["From"] = "jane@example.com"
        mail["To"] = mailer.reply_address(self.inbound, uuid.UUID(self.conversation_id))
        mail["Subject"] = "Re: your conversation"
        mail["Message-ID"] = f"<{key}@example.com>"
        mail.set_content(text_)
        errors, _ = await aiosmtplib.send(
            mail, hostname="127.0.0.1", port=self.inbound.inbound_mail_port
        )
        return 250 if not errors else 550

    async def conversations(self) -> list[dict[str, Any]]:
        params = (
            {"visitor_id": str(self.visitor_id)} if self.visitor_id else {"channel": "facebook"}
        )
        response = await self.client.get(
            "/api/v1/conversations", headers=self.agent.headers, params=params
        )
        assert response.status_code == 200, response.text
        return list(response.json()["items"])

    async def texts(self) -> list[str]:
        response = await self.client.get(
            f"/api/v1/conversations/{self.conversation_id}/messages", headers=self.agent.headers
        )
        return [m["text"] for m in reversed(response.json()["items"])]

    async def block(self, blocked: bool) -> None:
        event = "visitors.visitor.blocked" if blocked else "visitors.visitor.unblocked"
        await self.feed(event, self.agent.account_id, {"visitor_id": str(self.visitor_id)})


CHANNELS = ["widget", "contact_form", "bot", "email", "messenger"]
REFUSED_OVER_HTTP = {"widget": 403, "contact_form": 403, "email": 250, "messenger": 0}


@pytest.fixture
def channel(request, client, agent, feed, graph, page, inbound) -> Channel:
    made = Channel(request.param, client, agent, feed, graph, page)
    made.inbound = inbound
    return made


async def message_events(session_factory, text_: str) -> list[dict[str, Any]]:
    async with session_factory() as session:
        rows = await session.execute(
            text(
                "SELECT body FROM chat.outbox WHERE type = 'chat.message.created' "
                "AND body->'data'->>'text' = :t"
            ),
            {"t": text_},
        )
        return [row.body for row in rows]


@pytest.mark.parametrize("channel", CHANNELS, indirect=True)
async def test_every_channel_follows_the_same_rules(channel, client, agent, session_factory):
    cid = await channel.start()
    said = f"hello {uuid.uuid4().hex[:8]}"
    key = uuid.uuid4().hex
    await channel.send(said, key)
    assert (await channel.texts())[-1] == said
    if channel.name in ("widget", "email", "messenger"):  # those that carry a message id
        await channel.send(said, key)  # a retry
        assert (await channel.texts()).count(said) == 1
    assert len(await message_events(session_factory, said)) == 1

    # A blocked visitor is refused: nothing stored, no event.
    await channel.block(True)
    refused = f"blocked {uuid.uuid4().hex[:8]}"
    answer = await channel.send(refused)
    if channel.name in REFUSED_OVER_HTTP:
        assert answer == REFUSED_OVER_HTTP[channel.name]
    assert refused not in await channel.texts()
    assert await message_events(session_factory, refused) == []
    await channel.block(False)

    # A message into the resolved conversation reopens it.
    resolved = await client.post(f"/api/v1/conversations/{cid}/resolve", headers=agent.headers)
    assert resolved.status_code == 200, resolved.text
    again = f"again {uuid.uuid4().hex[:8]}"
    await channel.send(again)
    [conversation] = await channel.conversations()
    assert (conversation["id"], conversation["status"]) == (cid, "open")
    assert (await channel.texts())[-1] == again
    reopened = await events_of(session_factory, "chat.conversation.reopened", cid)
    assert len(reopened) == 1
    assert len(await message_events(session_factory, again)) == 1


@pytest.mark.parametrize("channel", ["widget", "contact_form", "bot", "messenger"], indirect=True)
async def test_a_conversation_assigned_at_once_says_so(channel, agent, feed):
    """(An e-mail reply never opens a conversation: it answers one.)"""
    settings = {"general": {"auto_assign": True, "timezone": "UTC"}}
    await feed(
        "auth.account.created",
        agent.account_id,
        {"name": "Shop", "widget_key": "wk", "plan": "free", "settings": settings},
    )
    await colleague(feed, agent.account_id, "Bob")
    await channel.start()
    texts = await channel.texts()
    assert "Conversation assigned to Bob" in texts
