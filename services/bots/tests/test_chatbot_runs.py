"""Chatbots talking with visitors: quick replies, handover, goals, interruptions."""

from __future__ import annotations

import uuid

from parley_bots import service
from parley_bots.schemas import ChatbotIn, ChatbotPatch

from .support import CHATBOT, arrived, bot_messages, feed, message, runs_of


async def start_chatbot(session, agent, **fields):
    body = ChatbotIn.model_validate({**CHATBOT, **fields})
    bot = await service.create_chatbot(session, agent.principal, body)
    visitor = uuid.uuid4()
    await feed(session, arrived(agent.account_id, visitor))
    return bot, visitor


async def test_first_step_offers_quick_replies(session, agent):
    bot, visitor = await start_chatbot(session, agent)
    [first] = await bot_messages(session, visitor)
    assert first["text"] == "What brings you here?"
    assert first["quick_replies"] == ["Pricing", "Talk to a human", "Just browsing"]
    assert first["bot_id"] == str(bot.id)
    [run] = await runs_of(session, visitor)
    assert (run.status, run.current_step_id) == ("running", "start")


async def test_button_labels_advance_to_a_goal(session, agent):
    _, visitor = await start_chatbot(session, agent)
    await feed(session, message(agent.account_id, visitor, "  pricing "))
    await feed(session, message(agent.account_id, visitor, "YES PLEASE"))
    texts = [m["text"] for m in await bot_messages(session, visitor)]
    assert texts == [
        "What brings you here?",
        "Plans start at $10. Want the details?",
        "Here they are: example.com/pricing",
    ]
    [run] = await runs_of(session, visitor)
    assert run.status == "ended" and run.current_step_id == "details"
    assert run.replied_at is not None and run.converted_at is not None


async def test_handover_converts_and_says_so(session, agent):
    _, visitor = await start_chatbot(session, agent)
    await feed(session, message(agent.account_id, visitor, "talk to a human"))
    messages = await bot_messages(session, visitor)
    assert messages[-1]["text"] == CHATBOT["handover_message"]
    [run] = await runs_of(session, visitor)
    assert run.status == "handover" and run.converted_at is not None
    # The bot is done: later texts do nothing.
    await feed(session, message(agent.account_id, visitor, "Pricing"))
    assert len(await bot_messages(session, visitor)) == 2


async def test_end_button_finishes_without_conversion(session, agent):
    _, visitor = await start_chatbot(session, agent)
    await feed(session, message(agent.account_id, visitor, "Just browsing"))
    [run] = await runs_of(session, visitor)
    assert run.status == "ended" and run.replied_at is not None and run.converted_at is None
    assert len(await bot_messages(session, visitor)) == 1


async def test_free_text_interrupts_the_bot(session, agent):
    _, visitor = await start_chatbot(session, agent)
    await feed(session, message(agent.account_id, visitor, "Do you ship to Canada?"))
    [run] = await runs_of(session, visitor)
    assert run.status == "interrupted" and run.replied_at is not None
    assert run.converted_at is None
    assert len(await bot_messages(session, visitor)) == 1


async def test_agent_message_stops_the_bot(session, agent):
    _, visitor = await start_chatbot(session, agent)
    await feed(session, message(agent.account_id, visitor, "Hi, I'm Anna", "agent"))
    await feed(session, message(agent.account_id, visitor, "Pricing"))
    [run] = await runs_of(session, visitor)
    assert run.status == "interrupted" and run.replied_at is None
    assert len(await bot_messages(session, visitor)) == 1


async def test_bot_and_other_accounts_messages_are_ignored(session, agent, other_account):
    _, visitor = await start_chatbot(session, agent)
    await feed(session, message(agent.account_id, visitor, "Pricing", "bot"))
    await feed(session, message(other_account.account_id, visitor, "Pricing"))
    [run] = await runs_of(session, visitor)
    assert run.status == "running" and run.current_step_id == "start"


async def test_step_removed_while_visitor_in_it(session, agent):
    bot, visitor = await start_chatbot(session, agent)
    new_steps = [
        {"id": "start", "message": "Hello!", "buttons": [{"label": "Pricing", "next": "end"}]}
    ]
    await service.update_chatbot(
        session, agent.principal, bot.id, ChatbotPatch.model_validate({"steps": new_steps})
    )
    await feed(session, message(agent.account_id, visitor, "Pricing"))
    [run] = await runs_of(session, visitor)
    assert run.status == "ended"


async def test_a_goal_first_step_without_buttons_converts_at_once(session, agent):
    steps = [{"id": "promo", "message": "20% off today with code SPRING", "goal": True}]
    _, visitor = await start_chatbot(session, agent, steps=steps)
    [run] = await runs_of(session, visitor)
    assert run.status == "ended" and run.converted_at is not None
    [sent] = await bot_messages(session, visitor)
    assert sent["quick_replies"] == []
