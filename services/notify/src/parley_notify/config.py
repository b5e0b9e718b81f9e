"""The notify service's settings (environment variables with the PARLEY_ prefix)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from parley_common.settings import Settings


class NotifySettings(Settings):
    # APNs token authentication: the .p8 key from the Apple developer account.
    apns_key_file: Path | None = None
    apns_key_id: str = ""
    apns_team_id: str = ""
    # Default topic (the app's bundle id) for devices that did not say theirs.
    apns_topic: str = "dev.parley.app"
    # Where the HTTP/2 connections go; tests and staging point these at a double.
    apns_production_host: str = "api.push.apple.com"
    apns_sandbox_host: str = "api.sandbox.push.apple.com"
    apns_port: int = 443
    # CA bundle (PEM) to trust instead of the system store; None = the system store.
    apns_ca_file: Path | None = None
    apns_max_connections: int = 4
    # Requests awaiting an answer at once (APNs allows ~1000 streams per connection).
    apns_max_in_flight: int = 100
    apns_expiration_seconds: int = 3600

    # Retries of 429 / 5xx answers: the delay before attempt n+1 is base * 4**(n-1), capped.
    push_max_attempts: int = 4
    push_retry_base_ms: int = 1000
    push_retry_max_ms: int = 60_000
    push_batch_size: int = 500
    push_text_max_chars: int = 178

    max_devices_per_agent: int = 10
    # New-visitor pushes in this window are coalesced into one notification with a count.
    visitor_burst_seconds: float = 10.0
    # A visitor message with no agent reply after this long is a missed chat (e-mail).
    missed_chat_after_seconds: int = 300
    # The shortest pause of the sweeps (bursts, missed chats, mail retries), and their poll
    # while the worker's LISTEN connection is down.
    sweep_interval_seconds: float = 1.0

    # Outgoing webhooks. Private, loopback and link-local targets only when allowed (tests,
    # on-premise): PARLEY_WEBHOOKS_ALLOW_PRIVATE=true.
    webhooks_allow_private: bool = False
    webhook_timeout_seconds: float = 10.0
    webhook_max_connections: int = 50
    webhook_batch_size: int = 50
    # The sender's shortest pause (all connections busy, a due delivery it cannot claim).
    webhook_poll_seconds: float = 0.5
    # A failed delivery is tried again after base * 2**(n-1) seconds (capped) until the window
    # since its first attempt ends; then the webhook is disabled and the admins e-mailed.
    webhook_retry_base_seconds: float = 30.0
    webhook_retry_max_seconds: float = 3600.0
    webhook_retry_window_seconds: float = 86_400.0


@lru_cache
def get_notify_settings() -> NotifySettings:
    return NotifySettings()
