"""HTTP routes of the visitors service."""

from __future__ import annotations

from fastapi import APIRouter

ROUTERS: list[APIRouter] = []
