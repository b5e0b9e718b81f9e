"""What auth has ended or changed since it issued an access token, as every service sees it.

An agent's access token is a signed JWT that every service verifies on its own, so it would
stay good until it expires (15 minutes). Auth therefore records in Redis, right after the
change commits:

- ``{ns}:sessions:ended:{session_id}``: the login session ended (logout, password change of
  another session, refresh-token reuse, agent removed);
- ``{ns}:sessions:agent:{agent_id}``: the agent's role as it is now, or ``removed``.

Both keys live a little longer than an access token, so every token issued before the change
has expired when its key goes. Every service reads both keys for a token in one ``MGET``,
remembered per session for ``session_check_cache_seconds`` (default 0.5 s): a revoked token
is refused everywhere within that, and an agent sending requests all day costs one Redis
read every half second. The gateway's stream worker writes the same keys again from auth's
events (``auth.session.revoked``, ``auth.agent.removed``), so a change whose Redis write
failed after the commit still lands. See docs/security.md.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Iterable
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import RedisError

from parley_common.errors import DomainError, Unauthorized
from parley_common.settings import Settings

log = logging.getLogger("parley.revocation")

REMOVED = "removed"


class SessionRevoked(Unauthorized):
    code, title = "session_revoked", "This session has ended; log in again"


class SessionCheckUnavailable(DomainError):
    status, code = 503, "session_check_unavailable"
    title = "Sessions cannot be checked right now; retry shortly"


class Revocations:
    """``await revocations.check(principal)`` → the principal with its current role, or
    SessionRevoked. Auth writes with ``sessions_ended`` and ``agent_changed``."""

    def __init__(self, redis: Redis, settings: Settings, *, max_cached: int = 50_000) -> None:
        self.redis = redis
        self.namespace = settings.namespace
        # Longer than any access token issued before the change can live.
        self.ttl = settings.access_token_ttl_seconds + 60
        self.cache_seconds = settings.session_check_cache_seconds
        self.max_cached = max_cached
        self._seen: dict[tuple[uuid.UUID, uuid.UUID], tuple[float, bool, str | None]] = {}

    def session_key(self, session_id: uuid.UUID | str) -> str:
        return f"{self.namespace}:sessions:ended:{session_id}"

    def agent_key(self, agent_id: uuid.UUID | str) -> str:
        return f"{self.namespace}:sessions:agent:{agent_id}"

    async def check(self, session_id: uuid.UUID, agent_id: uuid.UUID) -> str | None:
        """Raise SessionRevoked when the session ended or the agent was removed; return the
        agent's role when auth recorded one since (None: the token's role stands)."""
        key = (session_id, agent_id)
        now = time.monotonic()
        entry = self._seen.get(key)
        if entry is None or entry[0] <= now:
            try:
                ended, agent = await self.redis.mget(
                    self.session_key(session_id), self.agent_key(agent_id)
                )
            except (RedisError, OSError) as exc:
                # Fail closed: a token we cannot check is not accepted.
                raise SessionCheckUnavailable(headers={"Retry-After": "1"}) from exc
            role = agent.decode() if isinstance(agent, bytes) else agent
            if len(self._seen) >= self.max_cached:
                self._seen.clear()
            entry = (now + self.cache_seconds, ended is not None or role == REMOVED, role)
            self._seen[key] = entry
        if entry[1]:
            raise SessionRevoked()
        return entry[2]

    # --- writers: auth after its commit, the stream worker from auth's events ----------------
    def stage_session_ended(self, pipe: Any, session_id: uuid.UUID | str) -> None:
        pipe.set(self.session_key(session_id), b"1", ex=self.ttl)

    def stage_agent(self, pipe: Any, agent_id: uuid.UUID | str, role: str | None) -> None:
        """``role=None``: the agent was removed."""
        pipe.set(self.agent_key(agent_id), role or REMOVED, ex=self.ttl)

    async def record(
        self,
        *,
        ended: Iterable[uuid.UUID] = (),
        agents: Iterable[tuple[uuid.UUID, str | None]] = (),
    ) -> None:
        """Write in one round trip. A failure is logged, not raised: the change committed
        already and the stream worker writes the same keys again from auth's events."""
        try:
            async with self.redis.pipeline(transaction=False) as pipe:
                for session_id in ended:
                    self.stage_session_ended(pipe, session_id)
                for agent_id, role in agents:
                    self.stage_agent(pipe, agent_id, role)
                if len(pipe):
                    await pipe.execute()
        except (RedisError, OSError):
            log.exception("recording revocations failed; auth's events will record them")
