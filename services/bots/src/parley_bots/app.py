"""The bots service's FastAPI app."""

from __future__ import annotations

from parley_bots.routes import ROUTERS
from parley_common.app import create_service_app

app = create_service_app("bots", ROUTERS)
