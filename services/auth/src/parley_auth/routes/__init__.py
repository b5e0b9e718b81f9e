"""HTTP routes of the auth service."""

from __future__ import annotations

from fastapi import APIRouter

from parley_auth.routes import account, agents, api_keys, auth, billing, me, support

ROUTERS: list[APIRouter] = [
    auth.router,
    me.router,
    agents.router,
    account.router,
    support.router,
    billing.router,
    api_keys.router,
    support.internal,
]
