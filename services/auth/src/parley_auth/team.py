"""The team: list agents, invite (and accept), change a role, remove an agent.

Rules: only owners and admins manage the team; only an owner can make or unmake an owner;
the last owner can be neither demoted nor removed; the plan caps agents (pending invitations
count against the cap).
"""

from __future__ import annotations

import logging
import uuid
from datetime import UTC, datetime, timedelta
from functools import partial

from sqlalchemy.ext.asyncio import AsyncSession

from parley_auth import repository as repo
from parley_auth import sessions
from parley_auth.config import AuthSettings
from parley_auth.crypto import hash_password, new_token, token_hash
from parley_auth.errors import (
    AdminOnly,
    AgentLimitReached,
    AgentNotFound,
    EmailTaken,
    InvitationNotFound,
    LastOwner,
    OwnerOnly,
)
from parley_auth.events import agent_event, outbox
from parley_auth.models import Agent, Invitation
from parley_auth.schemas import (
    AgentList,
    AgentOut,
    InvitationOut,
    InvitationPreviewOut,
    InviteOut,
    TokensOut,
)
from parley_auth.subscriptions import effective_plan, entitlements
from parley_common.db import after_commit
from parley_common.mail import build_message, send_mail
from parley_common.pagination import decode_time_id, page_of
from parley_common.revocation import Revocations

log = logging.getLogger("parley.auth.team")


def _now() -> datetime:
    return datetime.now(UTC)


def require_admin(actor: Agent) -> None:
    """Only the account's owners and admins manage the team, settings and billing."""
    if actor.role not in ("owner", "admin"):
        raise AdminOnly()


async def list_agents(
    session: AsyncSession, account_id: uuid.UUID, *, limit: int, cursor: str | None
) -> AgentList:
    after = decode_time_id(cursor)
    rows = await repo.list_agents(session, account_id, limit=limit + 1, after=after)
    page, next_cursor = page_of(rows, limit, lambda a: (a.created_at, a.id))
    return AgentList(items=[AgentOut.model_validate(a) for a in page], next_cursor=next_cursor)


async def get_agent(session: AsyncSession, account_id: uuid.UUID, agent_id: uuid.UUID) -> AgentOut:
    agent = await repo.get_agent(session, account_id, agent_id)
    if agent is None:
        raise AgentNotFound()
    return AgentOut.model_validate(agent)


async def _check_agent_limit(
    session: AsyncSession, account_id: uuid.UUID, *, pending_count: bool, settings: AuthSettings
) -> None:
    # Lock the account row so two concurrent invites cannot both take the last seat.
    await repo.get_account(session, account_id, for_update=True)
    plan = effective_plan(await repo.get_subscription(session, account_id))
    limit = int(entitlements(plan, settings)["max_agents"])
    used = await repo.count_agents(session, account_id)
    if pending_count:
        used += await repo.count_pending_invitations(session, account_id, _now())
    if used >= limit:
        raise AgentLimitReached(f"The {plan} plan allows {limit} agents.", max_agents=limit)


async def invite(
    session: AsyncSession, actor: Agent, *, email: str, role: str, settings: AuthSettings
) -> InviteOut:
    require_admin(actor)
    if await repo.agent_by_email(session, email) is not None:
        raise EmailTaken()
    now = _now()
    # Re-inviting the same address replaces the earlier invitation (its link stops working).
    for old in await repo.pending_invitations_for(session, actor.account_id, email, now):
        old.expires_at = now
    await session.flush()
    await _check_agent_limit(session, actor.account_id, pending_count=True, settings=settings)
    token = new_token()
    invitation = Invitation(
        id=uuid.uuid4(),
        account_id=actor.account_id,
        email=email,
        role=role,
        token_hash=token_hash(token),
        invited_by=actor.id,
        created_at=now,
        expires_at=now + timedelta(seconds=settings.invitation_ttl_seconds),
    )
    session.add(invitation)
    await session.flush()
    url = f"{settings.public_url.rstrip('/')}/invitations/{token}"
    await _send_invitation(settings, actor, email, url)
    return InviteOut(
        invitation=InvitationOut.model_validate(invitation), invite_url=url, token=token
    )


async def _send_invitation(settings: AuthSettings, actor: Agent, email: str, url: str) -> None:
    """Best effort: the app also gets the link to share, so a mail failure is not an error."""
    message = build_message(
        settings,
        to=email,
        subject=f"{actor.name} invited you to Parley",
        text=f"{actor.name} invited you to answer chats on Parley.\n\n"
        f"Accept the invitation: {url}\n",
    )
    try:
        await send_mail(settings, message)
    except Exception:
        log.warning("invitation mail to %s failed", email, exc_info=True)


async def _pending_invitation(session: AsyncSession, token: str) -> Invitation:
    invitation = await repo.invitation_by_token_hash(session, token_hash(token))
    if invitation is None or invitation.accepted_at is not None or invitation.expires_at <= _now():
        raise InvitationNotFound()
    return invitation


async def preview_invitation(session: AsyncSession, token: str) -> InvitationPreviewOut:
    """What the invitee sees before accepting: which account, which address, which role."""
    invitation = await _pending_invitation(session, token)
    account = await repo.get_account(session, invitation.account_id)
    if account is None:
        raise InvitationNotFound()
    return InvitationPreviewOut(
        email=invitation.email,
        role=invitation.role,  # type: ignore[arg-type]
        account_name=account.name,
        expires_at=invitation.expires_at,
    )


async def accept_invitation(
    session: AsyncSession, *, token: str, name: str, password: str, settings: AuthSettings
) -> TokensOut:
    invitation = await _pending_invitation(session, token)
    if await repo.agent_by_email(session, invitation.email) is not None:
        raise EmailTaken()
    invitation.accepted_at = _now()
    await _check_agent_limit(session, invitation.account_id, pending_count=False, settings=settings)
    agent = Agent(
        id=uuid.uuid4(),
        account_id=invitation.account_id,
        email=invitation.email,
        password_hash=await hash_password(password),
        name=name,
        description="",
        role=invitation.role,
        status="offline",
    )
    session.add(agent)
    await repo.flush_unique_email(session)
    await agent_event(session, "auth.agent.created", agent)
    return await sessions.start_session(session, agent, settings)


async def _target(session: AsyncSession, actor: Agent, agent_id: uuid.UUID) -> Agent:
    require_admin(actor)
    target = await repo.get_agent(session, actor.account_id, agent_id, for_update=True)
    if target is None:
        raise AgentNotFound()
    return target


async def _ensure_not_last_owner(session: AsyncSession, target: Agent) -> None:
    if (
        target.role == "owner"
        and await repo.count_agents(session, target.account_id, role="owner") <= 1
    ):
        raise LastOwner()


async def change_role(
    session: AsyncSession, actor: Agent, agent_id: uuid.UUID, role: str, revocations: Revocations
) -> AgentOut:
    # Lock the account first: two owners demoting each other at once must not both succeed.
    await repo.get_account(session, actor.account_id, for_update=True)
    target = await _target(session, actor, agent_id)
    if role == target.role:
        return AgentOut.model_validate(target)
    if (role == "owner" or target.role == "owner") and actor.role != "owner":
        raise OwnerOnly("Only an owner can make or unmake an owner.")
    await _ensure_not_last_owner(session, target)
    target.role = role
    await session.flush()
    await agent_event(session, "auth.agent.updated", target)
    # Every service acts on the new role from now on, whatever role their tokens carry.
    after_commit(session, partial(revocations.record, agents=[(target.id, role)]))
    return AgentOut.model_validate(target)


async def remove_agent(
    session: AsyncSession, actor: Agent, agent_id: uuid.UUID, revocations: Revocations
) -> None:
    await repo.get_account(session, actor.account_id, for_update=True)
    target = await _target(session, actor, agent_id)
    if target.role == "owner" and actor.role != "owner":
        raise OwnerOnly("Only an owner can remove an owner.")
    await _ensure_not_last_owner(session, target)
    await sessions.revoke_all(session, target.account_id, target.id, "agent_removed", revocations)
    after_commit(session, partial(revocations.record, agents=[(target.id, None)]))
    await outbox.emit(session, "auth.agent.removed", target.account_id, {"agent_id": target.id})
    await session.delete(target)
    await session.flush()
