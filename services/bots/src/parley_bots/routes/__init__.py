"""HTTP routes of the bots service."""

from __future__ import annotations

from fastapi import APIRouter

ROUTERS: list[APIRouter] = []
