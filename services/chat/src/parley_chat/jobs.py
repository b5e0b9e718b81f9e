"""Background jobs of the chat worker."""

from __future__ import annotations

import asyncio
import logging

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from parley_chat.attachments import service as attachments
from parley_chat.config import get_chat_settings
from parley_chat.conversations import repository as conversations_repo
from parley_chat.conversations.service import resolve_conversation
from parley_chat.errors import ConversationNotOpen
from parley_common.storage import Storage, open_storage
from parley_common.worker import WorkerContext

log = logging.getLogger("parley.chat.jobs")
SWEEP_BATCH = 500


async def resolve_idle_once(
    session_factory: async_sessionmaker[AsyncSession], default_minutes: int
) -> int:
    """Resolve open conversations idle longer than their account's auto-resolve time."""
    async with session_factory() as session, session.begin():
        idle = await conversations_repo.idle_conversations(session, default_minutes)
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


async def sweep_unattached_once(
    session_factory: async_sessionmaker[AsyncSession], storage: Storage, grace_seconds: float
) -> int:
    """Delete uploads never attached to a message within ``grace_seconds``: rows, then files."""
    deleted = 0
    while True:
        async with session_factory() as session, session.begin():
            keys = await attachments.delete_unattached(
                session, older_than_seconds=grace_seconds, limit=SWEEP_BATCH
            )
        for key in keys:
            await storage.delete(key)
        deleted += len(keys)
        if len(keys) < SWEEP_BATCH:
            return deleted


async def sweep_unattached(ctx: WorkerContext) -> None:
    settings = get_chat_settings()
    assert ctx.session_factory is not None
    storage = open_storage("chat", settings)
    while True:
        count = await sweep_unattached_once(
            ctx.session_factory, storage, settings.attachment_unattached_grace_seconds
        )
        if count:
            log.info("deleted %d uploads never attached to a message", count)
        await asyncio.sleep(settings.attachment_sweep_interval_seconds)
