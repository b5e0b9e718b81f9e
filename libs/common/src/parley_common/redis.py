"""Redis: ephemeral state only (presence, rate limits, the stream's replay window)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

from redis.asyncio import BlockingConnectionPool, Redis
from redis.exceptions import ResponseError

from parley_common.settings import Settings

# Fixed-window counters, any number of them in one round trip, atomically: for each key its
# count and the seconds left in its window.
_HIT = """
local out = {}
for i, key in ipairs(KEYS) do
    local count = redis.call('INCR', key)
    if count == 1 then redis.call('EXPIRE', key, ARGV[i]) end
    out[#out + 1] = count
    out[#out + 1] = redis.call('TTL', key)
end
return out
"""

# Several counters at once, atomically: refused (nothing counted) when any is at its limit,
# else each counts one. ARGV: window, then one limit per key. Returns 0 or seconds to wait.
_TAKE = """
for i, key in ipairs(KEYS) do
  if tonumber(redis.call('GET', key) or '0') >= tonumber(ARGV[i + 1]) then
    local ttl = redis.call('TTL', key)
    if ttl < 1 then ttl = 1 end
    return ttl
  end
end
for _, key in ipairs(KEYS) do
  if redis.call('INCR', key) == 1 then redis.call('EXPIRE', key, ARGV[1]) end
end
return 0
"""

# Give back what _TAKE counted (never below zero, never a key without its expiry).
_GIVE_BACK = """
for _, key in ipairs(KEYS) do
  local count = tonumber(redis.call('GET', key) or '0')
  if count > 1 then redis.call('DECR', key) elseif count == 1 then redis.call('DEL', key) end
end
return 0
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


class DedicatedConnection:
    """One connection of its own, for a loop that sends one pipelined batch per round trip.

    A pooled pipeline costs more than the round trip itself at one event per batch: the pool's
    checkout and release, the Pipeline and Retry objects, a task per send (``wait_for``) and a
    timer per reply (the pool's 5 s socket time-out); bench/README.md, issue 12. Here the whole
    round trip has one deadline, and any failure drops the connection (the next batch opens it
    again), so a reply can never be read as a later command's.
    """

    def __init__(self, redis: Redis, name: str, timeout: float = 5) -> None:
        pool = redis.connection_pool
        kwargs = {**pool.connection_kwargs, "socket_timeout": None}
        kwargs |= {"socket_connect_timeout": timeout, "client_name": name}
        self.connection = pool.connection_class(**kwargs)
        self.timeout = timeout

    async def execute(self, commands: Sequence[Sequence[Any]]) -> list[Any]:
        """Every command's reply in order, an error reply as its exception (like a pipeline's
        ``execute(raise_on_error=False)``); a lost or slow server raises."""
        conn = self.connection
        try:
            async with asyncio.timeout(self.timeout):
                # After the pool's health-check interval idle, a PING (reconnecting if the
                # server dropped the connection) goes first, as for a pooled connection.
                await conn.send_packed_command(conn.pack_commands(commands))
                replies: list[Any] = []
                for _ in commands:
                    try:
                        replies.append(await conn.read_response())
                    except ResponseError as exc:
                        replies.append(exc)
                return replies
        except BaseException:
            await conn.disconnect(nowait=True)
            raise

    async def aclose(self) -> None:
        await self.connection.disconnect()


class RateLimiter:
    """``retry_after = await limiter.hit("login:ip:1.2.3.4", limit=5, window=300)``."""

    def __init__(self, redis: Redis, namespace: str) -> None:
        self.redis = redis
        self.namespace = namespace
        self._script = redis.register_script(_HIT)
        self._take = redis.register_script(_TAKE)
        self._give_back = redis.register_script(_GIVE_BACK)

    def key(self, name: str) -> str:
        return f"{self.namespace}:rl:{name}"

    async def hit(self, name: str, *, limit: int, window: int) -> int | None:
        """Count one hit; return seconds to wait when over the limit, else None."""
        return await self.hit_all([(name, limit, window)])

    async def hit_all(self, checks: list[tuple[str, int, int]]) -> int | None:
        """Count one hit on each (name, limit, window) in one round trip; return the longest
        wait of those over their limit, else None (the gateway checks IP and token at once:
        two round trips were a fifth of its CPU per request, bench/profile_message_path.py)."""
        flat = await self._script(
            keys=[self.key(name) for name, _, _ in checks], args=[w for _, _, w in checks]
        )
        waits = [
            max(1, int(flat[2 * i + 1]))
            for i, (_, limit, _) in enumerate(checks)
            if int(flat[2 * i]) > limit
        ]
        return max(waits, default=None)

    async def take(self, limits: Sequence[tuple[str, int]], *, window: int) -> int | None:
        """Count one attempt against every ``(name, limit)`` at once, before doing it: seconds
        to wait when any counter is already at its limit (nothing is counted then), else None.
        Taking the slot first means concurrent attempts cannot all pass one check."""
        keys = [self.key(name) for name, _ in limits]
        wait = int(await self._take(keys=keys, args=[window, *(limit for _, limit in limits)]))
        return wait or None

    async def give_back(self, names: Sequence[str]) -> None:
        """Uncount an attempt ``take`` counted (it turned out not to count, e.g. a success)."""
        await self._give_back(keys=[self.key(name) for name in names])

    async def reset(self, name: str) -> None:
        await self.redis.delete(self.key(name))
