"""Redis: ephemeral state only (presence, rate limits, the stream's replay window)."""

from __future__ import annotations

from redis.asyncio import BlockingConnectionPool, Redis

from parley_common.settings import Settings

# Fixed-window counter: one round trip, atomic.
_HIT = """
local count = redis.call('INCR', KEYS[1])
if count == 1 then redis.call('EXPIRE', KEYS[1], ARGV[1]) end
local ttl = redis.call('TTL', KEYS[1])
return {count, ttl}
"""


def create_redis(settings: Settings, max_connections: int = 64, wait_seconds: int = 5) -> Redis:
    """A client whose pool waits for a free connection under a burst instead of failing."""
    pool = BlockingConnectionPool.from_url(
        settings.redis_url,
        max_connections=max_connections,
        timeout=wait_seconds,
        health_check_interval=30,
    )
    return Redis(connection_pool=pool)


class RateLimiter:
    """``retry_after = await limiter.hit("login:ip:1.2.3.4", limit=5, window=300)``."""

    def __init__(self, redis: Redis, namespace: str) -> None:
        self.redis = redis
        self.namespace = namespace
        self._script = redis.register_script(_HIT)

    def key(self, name: str) -> str:
        return f"{self.namespace}:rl:{name}"

    async def hit(self, name: str, *, limit: int, window: int) -> int | None:
        """Count one hit; return seconds to wait when over the limit, else None."""
        count, ttl = await self._script(keys=[self.key(name)], args=[window])
        if int(count) > limit:
            return max(1, int(ttl))
        return None

    async def count(self, name: str) -> int:
        value = await self.redis.get(self.key(name))
        return int(value or 0)

    async def reset(self, name: str) -> None:
        await self.redis.delete(self.key(name))
