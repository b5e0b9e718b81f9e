"""A gateway process's one Redis subscriber: account channels in, frames out to local sockets.

A socket first joins its account's channel (and waits for Redis to confirm the subscription),
then reads the replay log from its position, then merges the live frames that arrived in the
meantime by ``seq``. A live frame that skips a ``seq`` sends the socket back to the log, so a
lost pub/sub message (Redis reconnect) becomes a replay, never a hole.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

import orjson
from redis.asyncio import Redis
from redis.exceptions import RedisError

from parley_common import telemetry
from parley_common.contracts import typing_frame
from parley_common.stream_frames import HelloFrame
from parley_gateway.stream.config import Keys, StreamSettings
from parley_gateway.stream.sequencer import new_epoch
from parley_gateway.stream.subscriber import CLOSE_UNAVAILABLE, Subscriber

log = logging.getLogger("parley.stream.hub")

CHUNK = 100  # replayed frames per Redis round trip

# KEYS: meta, log. ARGV: first seq wanted (0 = none), count, epoch if none, meta ttl.
# One atomic snapshot: the account's epoch and head seq, and the log from the position on.
REPLAY = """
local epoch = redis.call('HGET', KEYS[1], 'epoch')
if not epoch then
  epoch = ARGV[3]
  redis.call('HSET', KEYS[1], 'epoch', epoch)
  redis.call('EXPIRE', KEYS[1], ARGV[4])
  redis.call('DEL', KEYS[2])
end
local head = redis.call('HGET', KEYS[1], 'seq') or '0'
local entries = {}
if ARGV[1] ~= '0' then
  entries = redis.call('XRANGE', KEYS[2], ARGV[1] .. '-0', '+', 'COUNT', ARGV[2])
end
return {epoch, head, entries}
"""


class Hub:
    def __init__(self, redis: Redis, namespace: str, settings: StreamSettings) -> None:
        self.redis = redis
        self.keys = Keys(namespace)
        self.settings = settings
        self.replay = redis.register_script(REPLAY)
        self.pubsub = redis.pubsub()
        self.accounts: dict[str, set[Subscriber]] = {}
        self.subscribed: dict[str, asyncio.Future[None]] = {}
        self.channels: dict[bytes, tuple[str, str]] = {}
        self.lock = asyncio.Lock()
        self.tasks: set[asyncio.Task[None]] = set()
        self.listener: asyncio.Task[None] | None = None

    async def start(self) -> None:
        # A permanent subscription keeps the listener's connection alive between sockets.
        await self.pubsub.subscribe(self.keys.control())
        self.listener = asyncio.create_task(self._listen(), name="stream-hub")

    async def stop(self) -> None:
        if self.listener is not None:
            self.listener.cancel()
            await asyncio.gather(self.listener, return_exceptions=True)
        for task in list(self.tasks):
            task.cancel()
        await self.pubsub.aclose()

    @property
    def sockets(self) -> int:
        return sum(len(s) for s in self.accounts.values())

    # --- membership --------------------------------------------------------------------------
    async def open(self, sub: Subscriber, since: int | None, epoch: str | None) -> None:
        """Subscribe, then position the socket (hello, replay or reset), then go live."""
        await self._join(sub)
        current, head, _ = await self._snapshot(sub.account_id, 0)
        if since is None:
            sub.epoch, sub.last_seq = current, head
            sub.push_json(HelloFrame(type="hello", epoch=current, seq=head))
        elif epoch != current or since > head:
            sub.reset(current, head)
        else:
            sub.epoch, sub.last_seq = current, since
            sub.push_json(HelloFrame(type="hello", epoch=current, seq=since))
        await self.catch_up(sub)

    async def _join(self, sub: Subscriber) -> None:
        account = sub.account_id
        self.accounts.setdefault(account, set()).add(sub)
        async with self.lock:
            ready = self.subscribed.get(account)
            if ready is None:
                ready = self.subscribed[account] = asyncio.get_running_loop().create_future()
                stream, typing = self.keys.channel(account), self.keys.typing(account)
                self.channels[stream.encode()] = ("stream", account)
                self.channels[typing.encode()] = ("typing", account)
                try:
                    await self.pubsub.subscribe(stream, typing)
                except BaseException:
                    del self.subscribed[account]
                    raise
        await asyncio.wait_for(asyncio.shield(ready), 10)

    def leave(self, sub: Subscriber) -> None:
        subs = self.accounts.get(sub.account_id)
        if subs is None:
            return
        subs.discard(sub)
        if not subs:
            del self.accounts[sub.account_id]
            self._spawn(self._unsubscribe(sub.account_id))

    async def _unsubscribe(self, account: str) -> None:
        async with self.lock:
            if account in self.accounts or account not in self.subscribed:
                return
            del self.subscribed[account]
            stream, typing = self.keys.channel(account), self.keys.typing(account)
            self.channels.pop(stream.encode(), None)
            self.channels.pop(typing.encode(), None)
            await self.pubsub.unsubscribe(stream, typing)

    def _spawn(self, coro: Any) -> None:
        task = asyncio.create_task(coro)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def position(self, account: str) -> tuple[str, int]:
        """The account's epoch and latest seq now (an epoch is made if it has none yet)."""
        epoch, head, _ = await self._snapshot(account, 0)
        return epoch, head

    # --- replay ------------------------------------------------------------------------------
    async def _snapshot(self, account: str, start: int) -> tuple[str, int, list[Any]]:
        epoch, head, entries = await self.replay(
            keys=[self.keys.meta(account), self.keys.log(account)],
            args=[start, CHUNK, new_epoch(), self.settings.stream_meta_seconds],
        )
        return epoch.decode(), int(head), entries

    async def catch_up(self, sub: Subscriber) -> None:
        """Replay from the log until the socket is level with the live frames, then go live."""
        try:
            while sub.close_code is None:
                start = sub.last_seq + 1
                epoch, head, entries = await self._snapshot(sub.account_id, start)
                if epoch != sub.epoch:
                    sub.reset(epoch, head)
                elif head >= start:
                    if not self._replayable(entries, start):
                        sub.reset(epoch, head)
                    else:
                        for entry_id, fields in entries:
                            sub.deliver(
                                int(entry_id.split(b"-", 1)[0]), _field(fields, b"f").decode(), None
                            )
                        if len(entries) == CHUNK:
                            await self._room(sub)
                            continue
                if self._merge_pending(sub):
                    sub.syncing = False
                    return
        except (RedisError, OSError, TimeoutError) as exc:
            log.warning("replay failed for a socket (%r); closing it so it resumes", exc)
            sub.close(CLOSE_UNAVAILABLE)

    def _replayable(self, entries: list[Any], start: int) -> bool:
        if not entries or int(entries[0][0].split(b"-", 1)[0]) != start:
            return False  # trimmed out of the window (count) or the log expired
        added_ms = int(_field(entries[0][1], b"t") or 0)
        return added_ms >= (time.time() - self.settings.stream_window_seconds) * 1000

    @staticmethod
    def _merge_pending(sub: Subscriber) -> bool:
        """Deliver buffered live frames in order; False when a gap needs another replay."""
        pending, sub.pending = sub.pending, []
        pending.sort(key=lambda p: p[0])
        for index, (seq, raw, frame) in enumerate(pending):
            if frame is not None and frame.get("epoch") != sub.epoch:
                continue  # published under an epoch that no longer exists
            if seq <= sub.last_seq:
                continue
            if seq != sub.last_seq + 1:
                sub.pending = pending[index:] + sub.pending
                return False
            sub.deliver(seq, raw, frame)
        return not sub.pending

    async def _room(self, sub: Subscriber) -> None:
        """Let the socket's writer drain before the next replayed chunk."""
        # Polling is fine here: it only runs while a long replay outpaces the socket.
        while sub.close_code is None and len(sub.out) > sub.max_queue - CHUNK:  # noqa: ASYNC110
            await asyncio.sleep(0.005)

    def _resync(self, sub: Subscriber) -> None:
        self._spawn(self.catch_up(sub))

    # --- typing ------------------------------------------------------------------------------
    async def publish_typing(
        self, sub: Subscriber, conversation: str | None, is_typing: bool
    ) -> bool:
        """Fan a socket's typing hint out, unsequenced; False for an unknown conversation."""
        owner = None
        if conversation is not None:
            value = await self.redis.get(self.keys.conversation(sub.account_id, conversation))
            owner = value.decode() if isinstance(value, bytes) else value
            if owner is None or (sub.is_visitor and owner != sub.visitor_id):
                return False
        frame = typing_frame(
            conversation_id=conversation,
            visitor_id=sub.visitor_id or owner,
            author_type="visitor" if sub.is_visitor else "agent",
            author_id=sub.visitor_id or sub.agent_id,
            author_name=None,  # the gateway keeps no names; chat's REST typing names the author
            is_typing=is_typing,
        )
        await self.redis.publish(self.keys.typing(sub.account_id), orjson.dumps(frame))
        return True

    # --- live frames -------------------------------------------------------------------------
    async def _listen(self) -> None:
        while True:
            try:
                async for message in self.pubsub.listen():
                    self._dispatch(message)
            except asyncio.CancelledError:
                raise
            except (RedisError, OSError) as exc:
                log.warning("stream subscriber lost redis (%r); reconnecting", exc)
                await asyncio.sleep(0.5)
            except Exception:
                log.exception("stream subscriber failed; restarting")
                await asyncio.sleep(0.5)

    def _dispatch(self, message: dict[str, Any]) -> None:
        route = self.channels.get(message["channel"])
        if route is None:
            return
        kind, account = route
        if message["type"] == "subscribe":
            if kind == "stream":
                self._confirmed(account)
            return
        if message["type"] != "message":
            return
        subs = self.accounts.get(account)
        if not subs:
            return
        payload = message["data"]
        data: bytes = payload.encode() if isinstance(payload, str) else payload
        frame = orjson.loads(data)
        raw = data.decode()
        if kind == "typing":
            if frame.get("type") != "typing":
                frame["type"] = "typing"
                raw = orjson.dumps(frame).decode()
            for sub in list(subs):
                sub.offer_typing(raw, frame)
        elif frame.get("type") == "event":
            if "traceparent" in frame and telemetry.enabled():
                with telemetry.span(
                    f"stream deliver {frame.get('event')}",
                    parent=frame["traceparent"],
                    kind="PRODUCER",
                    sockets=len(subs),
                ):
                    self._offer(subs, raw, frame)
            else:
                self._offer(subs, raw, frame)
        elif frame.get("type") == "control":
            for sub in list(subs):
                sub.offer_control(frame)

    def _offer(self, subs: Any, raw: str, frame: dict[str, Any]) -> None:
        seq = int(frame["seq"])
        for sub in list(subs):
            if sub.offer(seq, raw, frame):
                self._resync(sub)

    def _confirmed(self, account: str) -> None:
        ready = self.subscribed.get(account)
        if ready is None:
            return
        if not ready.done():
            ready.set_result(None)
            return
        # Re-subscribed after a reconnect: frames published meanwhile are only in the log.
        for sub in list(self.accounts.get(account, ())):
            if not sub.syncing:
                sub.syncing = True
                self._resync(sub)


def _field(fields: Any, name: bytes) -> bytes:
    """A field of a stream entry (redis-py returns a dict, or a flat list from Lua)."""
    if isinstance(fields, dict):
        value: bytes = fields.get(name, b"")
        return value
    for index in range(0, len(fields) - 1, 2):
        if fields[index] == name:
            out: bytes = fields[index + 1]
            return out
    return b""
