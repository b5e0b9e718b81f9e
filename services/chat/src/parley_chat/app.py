"""The chat service's FastAPI app."""

from __future__ import annotations

from fastapi import FastAPI

from parley_chat.facebook.graph import open_graph
from parley_chat.routes import ROUTERS
from parley_chat.widget.routes import MESSAGES_PATH, send_message_fast
from parley_common import fastpath
from parley_common.app import create_service_app
from parley_common.storage import storage_opener


def create_app(*, fast_path: bool = True) -> FastAPI:
    """The app; without the fast path (tests compare both), FastAPI's route answers messages."""
    app = create_service_app(
        "chat",
        ROUTERS,
        on_startup=[storage_opener("chat"), open_graph],
        description="Conversations, messages, attachments, shortcuts, "
        "transcripts, e-mail replies, Facebook Messenger and SmartHub statistics.",
    )
    if fast_path:
        fastpath.install(app, "POST", MESSAGES_PATH, send_message_fast)
    return app


app = create_app()
