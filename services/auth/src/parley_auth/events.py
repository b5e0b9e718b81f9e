"""Events the auth service emits: written to its outbox in the same transaction as the change."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from parley_auth.models import Agent, Base, LoginSession
from parley_common.events.outbox import Outbox

outbox = Outbox(Base.metadata)


def agent_data(agent: Agent) -> dict[str, Any]:
    return {
        "agent_id": agent.id,
        "name": agent.name,
        "email": agent.email,
        "role": agent.role,
        "status": agent.status,
        "avatar_url": agent.avatar_url,
    }


async def agent_event(session: AsyncSession, event_type: str, agent: Agent) -> None:
    """auth.agent.created / auth.agent.updated with the agent's current public fields."""
    await outbox.emit(session, event_type, agent.account_id, agent_data(agent))


async def session_revoked(session: AsyncSession, login: LoginSession) -> None:
    await outbox.emit(
        session,
        "auth.session.revoked",
        login.account_id,
        {"session_id": login.id, "agent_id": login.agent_id, "reason": login.revoked_reason},
    )
