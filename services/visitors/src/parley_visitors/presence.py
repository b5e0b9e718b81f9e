"""Who is on the website right now, in Redis: heartbeats never touch PostgreSQL.

Keys (``<ns>`` is the settings namespace):
- ``<ns>:visitors:active:<account>``: sorted set of visitor ids by last activity (epoch s);
- ``<ns>:visitors:presence``: sorted set of ``<account>:<visitor>`` by last activity, which
  the sweeper scans for silence across accounts;
- ``<ns>:visitors:v:<account>:<visitor>``: hash of the row the active list shows. Its
  existence means "active";
- ``<ns>:visitors:f:<account>``: hash of visitor id to its filter key (returning flag, chatting
  flag, lowercased URL), so a filtered list reads one hash instead of one per visitor.
The scripts below change these keys together, atomically.
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass
from typing import Any

from redis.asyncio import Redis
from redis.commands.core import AsyncScript
from redis.exceptions import NoScriptError

HASH_TTL_SECONDS = 24 * 3600

# Recomputes a visitor's filter key from its row (KEYS[3]) into the account's hash (KEYS[4]).
_REFILTER = """
local function refilter(row, filters, vid)
  local f = redis.call('HMGET', row, 'visits', 'chatting', 'url')
  local returning = (tonumber(f[1] or '1') or 1) > 1 and '1' or '0'
  local chatting = f[2] == '1' and '1' or '0'
  redis.call('HSET', filters, vid, returning .. chatting .. string.lower(f[3] or ''))
end
"""

_TOUCH = (
    _REFILTER
    + """
local existed = redis.call('EXISTS', KEYS[3])
redis.call('ZADD', KEYS[1], ARGV[1], ARGV[2])
redis.call('ZADD', KEYS[2], ARGV[1], ARGV[3])
if existed == 0 then redis.call('HSET', KEYS[3], 'started_at', ARGV[1]) end
for i = 5, #ARGV, 2 do redis.call('HSET', KEYS[3], ARGV[i], ARGV[i + 1]) end
redis.call('HSET', KEYS[3], 'last_seen', ARGV[1])
redis.call('EXPIRE', KEYS[3], ARGV[4])
refilter(KEYS[3], KEYS[4], ARGV[2])
if existed == 0 then return 1 end
return 0
"""
)

_HEARTBEAT = """
if redis.call('EXISTS', KEYS[3]) == 0 then return 0 end
redis.call('ZADD', KEYS[1], ARGV[1], ARGV[2])
redis.call('ZADD', KEYS[2], ARGV[1], ARGV[3])
redis.call('HSET', KEYS[3], 'last_seen', ARGV[1])
return 1
"""

_UPDATE = (
    _REFILTER
    + """
if redis.call('EXISTS', KEYS[3]) == 0 then return 0 end
for i = 2, #ARGV, 2 do redis.call('HSET', KEYS[3], ARGV[i], ARGV[i + 1]) end
refilter(KEYS[3], KEYS[4], ARGV[1])
return 1
"""
)

# Pops visitors silent since ARGV[1]: removes all three keys and returns what the hash held.
_SWEEP = """
local members = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, ARGV[2])
local out = {}
for _, m in ipairs(members) do
  local sep = string.find(m, ':', 1, true)
  local acc = string.sub(m, 1, sep - 1)
  local vid = string.sub(m, sep + 1)
  redis.call('ZREM', KEYS[1], m)
  redis.call('ZREM', ARGV[3] .. acc, vid)
  redis.call('HDEL', ARGV[5] .. acc, vid)
  local h = ARGV[4] .. acc .. ':' .. vid
  local data = redis.call('HGETALL', h)
  redis.call('DEL', h)
  table.insert(out, {acc, vid, data})
end
return out
"""

# Newest activity first, from after the cursor (score, member), keeping rows that match the
# filters, until `limit` rows (plus one, to know if there is a next page).
_LIST = """
local max_score = ARGV[1]
local cursor_score = tonumber(ARGV[2])
local cursor_member = ARGV[3]
local limit = tonumber(ARGV[4])
local url_needle = ARGV[5]
local returning = ARGV[6]
local chatting = ARGV[7]
local prefix = ARGV[8]
local out = {}
local offset = 0
local chunk = 500
local filtered = url_needle ~= '' or returning ~= '' or chatting ~= ''
while #out <= limit do
  local page = redis.call('ZREVRANGEBYSCORE', KEYS[1], max_score, '-inf', 'WITHSCORES',
                          'LIMIT', offset, chunk)
  if #page == 0 then break end
  offset = offset + chunk
  local keys = {}
  if filtered then
    local members = {}
    for i = 1, #page, 2 do members[#members + 1] = page[i] end
    keys = redis.call('HMGET', KEYS[2], unpack(members))
  end
  for i = 1, #page, 2 do
    local member = page[i]
    local score = tonumber(page[i + 1])
    local skip = cursor_score ~= nil and score == cursor_score and member >= cursor_member
    if not skip then
      local key = prefix .. member
      local ok = true
      if filtered then
        local k = keys[(i + 1) / 2]
        ok = k ~= false
        if ok and returning ~= '' then ok = string.sub(k, 1, 1) == returning end
        if ok and chatting ~= '' then ok = string.sub(k, 2, 2) == chatting end
        if ok and url_needle ~= '' then
          ok = string.find(k, url_needle, 3, true) ~= nil
        end
      end
      if ok then
        local row = redis.call('HGETALL', key)
        if #row > 0 then
          table.insert(out, {member, page[i + 1], row})
          if #out > limit then break end
        end
      end
    end
  end
  if #page < chunk * 2 then break end
end
return out
"""


@dataclass(frozen=True)
class ActiveEntry:
    visitor_id: uuid.UUID
    last_activity: float
    fields: dict[str, str]


@dataclass(frozen=True)
class Expired:
    account_id: uuid.UUID
    visitor_id: uuid.UUID
    fields: dict[str, str]


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def _pairs(flat: list[bytes]) -> dict[str, str]:
    return {flat[i].decode(): flat[i + 1].decode() for i in range(0, len(flat), 2)}


Call = tuple[list[str], list[Any], "asyncio.Future[Any]"]


class _Coalescer:
    """Runs one script for every caller that arrived in the same event-loop tick, in one
    pipeline (one round trip, one connection) instead of one call each: under load, many
    heartbeats arrive together. Each caller gets its own result or exception."""

    def __init__(self, redis: Redis, script: AsyncScript) -> None:
        self.redis = redis
        self.script = script
        self._pending: list[Call] = []
        self._flushes: set[asyncio.Task[None]] = set()  # strong references while they run

    async def __call__(self, keys: list[str], args: list[Any]) -> Any:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Any] = loop.create_future()
        if not self._pending:
            loop.call_soon(self._start_flush)
        self._pending.append((keys, args, future))
        return await future

    def _start_flush(self) -> None:
        task = asyncio.get_running_loop().create_task(self._flush())
        self._flushes.add(task)
        task.add_done_callback(self._flushes.discard)

    async def _flush(self) -> None:
        calls, self._pending = self._pending, []
        try:
            results = await self._run(calls)
        except BaseException as exc:  # the pipeline failed: every caller sees why
            for _, _, future in calls:
                if not future.done():
                    future.set_exception(exc)
            if not isinstance(exc, Exception):
                raise
            return
        for (keys, args, future), result in zip(calls, results, strict=True):
            if future.done():
                continue
            if isinstance(result, NoScriptError):  # Redis restarted or flushed its scripts
                try:
                    result = await self.script(keys=keys, args=args)
                except Exception as exc:
                    result = exc
            if isinstance(result, Exception):
                future.set_exception(result)
            else:
                future.set_result(result)

    async def _run(self, calls: list[Call]) -> list[Any]:
        if len(calls) == 1:
            keys, args, _ = calls[0]
            try:
                return [await self.script(keys=keys, args=args)]
            except Exception as exc:
                return [exc]
        pipe = self.redis.pipeline(transaction=False)
        for keys, args, _ in calls:
            pipe.execute_command("EVALSHA", self.script.sha, len(keys), *keys, *args)
        return list(await pipe.execute(raise_on_error=False))


class Presence:
    def __init__(self, redis: Redis, namespace: str) -> None:
        self.redis = redis
        self.prefix = f"{namespace}:visitors"
        self._touch = redis.register_script(_TOUCH)
        self._heartbeat = redis.register_script(_HEARTBEAT)
        self._heartbeats = _Coalescer(redis, self._heartbeat)
        self._update = redis.register_script(_UPDATE)
        self._sweep = redis.register_script(_SWEEP)
        self._list = redis.register_script(_LIST)

    def _keys(self, account_id: uuid.UUID, visitor_id: uuid.UUID) -> list[str]:
        return [
            f"{self.prefix}:active:{account_id}",
            f"{self.prefix}:presence",
            f"{self.prefix}:v:{account_id}:{visitor_id}",
            f"{self.prefix}:f:{account_id}",
        ]

    async def touch(
        self, account_id: uuid.UUID, visitor_id: uuid.UUID, now: float, fields: dict[str, str]
    ) -> bool:
        """Mark the visitor active with these row fields; True when it just arrived."""
        args: list[Any] = [now, str(visitor_id), f"{account_id}:{visitor_id}", HASH_TTL_SECONDS]
        for key, value in fields.items():
            args += [key, value]
        return bool(await self._touch(keys=self._keys(account_id, visitor_id), args=args))

    async def heartbeat(self, account_id: uuid.UUID, visitor_id: uuid.UUID, now: float) -> bool:
        """Refresh an active visitor; False when it is not active (it must arrive again)."""
        return bool(
            await self._heartbeats(
                self._keys(account_id, visitor_id),
                [now, str(visitor_id), f"{account_id}:{visitor_id}"],
            )
        )

    async def update(
        self, account_id: uuid.UUID, visitor_id: uuid.UUID, fields: dict[str, str]
    ) -> bool:
        """Change row fields of an active visitor; nothing when it is not active."""
        args: list[Any] = [str(visitor_id)]
        for key, value in fields.items():
            args += [key, value]
        return bool(await self._update(keys=self._keys(account_id, visitor_id), args=args))

    async def get(self, account_id: uuid.UUID, visitor_id: uuid.UUID) -> dict[str, str] | None:
        raw = await self.redis.hgetall(self._keys(account_id, visitor_id)[2])  # type: ignore[misc]
        if not raw:
            return None
        return {_text(k): _text(v) for k, v in raw.items()}

    async def forget(self, account_id: uuid.UUID, visitor_id: uuid.UUID) -> None:
        """GDPR erasure: the visitor leaves every presence key at once."""
        active, presence, row, filters = self._keys(account_id, visitor_id)
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.zrem(active, str(visitor_id))
            pipe.zrem(presence, f"{account_id}:{visitor_id}")
            pipe.delete(row)
            pipe.hdel(filters, str(visitor_id))
            await pipe.execute()

    async def count(self, account_id: uuid.UUID) -> int:
        return int(await self.redis.zcard(f"{self.prefix}:active:{account_id}"))

    async def active(
        self,
        account_id: uuid.UUID,
        *,
        limit: int,
        cursor: tuple[float, str] | None = None,
        url_contains: str = "",
        returning: bool | None = None,
        chatting: bool | None = None,
    ) -> tuple[list[ActiveEntry], bool]:
        """A page of active visitors, newest activity first; True when more follow."""
        flag = {None: "", True: "1", False: "0"}
        raw = await self._list(
            keys=[f"{self.prefix}:active:{account_id}", f"{self.prefix}:f:{account_id}"],
            args=[
                repr(cursor[0]) if cursor else "+inf",
                repr(cursor[0]) if cursor else "",
                cursor[1] if cursor else "",
                limit,
                url_contains.lower(),
                flag[returning],
                flag[chatting],
                f"{self.prefix}:v:{account_id}:",
            ],
        )
        entries = [
            ActiveEntry(uuid.UUID(member.decode()), float(score), _pairs(h))
            for member, score, h in raw
        ]
        return entries[:limit], len(entries) > limit

    async def oldest_activity(self) -> float | None:
        """The last activity (epoch s) of the visitor silent longest; None when nobody is here."""
        oldest = await self.redis.zrange(f"{self.prefix}:presence", 0, 0, withscores=True)
        return float(oldest[0][1]) if oldest else None

    async def pop_expired(self, cutoff: float, batch: int = 500) -> list[Expired]:
        raw = await self._sweep(
            keys=[f"{self.prefix}:presence"],
            args=[
                cutoff,
                batch,
                f"{self.prefix}:active:",
                f"{self.prefix}:v:",
                f"{self.prefix}:f:",
            ],
        )
        return [
            Expired(uuid.UUID(acc.decode()), uuid.UUID(vid.decode()), _pairs(data))
            for acc, vid, data in raw
        ]
