"""The team: list, invite, change role, remove."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from parley_auth import team
from parley_auth.deps import ActiveAgent, AuthSettingsDep
from parley_auth.errors import (
    AdminOnly,
    AgentLimitReached,
    AgentNotFound,
    EmailTaken,
    LastOwner,
    OwnerOnly,
    SessionRevoked,
)
from parley_auth.schemas import AgentList, AgentOut, AgentPatch, InviteIn, InviteOut
from parley_common.db import SessionDep
from parley_common.errors import responses
from parley_common.pagination import InvalidCursor
from parley_common.security import NoStore, RevocationsDep
from parley_common.text import Text

router = APIRouter(prefix="/api/v1", tags=["team"], responses=responses(SessionRevoked))


@router.get("/agents", response_model=AgentList, responses=responses(InvalidCursor))
async def list_agents(
    agent: ActiveAgent,
    session: SessionDep,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[Text | None, Query(max_length=200)] = None,
) -> AgentList:
    """The account's agents, newest first."""
    return await team.list_agents(session, agent.account_id, limit=limit, cursor=cursor)


@router.post(
    "/agents",
    status_code=status.HTTP_201_CREATED,
    response_model=InviteOut,
    responses=responses(AdminOnly, EmailTaken, AgentLimitReached),
    dependencies=[NoStore],  # the invitation link is a credential
)
async def invite_agent(
    body: InviteIn, agent: ActiveAgent, session: SessionDep, settings: AuthSettingsDep
) -> InviteOut:
    """Invite an agent by e-mail. The response carries the invite link for the app to share;
    the invitee accepts with `POST /api/v1/invitations/accept`."""
    return await team.invite(session, agent, email=body.email, role=body.role, settings=settings)


@router.get("/agents/{agent_id}", response_model=AgentOut, responses=responses(AgentNotFound))
async def get_agent(agent_id: uuid.UUID, agent: ActiveAgent, session: SessionDep) -> AgentOut:
    return await team.get_agent(session, agent.account_id, agent_id)


@router.patch(
    "/agents/{agent_id}",
    response_model=AgentOut,
    responses=responses(AgentNotFound, AdminOnly, OwnerOnly, LastOwner),
)
async def change_role(
    agent_id: uuid.UUID,
    body: AgentPatch,
    agent: ActiveAgent,
    session: SessionDep,
    revocations: RevocationsDep,
) -> AgentOut:
    """Change an agent's role (owner / admin / agent); every service applies it at once."""
    return await team.change_role(session, agent, agent_id, body.role, revocations)


@router.delete(
    "/agents/{agent_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=responses(AgentNotFound, AdminOnly, OwnerOnly, LastOwner),
)
async def remove_agent(
    agent_id: uuid.UUID, agent: ActiveAgent, session: SessionDep, revocations: RevocationsDep
) -> Response:
    """Remove an agent: their sessions end everywhere at once and chat unassigns their
    conversations."""
    await team.remove_agent(session, agent, agent_id, revocations)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
