"""API keys for integrators: what a key may do, and how every service checks one.

Auth owns the keys (``auth.api_keys``, only the SHA-256 of each key is stored). For every
service to check a key without reading auth's tables, auth keeps one Redis record per key,
``{ns}:apikeys:{sha256}`` → ``{"id", "account_id", "scopes", "name"}``; revoking replaces it
with a tombstone ``{"revoked": true}`` before the DELETE commits (and auth emits
``auth.api_key.revoked``, which closes the key's open streams). A service reads the record (one GET,
remembered per process for ``CACHE_SECONDS``), so a revoked key is refused everywhere within
a second. Auth's worker writes every active key again every minute (SET NX: never over a
tombstone), so an emptied Redis heals itself.

A key acts as an agent of its account limited to its scopes. Which scope a route needs is
decided here from its path and method (``ROUTE_SCOPES``), in one place for every service;
routes no scope covers, and every admin route, refuse a key with a 403 problem.
``stream:read`` lets a key open the agents' stream of its account (a ticket from
``POST /api/v1/stream/tickets``, or the key itself on the upgrade): every event the account's
agents see, so it is a scope of its own rather than part of ``conversations:read``.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
import time
import uuid
from typing import Any

import orjson
from redis.asyncio import Redis
from redis.exceptions import RedisError

from parley_common.errors import DomainError, Forbidden, Unauthorized

log = logging.getLogger("parley.api_keys")

PREFIX = "prly_"
CACHE_SECONDS = 0.5
TOUCH_SECONDS = 60  # last use is recorded at most once a minute per key and process
TOMBSTONE_SECONDS = 30 * 24 * 3600

# (path prefix, scope family): GET/HEAD need `<family>:read`, anything else `<family>:write`.
ROUTE_SCOPES: tuple[tuple[str, str], ...] = (
    ("/api/v1/conversations", "conversations"),
    ("/api/v1/attachments", "conversations"),
    ("/api/v1/shortcuts", "conversations"),
    ("/api/v1/stats", "conversations"),
    ("/api/v1/visitors", "visitors"),
    ("/api/v1/account/settings", "settings"),
)
# Paths whose scope does not follow the method (a ticket is a POST that only reads).
FIXED_SCOPES: dict[str, str] = {"/api/v1/stream/tickets": "stream:read"}
STREAM_SCOPE = "stream:read"
SCOPES: tuple[str, ...] = (
    "conversations:read",
    "conversations:write",
    "visitors:read",
    "visitors:write",
    "settings:read",
    STREAM_SCOPE,
)


class ApiKeyNotAllowed(Forbidden):
    code, title = "api_key_not_allowed", "API keys cannot be used on this endpoint"


class ApiKeyScopeMissing(Forbidden):
    code, title = "api_key_scope_missing", "The API key lacks the scope this endpoint needs"


class InvalidApiKey(Unauthorized):
    code, title = "invalid_api_key", "The API key is not valid or was revoked"


class ApiKeyCheckUnavailable(DomainError):
    status, code = 503, "api_key_check_unavailable"
    title = "API keys cannot be checked right now; retry shortly"


def is_api_key(token: str) -> bool:
    return token.startswith(PREFIX)


def new_key() -> str:
    return PREFIX + secrets.token_urlsafe(32)


def key_hash(key: str) -> str:
    """SHA-256 is enough: the key is 256 random bits, nothing to brute-force."""
    return hashlib.sha256(key.encode()).hexdigest()


def required_scope(path: str, method: str) -> str | None:
    if path in FIXED_SCOPES:
        return FIXED_SCOPES[path]
    for prefix, family in ROUTE_SCOPES:
        if path == prefix or path.startswith(prefix + "/"):
            return f"{family}:{'read' if method in ('GET', 'HEAD') else 'write'}"
    return None


def record_key(namespace: str, hashed: str) -> str:
    return f"{namespace}:apikeys:{hashed}"


def used_key(namespace: str, key_id: uuid.UUID | str) -> str:
    return f"{namespace}:apikeys:used:{key_id}"


def record_body(key_id: uuid.UUID, account_id: uuid.UUID, scopes: list[str], name: str) -> bytes:
    return orjson.dumps(
        {"id": str(key_id), "account_id": str(account_id), "scopes": scopes, "name": name}
    )


TOMBSTONE = orjson.dumps({"revoked": True})


class ApiKeyVerifier:
    """One per process: ``await verifier.check(key)`` → the key's record, or an error."""

    def __init__(self, redis: Redis, namespace: str, *, max_cached: int = 10_000) -> None:
        self.redis = redis
        self.namespace = namespace
        self.max_cached = max_cached
        self._seen: dict[str, tuple[float, dict[str, Any] | None]] = {}
        self._touched: dict[str, float] = {}

    async def check(self, key: str) -> dict[str, Any]:
        return await self.check_hash(key_hash(key))

    async def check_hash(self, hashed: str) -> dict[str, Any]:
        """The same check from the key's SHA-256 (a stream ticket keeps only that)."""
        now = time.monotonic()
        entry = self._seen.get(hashed)
        if entry is None or entry[0] <= now:
            try:
                raw = await self.redis.get(record_key(self.namespace, hashed))
            except (RedisError, OSError) as exc:
                # Fail closed: a key that cannot be checked is not accepted.
                raise ApiKeyCheckUnavailable(headers={"Retry-After": "1"}) from exc
            record = orjson.loads(raw) if raw else None
            if record is not None and record.get("revoked"):
                record = None
            if len(self._seen) >= self.max_cached:
                self._seen.clear()
            entry = self._seen[hashed] = (now + CACHE_SECONDS, record)
        if entry[1] is None:
            raise InvalidApiKey()
        await self._touch(entry[1]["id"], now)
        return entry[1]

    async def _touch(self, key_id: str, now: float) -> None:
        if self._touched.get(key_id, 0.0) > now:
            return
        self._touched[key_id] = now + TOUCH_SECONDS
        if len(self._touched) > self.max_cached:
            self._touched.clear()
        try:
            await self.redis.set(used_key(self.namespace, key_id), int(time.time()))
        except (RedisError, OSError):
            log.warning("recording the last use of API key %s failed", key_id)
