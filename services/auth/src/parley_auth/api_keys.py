"""API keys: created by an admin (shown once), listed with their last use, revoked at once.

Checking a key is every service's job (``parley_common.api_keys``): auth keeps the Redis
record each service reads, and its worker writes the active ones again every minute.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from datetime import UTC, datetime
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import RedisError
from sqlalchemy.ext.asyncio import AsyncSession

from parley_auth import repository as repo
from parley_auth.errors import ApiKeyNotFound
from parley_auth.events import outbox
from parley_auth.models import Agent, ApiKey
from parley_common import api_keys as keys
from parley_common.worker import WorkerContext

log = logging.getLogger("parley.auth.api_keys")

RESYNC_SECONDS = 60


def key_out(key: ApiKey, last_used_at: datetime | None = None) -> dict[str, Any]:
    return {
        "id": key.id,
        "name": key.name,
        "scopes": key.scopes,
        "prefix": key.key_prefix,
        "created_at": key.created_at,
        "last_used_at": last_used_at or key.last_used_at,
    }


async def create(
    session: AsyncSession, redis: Redis, namespace: str, admin: Agent, name: str, scopes: list[str]
) -> dict[str, Any]:
    secret = keys.new_key()
    key = ApiKey(
        id=uuid.uuid4(),
        account_id=admin.account_id,
        name=name,
        scopes=sorted(set(scopes)),
        key_hash=keys.key_hash(secret),
        key_prefix=secret[: len(keys.PREFIX) + 6],
        created_by=admin.id,
        created_at=datetime.now(UTC),
    )
    session.add(key)
    await session.flush()
    # Written before the commit: if the commit fails, a record of a key nobody ever saw stays.
    await redis.set(
        keys.record_key(namespace, key.key_hash),
        keys.record_body(key.id, key.account_id, key.scopes, key.name),
    )
    return {**key_out(key), "key": secret}


async def list_keys(
    session: AsyncSession, redis: Redis, namespace: str, account_id: uuid.UUID
) -> dict[str, Any]:
    """Last use comes from the services' Redis marks (at most a minute old) and is kept."""
    rows = await repo.active_api_keys(session, account_id)
    marks = await redis.mget([keys.used_key(namespace, k.id) for k in rows]) if rows else []
    items = []
    for key, mark in zip(rows, marks, strict=True):
        used = datetime.fromtimestamp(int(mark), UTC) if mark else None
        if used is not None and (key.last_used_at is None or used > key.last_used_at):
            key.last_used_at = used
        items.append(key_out(key))
    return {"items": items, "next_cursor": None}


async def revoke(
    session: AsyncSession, redis: Redis, namespace: str, account_id: uuid.UUID, key_id: uuid.UUID
) -> None:
    key = await repo.get_api_key(session, account_id, key_id)
    if key is None:
        raise ApiKeyNotFound()
    key.revoked_at = datetime.now(UTC)
    await session.flush()
    # The tombstone first: refused everywhere within a second, even if the commit then fails
    # (the admin sees an error and deletes again).
    await redis.set(
        keys.record_key(namespace, key.key_hash), keys.TOMBSTONE, ex=keys.TOMBSTONE_SECONDS
    )
    # The stream closes the key's open sockets when this event reaches it.
    await outbox.emit(session, "auth.api_key.revoked", account_id, {"api_key_id": key.id})


async def resync(ctx: WorkerContext) -> None:
    """Background job of auth's worker: every active key's record, again (SET NX never
    replaces a tombstone a revocation wrote meanwhile)."""
    assert ctx.session_factory is not None
    while True:
        try:
            async with ctx.session_factory() as session:
                rows = await repo.active_api_keys(session)
            async with ctx.redis.pipeline(transaction=False) as pipe:
                for key in rows:
                    pipe.set(
                        keys.record_key(ctx.settings.namespace, key.key_hash),
                        keys.record_body(key.id, key.account_id, key.scopes, key.name),
                        nx=True,
                    )
                await pipe.execute()
        except (RedisError, OSError):
            log.warning("API key resync failed; next try in %ss", RESYNC_SECONDS)
        await asyncio.sleep(RESYNC_SECONDS)
