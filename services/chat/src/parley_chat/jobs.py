"""Background jobs of the chat worker."""

from __future__ import annotations

import asyncio
import logging

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from parley_chat import repository as repo
from parley_chat.config import get_chat_settings
from parley_chat.errors import ConversationNotOpen
from parley_chat.service import resolve_conversation
from parley_common.worker import WorkerContext

log = logging.getLogger("parley.chat.jobs")


async def resolve_idle_once(
    session_factory: async_sessionmaker[AsyncSession], default_minutes: int
) -> int:
    """Resolve open conversations idle longer than their account's auto-resolve time."""
    async with session_factory() as session, session.begin():
        idle = await repo.idle_conversations(session, default_minutes)
    resolved = 0
    for row in idle:
        async with session_factory() as session, session.begin():
            try:
                await resolve_conversation(session, row.account_id, row.id, resolved_by=None)
                resolved += 1
            except ConversationNotOpen:
                pass
    return resolved


async def auto_resolve(ctx: WorkerContext) -> None:
    settings = get_chat_settings()
    assert ctx.session_factory is not None
    while True:
        count = await resolve_idle_once(ctx.session_factory, settings.auto_resolve_minutes)
        if count:
            log.info("auto-resolved %d idle conversations", count)
        await asyncio.sleep(settings.auto_resolve_interval_seconds)
