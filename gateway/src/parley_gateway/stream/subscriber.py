"""One socket's view of its account's stream: position, filter and a bounded send queue."""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Mapping
from typing import Any

import orjson

from parley_common.stream_frames import (
    CLOSE_REVOKED,
    CLOSE_TOO_SLOW,
    CLOSE_UNAVAILABLE,
    ResetFrame,
)
from parley_gateway.stream.audience import (
    AGENT_REMOVED,
    typing_reaches_agent,
    typing_reaches_visitor,
    visitor_may_see,
)

# Close codes are the protocol's (parley_common.stream_frames, documented in /asyncapi.json).
__all__ = ["CLOSE_REVOKED", "CLOSE_TOO_SLOW", "CLOSE_UNAVAILABLE", "Subscriber"]
CLOSE_DISCONNECTED = -1  # the client went away: nothing to send

Pending = tuple[int, str, dict[str, Any] | None]


class Subscriber:
    """Frames flow hub → ``offer``/``deliver`` → ``out`` → the socket's writer.

    While ``syncing`` (replaying from the log), live frames wait in ``pending``; the hub's
    catch-up merges them after the replay by ``seq``, so nothing is lost or sent twice.
    """

    __slots__ = (
        "account_id",
        "agent_id",
        "close_code",
        "draining",
        "epoch",
        "last_seq",
        "last_typing",
        "max_queue",
        "out",
        "pending",
        "session_id",
        "syncing",
        "visitor_id",
        "waiter",
    )

    def __init__(
        self,
        *,
        account_id: str,
        max_queue: int,
        agent_id: str | None = None,
        session_id: str | None = None,
        visitor_id: str | None = None,
    ) -> None:
        self.account_id = account_id
        self.agent_id = agent_id
        self.session_id = session_id
        self.visitor_id = visitor_id
        self.max_queue = max_queue
        self.out: deque[str] = deque()
        self.waiter: asyncio.Future[None] | None = None
        self.close_code: int | None = None
        self.draining = False
        self.epoch = ""
        self.last_seq = 0
        self.syncing = True
        self.pending: list[Pending] = []
        self.last_typing = 0.0

    @property
    def is_visitor(self) -> bool:
        return self.visitor_id is not None

    # --- output ------------------------------------------------------------------------------
    def push(self, text: str) -> None:
        if self.close_code is not None:
            return
        if len(self.out) >= self.max_queue:
            self.close(CLOSE_TOO_SLOW)
            return
        self.out.append(text)
        self._wake()

    def push_json(self, frame: Mapping[str, object]) -> None:
        self.push(orjson.dumps(frame).decode())

    def close(self, code: int, *, drain: bool = False) -> None:
        """Close with ``code``; with ``drain`` the frames already queued are sent first."""
        if self.close_code is None:
            self.close_code = code
            self.draining = drain
            if not drain:
                self.out.clear()
            self.pending.clear()
            self._wake()
        elif not drain:
            self.draining = False
            self.out.clear()

    def _wake(self) -> None:
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_result(None)

    async def next_frame(self) -> str | None:
        """The next frame to send, or None when the socket must close (``close_code``)."""
        while not self.out and self.close_code is None:
            self.waiter = asyncio.get_running_loop().create_future()
            try:
                await self.waiter
            finally:
                self.waiter = None
        if self.close_code is not None and not (self.draining and self.out):
            return None
        return self.out.popleft()

    # --- sequenced frames --------------------------------------------------------------------
    def offer(self, seq: int, raw: str, frame: dict[str, Any]) -> bool:
        """A live frame from the hub. Returns True when a gap means the hub must catch up."""
        if self.close_code is not None:
            return False
        if self.syncing:
            if len(self.pending) >= self.max_queue:
                self.close(CLOSE_TOO_SLOW)
            else:
                self.pending.append((seq, raw, frame))
            return False
        if frame.get("epoch") != self.epoch:
            # Redis lost the account's log (flush or expiry): numbering restarted.
            self.reset(str(frame.get("epoch")), seq - 1)
        if seq <= self.last_seq:
            return False
        if seq == self.last_seq + 1:
            self.deliver(seq, raw, frame)
            return False
        self.syncing = True
        self.pending.append((seq, raw, frame))
        return True

    def deliver(self, seq: int, raw: str, frame: dict[str, Any] | None) -> None:
        """Send the frame at ``seq`` if this socket may see it; advance the position."""
        self.last_seq = seq
        if self.visitor_id is not None:
            frame = frame if frame is not None else orjson.loads(raw)
            if visitor_may_see(frame, self.visitor_id):
                self.push(raw)
            return
        self.push(raw)
        if AGENT_REMOVED in raw:
            frame = frame if frame is not None else orjson.loads(raw)
            if (
                frame.get("event") == AGENT_REMOVED
                and (frame.get("data") or {}).get("agent_id") == self.agent_id
            ):
                self.close(CLOSE_REVOKED, drain=True)

    def reset(self, epoch: str, seq: int) -> None:
        """The client's position cannot be served: it refetches over REST and goes on from here."""
        self.epoch = epoch
        self.last_seq = seq
        self.push_json(ResetFrame(type="reset", epoch=epoch, seq=seq))

    # --- unsequenced frames ------------------------------------------------------------------
    def offer_typing(self, raw: str, frame: dict[str, Any]) -> None:
        if self.visitor_id is not None:
            if typing_reaches_visitor(frame, self.visitor_id):
                self.push(raw)
        elif self.agent_id is not None and typing_reaches_agent(frame, self.agent_id):
            self.push(raw)

    def offer_control(self, frame: dict[str, Any]) -> None:
        if (
            frame.get("close") == "session"
            and self.session_id is not None
            and frame.get("session_id") == self.session_id
        ):
            self.close(CLOSE_REVOKED)
