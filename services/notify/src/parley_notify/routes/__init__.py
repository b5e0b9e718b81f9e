"""HTTP routes of the notify service."""

from __future__ import annotations

from fastapi import APIRouter

ROUTERS: list[APIRouter] = []
