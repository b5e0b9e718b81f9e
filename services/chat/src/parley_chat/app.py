"""The chat service's FastAPI app."""

from __future__ import annotations

from contextlib import AsyncExitStack

from fastapi import FastAPI

from parley_chat.config import get_chat_settings
from parley_chat.deps import local_storage
from parley_chat.facebook.graph import open_graph
from parley_chat.routes import ROUTERS
from parley_common.app import create_service_app


async def open_storage(app: FastAPI, stack: AsyncExitStack) -> None:
    app.state.storage = local_storage(get_chat_settings())


app = create_service_app(
    "chat",
    ROUTERS,
    on_startup=[open_storage, open_graph],
    description="Conversations, messages, attachments, shortcuts, "
    "transcripts, e-mail replies, Facebook Messenger and SmartHub statistics.",
)
