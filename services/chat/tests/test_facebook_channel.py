"""Messenger users are visitors (chat.contact.created, once, with name and picture), and
Messenger gets everything: a chatbot's message in a Messenger conversation is sent to
Messenger (the local Graph server), and stays for the agents when Facebook refuses it."""

# ruff: noqa: F811 (the fixtures of test_facebook are imported, then requested by name)
from __future__ import annotations

import uuid

from sqlalchemy import text

from parley_common.testing import eventually

from .test_facebook import (  # noqa: F401 (fixtures)
    client,
    facebook_conversations,
    graph,
    last_delivery,
    messages_of,
    messenger_writes,
    page,
)


async def test_a_bot_message_goes_to_messenger(graph, client, agent, page, feed, chat_worker):
    await messenger_writes(client, graph, page, "m_bot", "Do you deliver?")
    [conversation] = await facebook_conversations(client, agent)
    bot = {"visitor_id": conversation["visitor_id"], "conversation_id": conversation["id"]}
    await feed(
        "bots.message.requested",
        agent.account_id,
        {**bot, "text": "Our bot says: yes, in town.", "bot_id": str(uuid.uuid4())},
    )
    [sent] = await eventually(lambda: graph.sent_messages(page["id"]))
    assert sent == {
        "recipient": {"id": page["psid"]},
        "messaging_type": "RESPONSE",
        "message": {"text": "Our bot says: yes, in town."},
    }
    last = (await messages_of(client, agent, conversation["id"]))[-1]
    assert (last["author_type"], last["channel"]) == ("bot", "facebook")

    graph.fail("POST", f"/{page['id']}/messages", 400, "(#551) unavailable", 551)
    await feed("bots.message.requested", agent.account_id, {**bot, "text": "Still there?"})
    # Kept for the agents though Messenger refused it.
    assert await eventually(lambda: last_delivery(client, agent, conversation["id"], "failed"))
    texts = [m["text"] for m in await messages_of(client, agent, conversation["id"])]
    assert texts[-1] == "Still there?"


async def test_a_messenger_user_becomes_a_visitor_once(
    graph,
    client,
    agent,
    page,
    session_factory,
):
    await messenger_writes(client, graph, page, "m_v1", "Hello")
    await messenger_writes(client, graph, page, "m_v2", "Hello again")
    async with session_factory() as session:
        rows = (
            await session.execute(
                text("SELECT body FROM chat.outbox WHERE type = 'chat.contact.created'")
            )
        ).all()
    mine = [r.body["data"] for r in rows if r.body["account_id"] == str(agent.account_id)]
    [contact] = mine
    [conversation] = await facebook_conversations(client, agent)
    assert contact["visitor_id"] == conversation["visitor_id"]
    assert (contact["name"], contact["channel"]) == ("Jane Doe", "facebook")
    assert contact["avatar_url"] == f"https://graph.example/pics/{page['psid']}.jpg"
    assert contact["facebook"] == {"page_id": page["id"], "psid": page["psid"]}
