"""New-visitor pushes coalesced per account; e-mail for contact forms and missed chats."""

from __future__ import annotations

import asyncio
import uuid

from parley_common.testing import eventually, make_agent

from .conftest import register


async def test_a_burst_of_new_visitors_is_one_notification_with_a_count(
    api, agent, feed, apns, notify_worker
):
    token = await register(api, agent)
    quiet = make_agent("agent", agent.account_id)
    quiet_token = await register(api, quiet)
    await api.patch(
        "/api/v1/me/notification-settings", headers=quiet.headers, json={"new_visitor": False}
    )
    for i in range(5):
        await feed(
            "visitors.visitor.arrived",
            agent.account_id,
            {
                "visitor_id": uuid.uuid4(),
                "name": f"Visitor {i}",
                "url": "https://shop.example/pricing",
            },
        )
    first = (await eventually(lambda: apns.for_token(token)))[0]
    assert first.payload["type"] == "new_visitor"
    assert first.payload["aps"]["alert"]["body"] == "Visitor 0 is on https://shop.example/pricing"
    summary = (
        await eventually(
            lambda: len(apns.for_token(token)) >= 2 and apns.for_token(token), timeout=10
        )
    )[1]
    assert summary.payload["count"] == 5
    assert summary.payload["aps"]["alert"]["body"] == "5 new visitors on your website"
    assert summary.headers["apns-collapse-id"] == first.headers["apns-collapse-id"]
    assert summary.payload["aps"]["thread-id"] == "visitors"
    await asyncio.sleep(2)  # the window is over: nothing more comes
    assert len(apns.for_token(token)) == 2
    assert apns.for_token(quiet_token) == []


async def test_a_lone_visitor_is_one_push_and_the_next_window_starts_fresh(
    api, agent, feed, apns, notify_worker
):
    token = await register(api, agent)
    await feed(
        "visitors.visitor.arrived", agent.account_id, {"visitor_id": uuid.uuid4(), "label": "#1234"}
    )
    first = (await eventually(lambda: apns.for_token(token)))[0]
    assert first.payload["aps"]["alert"]["body"] == "#1234"
    await asyncio.sleep(2)
    assert len(apns.for_token(token)) == 1
    await feed(
        "visitors.visitor.arrived", agent.account_id, {"visitor_id": uuid.uuid4(), "name": "Second"}
    )
    await eventually(lambda: len(apns.for_token(token)) == 2)


async def _agent_with_email(feed, account_id, role="agent"):
    who = make_agent(role, account_id)
    address = f"agent-{uuid.uuid4().hex[:8]}@example.com"
    await feed(
        "auth.agent.created",
        account_id,
        {
            "agent_id": who.agent_id,
            "email": address,
            "name": "Ann",
            "role": role,
            "status": "online",
        },
    )
    return who, address


async def test_contact_form_message_pushes_and_mails_agents_who_want_mail(
    api, agent, feed, apns, notify_worker, smtp_sink
):
    wants, wants_address = await _agent_with_email(feed, agent.account_id)
    no_mail, no_mail_address = await _agent_with_email(feed, agent.account_id)
    await api.patch(
        "/api/v1/me/notification-settings",
        headers=no_mail.headers,
        json={"email_notifications": False},
    )
    token = await register(api, wants)
    conversation = uuid.uuid4()
    await feed(
        "chat.conversation.created",
        agent.account_id,
        {"conversation_id": conversation, "channel": "contact_form"},
    )
    await feed(
        "chat.message.created",
        agent.account_id,
        {
            "conversation_id": conversation,
            "message_id": uuid.uuid4(),
            "visitor_id": uuid.uuid4(),
            "author_type": "visitor",
            "channel": "contact_form",
            "text": "Please call me back about my order",
            "visitor_name": "Carl Contact",
        },
    )
    push = (await eventually(lambda: apns.for_token(token)))[0]
    assert push.payload["type"] == "contact_form"
    assert push.payload["aps"]["alert"]["title"] == "Carl Contact"
    [mail] = await smtp_sink.wait_for(wants_address)
    assert mail["Subject"] == "New contact form message from Carl Contact"
    assert "Please call me back about my order" in mail.get_content()
    await asyncio.sleep(0.5)
    assert not [m for m in smtp_sink.to(no_mail_address) if "contact form" in m["Subject"]]


async def test_missed_chat_mail_after_no_agent_reply(api, agent, feed, notify_worker, smtp_sink):
    owner, address = await _agent_with_email(feed, agent.account_id, "owner")
    waiting, answered = uuid.uuid4(), uuid.uuid4()
    for conversation, text in ((waiting, "Anyone there?"), (answered, "Quick question")):
        await feed(
            "chat.message.created",
            agent.account_id,
            {
                "conversation_id": conversation,
                "message_id": uuid.uuid4(),
                "visitor_id": uuid.uuid4(),
                "author_type": "visitor",
                "text": text,
                "visitor_name": "Wendy",
            },
        )
    await feed(
        "chat.message.created",
        agent.account_id,
        {
            "conversation_id": answered,
            "message_id": uuid.uuid4(),
            "author_type": "agent",
            "author_id": owner.agent_id,
            "text": "Sure, ask away",
        },
    )
    [mail] = await smtp_sink.wait_for(address, timeout=10)
    assert mail["Subject"] == "Missed chat from Wendy"
    assert "Anyone there?" in mail.get_content()
    await asyncio.sleep(1.5)  # a second sweep sends nothing again, the answered chat nothing
    assert len(smtp_sink.to(address)) == 1
