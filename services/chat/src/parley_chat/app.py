"""The chat service's FastAPI app."""

from __future__ import annotations

from parley_chat.facebook.graph import open_graph
from parley_chat.routes import ROUTERS
from parley_common.app import create_service_app
from parley_common.storage import storage_opener

app = create_service_app(
    "chat",
    ROUTERS,
    on_startup=[storage_opener("chat"), open_graph],
    description="Conversations, messages, attachments, shortcuts, "
    "transcripts, e-mail replies, Facebook Messenger and SmartHub statistics.",
)
