"""FastAPI dependencies of the auth routes."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from parley_auth.config import AuthSettings, get_auth_settings
from parley_auth.models import Agent
from parley_auth.sessions import require_active
from parley_auth.team import require_admin
from parley_common.api_keys import ApiKeyNotAllowed
from parley_common.db import SessionDep
from parley_common.errors import Forbidden, raises
from parley_common.redis import RateLimiter
from parley_common.security import AgentPrincipal, CurrentAgent, client_ip


async def active_agent(session: SessionDep, principal: CurrentAgent) -> Agent:
    """The signed-in agent as stored now (its session must still be active)."""
    if principal.is_api_key:
        raise ApiKeyNotAllowed("Sign in as an agent for this endpoint.")
    return await require_active(session, principal)


async def account_reader(session: SessionDep, principal: CurrentAgent) -> AgentPrincipal:
    """For reads of account data: an active agent, or an API key with the route's scope."""
    if not principal.is_api_key:
        await require_active(session, principal)
    return principal


@raises(Forbidden)
async def active_admin(agent: Annotated[Agent, Depends(active_agent)]) -> Agent:
    """The signed-in agent, who must be an owner or admin now (not as of the token)."""
    require_admin(agent)
    return agent


def rate_limiter(request: Request) -> RateLimiter:
    limiter: RateLimiter = request.app.state.rate_limiter
    return limiter


def caller_ip(request: Request) -> str:
    return client_ip(request) or "unknown"


ActiveAgent = Annotated[Agent, Depends(active_agent)]
ActiveAdmin = Annotated[Agent, Depends(active_admin)]
AccountReader = Annotated[AgentPrincipal, Depends(account_reader)]
AuthSettingsDep = Annotated[AuthSettings, Depends(get_auth_settings)]
LimiterDep = Annotated[RateLimiter, Depends(rate_limiter)]
ClientIp = Annotated[str, Depends(caller_ip)]
