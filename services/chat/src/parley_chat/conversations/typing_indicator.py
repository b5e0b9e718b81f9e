"""Typing indicators: ephemeral frames straight to Redis pub/sub (no outbox, no sequence).

The stream (gateway) fans the account's ``contracts.typing_channel`` out to the account's agents and
to the conversation's visitor.
"""

from __future__ import annotations

import uuid
from typing import Literal

import orjson
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncSession

from parley_chat import projections
from parley_chat.conversations import repository as repo
from parley_chat.errors import ConversationNotFound
from parley_common.contracts import typing_channel, typing_frame
from parley_common.security import AgentPrincipal


async def publish_typing(
    redis: Redis,
    namespace: str,
    *,
    account_id: uuid.UUID,
    conversation_id: uuid.UUID,
    visitor_id: uuid.UUID,
    author_type: Literal["agent", "visitor"],
    author_id: uuid.UUID,
    author_name: str | None,
) -> None:
    frame = typing_frame(
        conversation_id=conversation_id,
        visitor_id=visitor_id,
        author_type=author_type,
        author_id=author_id,
        author_name=author_name,
    )
    await redis.publish(typing_channel(namespace, account_id), orjson.dumps(frame))


async def agent_typing(
    session: AsyncSession,
    redis: Redis,
    namespace: str,
    agent: AgentPrincipal,
    conversation_id: uuid.UUID,
) -> None:
    row = await repo.get_conversation(session, agent.account_id, conversation_id)
    if row is None:
        raise ConversationNotFound()
    await publish_typing(
        redis,
        namespace,
        account_id=agent.account_id,
        conversation_id=conversation_id,
        visitor_id=row.visitor_id,
        author_type="agent",
        author_id=agent.agent_id,
        author_name=await projections.agent_name(session, agent.account_id, agent.agent_id)
        or "Agent",
    )
