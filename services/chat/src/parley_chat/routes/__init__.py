"""The chat service's routers."""

from __future__ import annotations

from parley_chat.routes import (
    attachments,
    conversations,
    facebook,
    internal,
    shortcuts,
    stats,
    widget,
)

ROUTERS = [
    conversations.router,
    widget.router,
    attachments.router,
    shortcuts.router,
    stats.router,
    facebook.router,
    internal.router,
]
