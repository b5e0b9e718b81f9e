"""The chat service's routers: each domain package's ``routes.router``, and the internal one."""

from __future__ import annotations

from parley_chat.attachments import routes as attachments
from parley_chat.conversations import routes as conversations
from parley_chat.facebook import routes as facebook
from parley_chat.messages import routes as messages
from parley_chat.routes import internal
from parley_chat.shortcuts import routes as shortcuts
from parley_chat.stats import routes as stats
from parley_chat.widget import routes as widget

ROUTERS = [
    conversations.router,
    messages.router,
    widget.router,
    attachments.router,
    shortcuts.router,
    stats.router,
    facebook.router,
    internal.router,
]
