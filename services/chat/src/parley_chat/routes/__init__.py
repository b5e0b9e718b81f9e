"""HTTP routes of the chat service."""

from __future__ import annotations

from fastapi import APIRouter

ROUTERS: list[APIRouter] = []
