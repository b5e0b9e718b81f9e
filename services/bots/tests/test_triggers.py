"""Automatic messages meeting visitors: triggers, conditions, delays, once per visitor."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from parley_bots import service
from parley_bots.engine import fire_due_runs
from parley_bots.schemas import AutomaticMessageIn, AutomaticMessagePatch

from .support import (
    AUTO_MESSAGE,
    arrived,
    bot_messages,
    event,
    feed,
    left,
    message,
    page_changed,
    runs_of,
)


async def add_message(session, agent, **fields):
    body = AutomaticMessageIn.model_validate({**AUTO_MESSAGE, **fields})
    return await service.create_automatic_message(session, agent.principal, body)


async def test_arrival_sends_the_message_once_per_visitor(session, agent):
    bot = await add_message(session, agent)
    visitor = uuid.uuid4()
    await feed(session, arrived(agent.account_id, visitor))
    [sent] = await bot_messages(session, visitor)
    assert sent["text"] == AUTO_MESSAGE["message"]
    assert sent["bot_id"] == str(bot.id)
    assert sent["quick_replies"] == []
    # The same visitor comes back: the message is not repeated.
    await feed(session, left(agent.account_id, visitor))
    await feed(session, arrived(agent.account_id, visitor))
    assert len(await bot_messages(session, visitor)) == 1
    [run] = await runs_of(session, visitor)
    assert run.status == "sent" and run.triggered_at is not None and run.replied_at is None
    # The visitor writes back: the automatic message got a reply.
    await feed(session, message(agent.account_id, visitor, "Yes, where is my order?"))
    [run] = await runs_of(session, visitor)
    assert run.replied_at is not None and run.converted_at is None


async def test_other_accounts_and_disabled_bots_stay_silent(session, agent, other_account):
    await add_message(session, other_account)
    await add_message(session, agent, enabled=False)
    visitor = uuid.uuid4()
    await feed(session, arrived(agent.account_id, visitor))
    assert await bot_messages(session, visitor) == []


async def test_returning_visitor_condition(session, agent):
    await add_message(session, agent, conditions={"returning_visitor": True})
    first_timer, regular = uuid.uuid4(), uuid.uuid4()
    await feed(session, arrived(agent.account_id, first_timer, returning=False, visits=1))
    await feed(session, arrived(agent.account_id, regular, visits=3))
    assert await bot_messages(session, first_timer) == []
    assert len(await bot_messages(session, regular)) == 1


async def test_blocked_visitors_get_nothing(session, agent):
    await add_message(session, agent)
    visitor = uuid.uuid4()
    await add_message(session, agent, trigger={"type": "page_url", "url_contains": "/cart"})
    await feed(session, arrived(agent.account_id, visitor, blocked=True))
    await feed(
        session,
        event(
            "visitors.visitor.page_changed",
            agent.account_id,
            visitor_id=str(visitor),
            url="https://shop.example/cart",
            blocked=True,
        ),
    )
    assert await bot_messages(session, visitor) == []
    assert await runs_of(session, visitor) == []


async def test_page_url_trigger_matches_part_of_the_url(session, agent):
    await add_message(session, agent, trigger={"type": "page_url", "url_contains": "/Pricing"})
    visitor = uuid.uuid4()
    await feed(session, arrived(agent.account_id, visitor, url="https://shop.example/"))
    assert await bot_messages(session, visitor) == []
    await feed(session, page_changed(agent.account_id, visitor, "https://shop.example/pricing?x"))
    assert [m["text"] for m in await bot_messages(session, visitor)] == [AUTO_MESSAGE["message"]]


async def test_delay_waits_for_the_sweeper(session, agent):
    await add_message(session, agent, delay_seconds=30)
    visitor = uuid.uuid4()
    await feed(session, arrived(agent.account_id, visitor))
    assert await bot_messages(session, visitor) == []
    now = datetime.now(UTC)
    await fire_due_runs(session, now=now + timedelta(seconds=5))
    assert await bot_messages(session, visitor) == []
    await fire_due_runs(session, now=now + timedelta(seconds=31))
    assert len(await bot_messages(session, visitor)) == 1
    await fire_due_runs(session, now=now + timedelta(seconds=60))
    assert len(await bot_messages(session, visitor)) == 1


async def test_time_on_page_restarts_on_page_change(session, agent):
    await add_message(
        session, agent, trigger={"type": "time_on_page", "seconds": 20, "url_contains": "/shoes"}
    )
    visitor = uuid.uuid4()
    start = datetime.now(UTC)
    await feed(session, arrived(agent.account_id, visitor, url="https://shop.example/shoes/red"))
    await feed(session, page_changed(agent.account_id, visitor, "https://shop.example/about"))
    await fire_due_runs(session, now=start + timedelta(seconds=25))
    assert await bot_messages(session, visitor) == []
    assert await runs_of(session, visitor) == []
    await feed(session, page_changed(agent.account_id, visitor, "https://shop.example/shoes/blue"))
    armed = datetime.now(UTC)
    await fire_due_runs(session, now=armed + timedelta(seconds=10))
    assert await bot_messages(session, visitor) == []
    await fire_due_runs(session, now=armed + timedelta(seconds=21))
    assert len(await bot_messages(session, visitor)) == 1


async def test_no_message_while_an_agent_chats_or_after_the_visitor_left(session, agent):
    await add_message(session, agent, delay_seconds=10)
    chatting, gone = uuid.uuid4(), uuid.uuid4()
    for visitor in (chatting, gone):
        await feed(session, arrived(agent.account_id, visitor))
    await feed(session, message(agent.account_id, chatting, "Hello, how can I help?", "agent"))
    await feed(session, left(agent.account_id, gone))
    await fire_due_runs(session, now=datetime.now(UTC) + timedelta(seconds=11))
    assert await bot_messages(session, chatting) == []
    assert await bot_messages(session, gone) == []
    # While the agent chats, a new arrival does not schedule anything either.
    await feed(session, arrived(agent.account_id, chatting))
    assert await runs_of(session, chatting) == []


async def test_disabled_before_due_does_not_fire(session, agent):
    bot = await add_message(session, agent, delay_seconds=10)
    visitor = uuid.uuid4()
    await feed(session, arrived(agent.account_id, visitor))
    await service.update_automatic_message(
        session, agent.principal, bot.id, AutomaticMessagePatch(enabled=False)
    )
    await fire_due_runs(session, now=datetime.now(UTC) + timedelta(seconds=11))
    assert await bot_messages(session, visitor) == []
    assert await runs_of(session, visitor) == []


async def test_conversation_id_is_passed_on(session, agent):
    await add_message(session, agent, trigger={"type": "page_url", "url_contains": "/faq"})
    visitor, conversation = uuid.uuid4(), uuid.uuid4()
    await feed(session, arrived(agent.account_id, visitor))
    await feed(
        session,
        event(
            "chat.conversation.created",
            agent.account_id,
            conversation_id=str(conversation),
            visitor_id=str(visitor),
        ),
    )
    await feed(session, page_changed(agent.account_id, visitor, "https://shop.example/faq"))
    [sent] = await bot_messages(session, visitor)
    assert sent["conversation_id"] == str(conversation)
