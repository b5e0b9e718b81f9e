"""Every query on the auth tables. Tenant rows are always filtered by account_id, except the
lookups by a credential (login e-mail, refresh token, invitation token) that find the tenant."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, select, tuple_, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from parley_auth.models import (
    Account,
    Agent,
    ApiKey,
    Invitation,
    LoginSession,
    RefreshToken,
    Subscription,
)


async def flush_unique_email(session: AsyncSession) -> None:
    """Flush; a concurrent insert of the same e-mail becomes EmailTaken, not a 500."""
    from parley_auth.errors import EmailTaken

    try:
        await session.flush()
    except IntegrityError as exc:
        if "uq_agents_email" in str(exc.orig):
            raise EmailTaken() from exc
        raise


async def get_account(
    session: AsyncSession, account_id: uuid.UUID, *, for_update: bool = False
) -> Account | None:
    query = select(Account).where(Account.id == account_id)
    if for_update:
        query = query.with_for_update()
    return (await session.execute(query)).scalar_one_or_none()


async def get_subscription(
    session: AsyncSession, account_id: uuid.UUID, *, for_update: bool = False
) -> Subscription | None:
    query = select(Subscription).where(Subscription.account_id == account_id)
    if for_update:
        query = query.with_for_update()
    return (await session.execute(query)).scalar_one_or_none()


async def agent_by_email(session: AsyncSession, email: str) -> Agent | None:
    """The login lookup: e-mails are unique across accounts."""
    return (await session.execute(select(Agent).where(Agent.email == email))).scalar_one_or_none()


async def get_agent(
    session: AsyncSession, account_id: uuid.UUID, agent_id: uuid.UUID, *, for_update: bool = False
) -> Agent | None:
    query = select(Agent).where(Agent.account_id == account_id, Agent.id == agent_id)
    if for_update:
        query = query.with_for_update()
    return (await session.execute(query)).scalar_one_or_none()


async def list_agents(
    session: AsyncSession,
    account_id: uuid.UUID,
    *,
    limit: int,
    after: tuple[datetime, uuid.UUID] | None,
) -> Sequence[Agent]:
    """Newest first; ``after`` is the (created_at, id) of the last agent of the previous page."""
    query = select(Agent).where(Agent.account_id == account_id)
    if after is not None:
        query = query.where(tuple_(Agent.created_at, Agent.id) < tuple_(*after))
    query = query.order_by(Agent.created_at.desc(), Agent.id.desc()).limit(limit)
    return (await session.execute(query)).scalars().all()


async def count_agents(
    session: AsyncSession, account_id: uuid.UUID, *, role: str | None = None
) -> int:
    query = select(func.count()).select_from(Agent).where(Agent.account_id == account_id)
    if role is not None:
        query = query.where(Agent.role == role)
    return int(await session.scalar(query) or 0)


async def count_pending_invitations(
    session: AsyncSession, account_id: uuid.UUID, now: datetime
) -> int:
    query = (
        select(func.count())
        .select_from(Invitation)
        .where(
            Invitation.account_id == account_id,
            Invitation.accepted_at.is_(None),
            Invitation.expires_at > now,
        )
    )
    return int(await session.scalar(query) or 0)


async def pending_invitations_for(
    session: AsyncSession, account_id: uuid.UUID, email: str, now: datetime
) -> Sequence[Invitation]:
    query = select(Invitation).where(
        Invitation.account_id == account_id,
        Invitation.email == email,
        Invitation.accepted_at.is_(None),
        Invitation.expires_at > now,
    )
    return (await session.execute(query)).scalars().all()


async def invitation_by_token_hash(session: AsyncSession, digest: str) -> Invitation | None:
    query = select(Invitation).where(Invitation.token_hash == digest).with_for_update()
    return (await session.execute(query)).scalar_one_or_none()


async def get_login_session(
    session: AsyncSession, account_id: uuid.UUID, session_id: uuid.UUID
) -> LoginSession | None:
    query = select(LoginSession).where(
        LoginSession.account_id == account_id, LoginSession.id == session_id
    )
    return (await session.execute(query)).scalar_one_or_none()


async def active_sessions_of(
    session: AsyncSession, account_id: uuid.UUID, agent_id: uuid.UUID
) -> Sequence[LoginSession]:
    query = (
        select(LoginSession)
        .where(
            LoginSession.account_id == account_id,
            LoginSession.agent_id == agent_id,
            LoginSession.revoked_at.is_(None),
        )
        .with_for_update()
    )
    return (await session.execute(query)).scalars().all()


async def refresh_token_by_hash(session: AsyncSession, digest: str) -> RefreshToken | None:
    """The token row, locked: two concurrent refreshes of one token cannot both rotate it."""
    query = select(RefreshToken).where(RefreshToken.token_hash == digest).with_for_update()
    return (await session.execute(query)).scalar_one_or_none()


async def revoke_session_row(
    session: AsyncSession, account_id: uuid.UUID, session_id: uuid.UUID, reason: str, now: datetime
) -> bool:
    """Mark a session revoked; False when it already was."""
    result = await session.execute(
        update(LoginSession)
        .where(
            LoginSession.account_id == account_id,
            LoginSession.id == session_id,
            LoginSession.revoked_at.is_(None),
        )
        .values(revoked_at=now, revoked_reason=reason)
        .returning(LoginSession.id)
    )
    return result.scalar_one_or_none() is not None


async def active_api_keys(
    session: AsyncSession, account_id: uuid.UUID | None = None
) -> Sequence[ApiKey]:
    """An account's keys (newest first), or every account's (``account_id=None``: the worker's
    Redis resync)."""
    query = select(ApiKey).where(ApiKey.revoked_at.is_(None))
    if account_id is not None:
        query = query.where(ApiKey.account_id == account_id)
    return (await session.scalars(query.order_by(ApiKey.created_at.desc(), ApiKey.id))).all()


async def get_api_key(
    session: AsyncSession, account_id: uuid.UUID, key_id: uuid.UUID
) -> ApiKey | None:
    query = select(ApiKey).where(
        ApiKey.account_id == account_id, ApiKey.id == key_id, ApiKey.revoked_at.is_(None)
    )
    return (await session.execute(query.with_for_update())).scalar_one_or_none()
