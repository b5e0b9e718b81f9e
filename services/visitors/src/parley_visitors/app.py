"""The visitors service's FastAPI app."""

from __future__ import annotations

from contextlib import AsyncExitStack

import httpx
from fastapi import FastAPI

from parley_common.app import create_service_app
from parley_visitors import fastpath
from parley_visitors.client_info import CountryLookup
from parley_visitors.config import get_visitors_settings
from parley_visitors.presence import Presence
from parley_visitors.routes import ROUTERS


async def open_presence(app: FastAPI, stack: AsyncExitStack) -> None:
    settings = get_visitors_settings()
    app.state.presence = Presence(app.state.redis, settings.namespace)
    app.state.countries = CountryLookup.from_csv(settings.visitors_geoip_csv)
    # For the internal APIs of the other services (GDPR export).
    app.state.http = httpx.AsyncClient()
    stack.push_async_callback(app.state.http.aclose)


app = create_service_app(
    "visitors",
    ROUTERS,
    on_startup=[open_presence],
    description="Website visitors: widget sessions, presence, browsing history, profiles, "
    "blocking.",
)
fastpath.install(app)
