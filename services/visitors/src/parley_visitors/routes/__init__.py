"""HTTP routes of the visitors service."""

from __future__ import annotations

from fastapi import APIRouter

from parley_visitors.routes import privacy, visitors, widget

ROUTERS: list[APIRouter] = [widget.router, visitors.router, privacy.router, privacy.erasures]
