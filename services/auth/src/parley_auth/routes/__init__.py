"""HTTP routes of the auth service."""

from __future__ import annotations

from fastapi import APIRouter

ROUTERS: list[APIRouter] = []
