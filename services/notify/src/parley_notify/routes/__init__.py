"""HTTP routes of the notify service."""

from __future__ import annotations

from fastapi import APIRouter

from parley_notify.routes.devices import router as devices_router
from parley_notify.routes.settings import router as settings_router
from parley_notify.routes.webhooks import router as webhooks_router

ROUTERS: list[APIRouter] = [devices_router, settings_router, webhooks_router]
