"""The auth service's FastAPI app."""

from __future__ import annotations

from parley_auth.routes import ROUTERS
from parley_common.app import create_service_app
from parley_common.storage import storage_opener

app = create_service_app("auth", ROUTERS, on_startup=[storage_opener("avatars")])
