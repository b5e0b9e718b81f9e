"""Revocation state in Redis as services read it, and the atomic multi-counter limiter."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from redis.asyncio import Redis

from parley_common.redis import RateLimiter
from parley_common.revocation import Revocations, SessionCheckUnavailable, SessionRevoked
from parley_common.testing import eventually, free_port


async def test_unknown_sessions_keep_their_token_role(redis, settings) -> None:
    revocations = Revocations(redis, settings)
    assert await revocations.check(uuid.uuid4(), uuid.uuid4()) is None


async def test_ended_sessions_and_removed_agents_are_refused(redis, settings) -> None:
    writer, reader = Revocations(redis, settings), Revocations(redis, settings)
    ended, removed, demoted, agent = (uuid.uuid4() for _ in range(4))
    await writer.record(ended=[ended], agents=[(removed, None), (demoted, "agent")])
    with pytest.raises(SessionRevoked):
        await reader.check(ended, agent)
    with pytest.raises(SessionRevoked):
        await reader.check(uuid.uuid4(), removed)
    assert await reader.check(uuid.uuid4(), demoted) == "agent"
    assert await redis.ttl(writer.session_key(ended)) > settings.access_token_ttl_seconds


async def test_a_service_sees_a_revocation_within_its_cache_time(redis, settings) -> None:
    writer, reader = Revocations(redis, settings), Revocations(redis, settings)
    session_id, agent_id = uuid.uuid4(), uuid.uuid4()
    assert await reader.check(session_id, agent_id) is None  # remembered for a moment
    await writer.record(ended=[session_id])

    async def refused() -> bool:
        try:
            await reader.check(session_id, agent_id)
        except SessionRevoked:
            return True
        return False

    await eventually(refused, timeout=settings.session_check_cache_seconds + 0.5)


async def test_unreachable_redis_refuses_rather_than_trusts(settings) -> None:
    dead = Redis(port=free_port(), socket_connect_timeout=0.5)
    with pytest.raises(SessionCheckUnavailable) as caught:
        await Revocations(dead, settings).check(uuid.uuid4(), uuid.uuid4())
    assert caught.value.status == 503 and caught.value.headers["Retry-After"] == "1"
    await Revocations(dead, settings).record(ended=[uuid.uuid4()])  # logged, not raised
    await dead.aclose()


async def test_concurrent_takes_never_exceed_the_limit(redis, settings) -> None:
    limiter = RateLimiter(redis, settings.namespace)
    name = f"t:{uuid.uuid4()}"
    waits = await asyncio.gather(*(limiter.take([(name, 5)], window=60) for _ in range(40)))
    assert waits.count(None) == 5
    assert all(w is not None and 1 <= w <= 60 for w in waits if w is not None)


async def test_a_take_refused_by_one_counter_counts_on_none(redis, settings) -> None:
    limiter = RateLimiter(redis, settings.namespace)
    loose, tight = f"t:{uuid.uuid4()}", f"t:{uuid.uuid4()}"
    assert await limiter.take([(loose, 100), (tight, 1)], window=60) is None
    assert await limiter.take([(loose, 100), (tight, 1)], window=60) is not None
    assert int(await redis.get(limiter.key(loose))) == 1
    await limiter.give_back([loose])
    assert await redis.get(limiter.key(loose)) is None
