"""The message path's single statement: message, conversation summary and event agree."""

from __future__ import annotations

import uuid

import orjson
from sqlalchemy import text

from parley_common.events.broker import declare_exchanges
from parley_common.testing import eventually

from .conftest import events_of, visitor_writes


async def test_event_carries_the_stored_seq_and_the_conversation_is_summarised(
    client, visitor, session_factory
):
    first = await visitor_writes(client, visitor, "  hello  ", client_message_id="s-1")
    second = await visitor_writes(client, visitor, "x" * 300, client_message_id="s-2")
    conversation_id = first["conversation_id"]
    events = await events_of(session_factory, "chat.message.created", conversation_id)
    assert [e["data"]["seq"] for e in events] == [first["message"]["seq"], second["message"]["seq"]]
    assert events[0]["data"]["text"] == "hello"
    assert events[0]["data"]["client_message_id"] == "s-1"
    assert events[0]["data"]["attachments"] == []
    async with session_factory() as session:
        row = (
            await session.execute(
                text(
                    "SELECT last_seq, last_message_preview, last_message_author_type,"
                    " first_visitor_message_at, last_message_at, first_agent_reply_at"
                    " FROM chat.conversations WHERE id = :id"
                ),
                {"id": uuid.UUID(conversation_id)},
            )
        ).one()
        stored = (
            await session.execute(
                text("SELECT seq, attachments FROM chat.messages WHERE id = :id"),
                {"id": uuid.UUID(first["message"]["id"])},
            )
        ).one()
    assert row.last_seq == second["message"]["seq"]
    assert row.last_message_preview == "x" * 200
    assert row.last_message_author_type == "visitor"
    assert row.first_visitor_message_at < row.last_message_at
    assert row.first_agent_reply_at is None
    assert stored.seq == first["message"]["seq"] and stored.attachments == []


async def test_a_retry_writes_no_second_event_and_leaves_the_summary(
    client, visitor, session_factory
):
    first = await visitor_writes(client, visitor, "once", client_message_id="r-1")
    again = await visitor_writes(client, visitor, "changed", client_message_id="r-1")
    assert again["message"]["id"] == first["message"]["id"]
    conversation_id = first["conversation_id"]
    events = await events_of(session_factory, "chat.message.created", conversation_id)
    assert len(events) == 1
    async with session_factory() as session:
        preview = (
            await session.execute(
                text("SELECT last_message_preview FROM chat.conversations WHERE id = :id"),
                {"id": uuid.UUID(conversation_id)},
            )
        ).scalar()
    assert preview == "once"


async def test_the_message_event_is_published_as_stored_without_the_relay(
    client, visitor, session_factory, broker, settings
):
    """The chat process publishes the event its statement wrote, as stored, and marks it."""
    channel = await broker.channel()
    exchange = await declare_exchanges(channel, settings.namespace)
    queue = await channel.declare_queue(exclusive=True)
    await queue.bind(exchange, f"chat.message.created.#.{visitor.account_id}")
    try:
        sent = await visitor_writes(client, visitor, "  eager  ", client_message_id="e-1")
        message = await eventually(lambda: queue.get(no_ack=True, fail=False))
        published = orjson.loads(message.body)
        [stored] = await events_of(session_factory, "chat.message.created", sent["conversation_id"])
        assert published == stored
        assert published["data"]["text"] == "eager"
        assert published["data"]["seq"] == sent["message"]["seq"]

        async def marked() -> bool:
            async with session_factory() as session:
                at = await session.scalar(
                    text("SELECT published_at FROM chat.outbox WHERE id = :id"),
                    {"id": uuid.UUID(published["id"])},
                )
            return at is not None

        await eventually(marked)
    finally:
        await channel.close()
