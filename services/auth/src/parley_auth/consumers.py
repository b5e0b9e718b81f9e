"""Handlers the auth worker runs for other services' events."""

from __future__ import annotations

from parley_auth.events import outbox
from parley_common.erasure import erasure_consumer
from parley_common.events.consumer import Consumer

# Auth holds nothing about visitors; it still answers a GDPR erasure (and forgets events).
CONSUMERS: list[Consumer] = [erasure_consumer(outbox)]
