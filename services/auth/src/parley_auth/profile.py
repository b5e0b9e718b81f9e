"""The signed-in agent's own profile: name, description, avatar, e-mail, password, status."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from parley_auth import repository as repo
from parley_auth import sessions
from parley_auth.crypto import hash_password, verify_password
from parley_auth.errors import EmailTaken, WrongPassword
from parley_auth.events import agent_event, outbox
from parley_auth.models import Agent
from parley_auth.schemas import AgentOut, ProfilePatch, StatusOut
from parley_common.revocation import Revocations


async def update_profile(session: AsyncSession, agent: Agent, patch: ProfilePatch) -> AgentOut:
    changes = patch.model_dump(exclude_unset=True)
    changed = False
    for field, value in changes.items():
        if getattr(agent, field) != value:
            setattr(agent, field, value)
            changed = True
    if changed:
        await session.flush()
        await agent_event(session, "auth.agent.updated", agent)
    return AgentOut.model_validate(agent)


async def set_avatar_url(session: AsyncSession, agent: Agent, url: str | None) -> AgentOut:
    agent.avatar_url = url
    await session.flush()
    await agent_event(session, "auth.agent.updated", agent)
    return AgentOut.model_validate(agent)


async def change_email(
    session: AsyncSession, agent: Agent, *, new_email: str, password: str
) -> AgentOut:
    if not await verify_password(agent.password_hash, password):
        raise WrongPassword()
    if new_email != agent.email:
        if await repo.agent_by_email(session, new_email) is not None:
            raise EmailTaken()
        agent.email = new_email
        await repo.flush_unique_email(session)
        await agent_event(session, "auth.agent.updated", agent)
    return AgentOut.model_validate(agent)


async def change_password(
    session: AsyncSession,
    agent: Agent,
    *,
    current_password: str,
    new_password: str,
    current_session_id: uuid.UUID,
    revocations: Revocations,
) -> int:
    """Set a new password and end every other session; returns how many ended."""
    if not await verify_password(agent.password_hash, current_password):
        raise WrongPassword("The current password is wrong.")
    agent.password_hash = await hash_password(new_password)
    await session.flush()
    return await sessions.revoke_all(
        session,
        agent.account_id,
        agent.id,
        "password_changed",
        revocations,
        keep=current_session_id,
    )


async def set_status(session: AsyncSession, agent: Agent, status: str) -> StatusOut:
    now = datetime.now(UTC)
    previous = agent.status
    agent.status, agent.last_seen_at = status, now
    await session.flush()
    if previous != status:
        await outbox.emit(
            session,
            "auth.agent.status_changed",
            agent.account_id,
            {"agent_id": agent.id, "status": status, "last_seen_at": now},
        )
    return StatusOut(
        agent_id=agent.id,
        status=status,  # type: ignore[arg-type]
        last_seen_at=now,
    )
