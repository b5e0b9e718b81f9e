"""The auth service's FastAPI app."""

from __future__ import annotations

from parley_auth.routes import ROUTERS
from parley_common.app import create_service_app

app = create_service_app("auth", ROUTERS)
