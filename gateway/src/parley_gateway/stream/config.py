"""Stream settings (env ``PARLEY_STREAM_...``) and the Redis names the stream uses."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from parley_common.contracts import typing_channel
from parley_common.settings import Settings


class StreamSettings(Settings):
    # Replay window: the last `count` events per account, none older than `seconds`.
    stream_window_count: int = 1000
    stream_window_seconds: int = 3600
    # How long an event id is remembered so a redelivery is not sequenced twice.
    stream_dedupe_seconds: int = 6 * 3600
    # An account's epoch and counter outlive a quiet period of this length.
    stream_meta_seconds: int = 30 * 24 * 3600
    # Frames buffered per socket before a slow client is closed with 4008.
    stream_send_queue: int = 500
    stream_ticket_seconds: int = 30
    stream_prefetch: int = 512
    stream_batch: int = 256
    # Concurrent sockets per gateway process (close code 4029 past them), and upgrade attempts
    # per address and minute (429 past it). An office behind one NAT shares the address limits.
    stream_sockets_per_address: int = 500
    stream_sockets_per_visitor: int = 10
    stream_sockets_per_agent: int = 20
    stream_upgrades_per_minute_per_address: int = 600


@lru_cache
def get_stream_settings() -> StreamSettings:
    return StreamSettings()


@dataclass(frozen=True)
class Keys:
    """Every Redis key and channel of the stream, under the settings' namespace."""

    ns: str

    def meta(self, account_id: str) -> str:
        return f"{self.ns}:stream:{{{account_id}}}:meta"

    def log(self, account_id: str) -> str:
        return f"{self.ns}:stream:{{{account_id}}}:log"

    def seen(self, account_id: str, event_id: str) -> str:
        return f"{self.ns}:stream:{{{account_id}}}:seen:{event_id}"

    def channel(self, account_id: str) -> str:
        return f"{self.ns}:stream:{account_id}"

    def typing(self, account_id: str) -> str:
        return typing_channel(self.ns, account_id)

    def control(self) -> str:
        return f"{self.ns}:stream:control"

    def ticket(self, ticket: str) -> str:
        return f"{self.ns}:stream:ticket:{ticket}"

    def domains(self, account_id: str) -> str:
        return f"{self.ns}:stream:domains:{account_id}"

    def erased(self, account_id: str, visitor_id: str) -> str:
        """Set when a visitor is erased (GDPR): later events about it are not sequenced."""
        return f"{self.ns}:stream:{{{account_id}}}:erased:{visitor_id}"

    def conversation(self, account_id: str, conversation_id: str) -> str:
        return f"{self.ns}:stream:{{{account_id}}}:conv:{conversation_id}"
