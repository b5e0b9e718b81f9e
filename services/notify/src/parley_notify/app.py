"""The notify service's FastAPI app."""

from __future__ import annotations

from contextlib import AsyncExitStack

from fastapi import FastAPI

from parley_common import sealed
from parley_common.app import create_service_app
from parley_common.events import broker
from parley_notify.routes import ROUTERS


async def open_broker(app: FastAPI, stack: AsyncExitStack) -> None:
    """A channel to bind the worker's queue to an account's messages (parley_notify.routing)."""
    connection = await broker.connect(app.state.settings.rabbitmq_url, name="parley-notify")
    stack.push_async_callback(connection.close)
    app.state.broker_channel = await connection.channel()
    sealed.check()  # webhook secrets are sealed: refuse to start without the key


app = create_service_app("notify", ROUTERS, on_startup=[open_broker])
