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

# The widget's first: the visitor's message is the hottest request, and routes are matched
# in order (no path of one router matches another's).
ROUTERS = [
    widget.router,
    conversations.router,
    messages.router,
    attachments.router,
    shortcuts.router,
    stats.router,
    facebook.router,
    internal.router,
]
