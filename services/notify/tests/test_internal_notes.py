"""An internal note is between agents: it neither answers the visitor nor notifies anyone."""

from __future__ import annotations

import uuid

from sqlalchemy import select

from parley_notify.models import Conversation, Push

from .conftest import register
from .test_push import message


async def test_a_note_neither_answers_the_visitor_nor_pushes(api, agent, feed, sessions):
    await register(api, agent)
    conversation = uuid.uuid4()
    await feed(
        "chat.message.created", agent.account_id, message(conversation, "Where is my order?")
    )
    async with sessions() as session:
        pushes_before = len(
            list(await session.scalars(select(Push.id).where(Push.account_id == agent.account_id)))
        )
    await feed(
        "chat.message.created",
        agent.account_id,
        message(
            conversation,
            "Refund him quietly",
            author_type="agent",
            author_id=agent.agent_id,
            internal=True,
        ),
    )
    async with sessions() as session:
        row = await session.get(Conversation, conversation)
        pushes = list(
            await session.scalars(select(Push.id).where(Push.account_id == agent.account_id))
        )
    assert row is not None
    assert row.awaiting_reply_since is not None  # still waiting for a real answer
    assert row.last_visitor_text == "Where is my order?"
    assert len(pushes) == pushes_before == 1
