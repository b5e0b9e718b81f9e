"""HTTP routes of the bots service."""

from __future__ import annotations

from fastapi import APIRouter

from parley_bots.routes import automatic_messages, chatbots, internal, stats

ROUTERS: list[APIRouter] = [
    automatic_messages.router,
    chatbots.router,
    stats.router,
    internal.router,
]
