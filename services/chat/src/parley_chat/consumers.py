"""Handlers the chat worker runs for other services' events."""

from __future__ import annotations

from parley_common.events.consumer import Consumer

CONSUMERS: list[Consumer] = []
