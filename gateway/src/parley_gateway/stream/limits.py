"""How many stream sockets a client may hold, and how fast it may try to open them.

Concurrent sockets are counted per gateway process (exact, nothing to leak when a process dies;
with N gateway replicas a client behind one address can hold at most N times the limit):

- per address (the client's, as nginx forwards it: parley_common.security.client_ip),
- per visitor and per agent (an agent's phone, tablet and browser each hold one).

A socket past a limit is accepted and closed at once with ``CLOSE_TOO_MANY`` (4029) and a
reason, which a browser can read (an HTTP refusal of the upgrade reaches page code as 1006).

Upgrade attempts are rate limited per address before anything else is looked at (tokens,
tickets, Redis): past the limit the upgrade is refused with 429 and Retry-After.
"""

from __future__ import annotations

import contextlib
from collections import Counter
from collections.abc import Iterator

from starlette.websockets import WebSocket

from parley_common.errors import TooManyRequests
from parley_common.security import client_ip
from parley_common.stream_frames import CLOSE_TOO_MANY
from parley_gateway.stream.config import get_stream_settings


def client_address(websocket: WebSocket) -> str:
    return client_ip(websocket) or "unknown"


async def check_upgrade_rate(websocket: WebSocket) -> None:
    """Counts every upgrade attempt of the address; raises TooManyRequests past the limit."""
    limit = get_stream_settings().stream_upgrades_per_minute_per_address
    limiter = websocket.app.state.rate_limiter
    wait = await limiter.hit(f"ws-upgrade:{client_address(websocket)}", limit=limit, window=60)
    if wait is not None:
        raise TooManyRequests(wait, "Too many stream connection attempts; retry later.")


class SocketCounts:
    """Open sockets of this process by key (``addr:…``, ``visitor:…``, ``agent:…``)."""

    def __init__(self) -> None:
        self.open: Counter[str] = Counter()

    @contextlib.contextmanager
    def hold(self, limits: list[tuple[str, int]]) -> Iterator[str | None]:
        """Holds one socket under each key; yields None, or the key whose limit is reached
        (then nothing is held)."""
        full = next((key for key, limit in limits if self.open[key] >= limit), None)
        if full is not None:
            yield full
            return
        for key, _ in limits:
            self.open[key] += 1
        try:
            yield None
        finally:
            for key, _ in limits:
                self.open[key] -= 1
                if self.open[key] <= 0:
                    del self.open[key]


def visitor_limits(websocket: WebSocket, visitor_id: str) -> list[tuple[str, int]]:
    settings = get_stream_settings()
    return [
        (f"addr:{client_address(websocket)}", settings.stream_sockets_per_address),
        (f"visitor:{visitor_id}", settings.stream_sockets_per_visitor),
    ]


def agent_limits(websocket: WebSocket, agent_id: str) -> list[tuple[str, int]]:
    settings = get_stream_settings()
    return [
        (f"addr:{client_address(websocket)}", settings.stream_sockets_per_address),
        (f"agent:{agent_id}", settings.stream_sockets_per_agent),
    ]


async def refuse(websocket: WebSocket, key: str) -> None:
    kind = key.partition(":")[0]
    reason = {"addr": "address", "visitor": "visitor", "agent": "agent"}[kind]
    await websocket.accept()
    await websocket.close(CLOSE_TOO_MANY, f"too many connections for this {reason}")
