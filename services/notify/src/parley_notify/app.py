"""The notify service's FastAPI app."""

from __future__ import annotations

from parley_common.app import create_service_app
from parley_notify.routes import ROUTERS

app = create_service_app("notify", ROUTERS)
