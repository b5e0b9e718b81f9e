"""Log in, refresh (rotation with reuse detection), log out, and session revocation."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from functools import partial

from sqlalchemy.ext.asyncio import AsyncSession

from parley_auth import repository as repo
from parley_auth.config import AuthSettings
from parley_auth.crypto import new_token, token_hash, verify_password
from parley_auth.errors import (
    InvalidCredentials,
    InvalidRefreshToken,
    RefreshTokenReused,
    SessionRevoked,
)
from parley_auth.events import session_revoked
from parley_auth.models import Account, Agent, LoginSession, RefreshToken
from parley_auth.schemas import AccountOut, AgentOut, TokensOut
from parley_auth.subscriptions import effective_plan
from parley_common.db import after_commit
from parley_common.errors import TooManyRequests
from parley_common.redis import RateLimiter
from parley_common.revocation import Revocations
from parley_common.security import AgentPrincipal, issue_agent_token


def _now() -> datetime:
    return datetime.now(UTC)


async def _new_refresh_token(
    session: AsyncSession, login: LoginSession, settings: AuthSettings
) -> str:
    token = new_token()
    ttl = timedelta(seconds=settings.refresh_token_ttl_seconds)
    session.add(
        RefreshToken(
            token_hash=token_hash(token),
            session_id=login.id,
            account_id=login.account_id,
            expires_at=_now() + ttl,
        )
    )
    await session.flush()
    return token


async def account_out(session: AsyncSession, account: Account) -> AccountOut:
    subscription = await repo.get_subscription(session, account.id)
    return AccountOut(
        id=account.id,
        name=account.name,
        widget_key=account.widget_key,
        plan=effective_plan(subscription),
        created_at=account.created_at,
    )


async def _tokens(
    session: AsyncSession,
    agent: Agent,
    login: LoginSession,
    refresh_token: str,
    settings: AuthSettings,
) -> TokensOut:
    account = await repo.get_account(session, agent.account_id)
    assert account is not None
    access = issue_agent_token(agent.id, agent.account_id, agent.role, login.id, settings)
    return TokensOut(
        access_token=access,
        refresh_token=refresh_token,
        expires_in=settings.access_token_ttl_seconds,
        agent=AgentOut.model_validate(agent),
        account=await account_out(session, account),
    )


async def start_session(session: AsyncSession, agent: Agent, settings: AuthSettings) -> TokensOut:
    """A new login session for the agent, with its first refresh token."""
    login = LoginSession(id=uuid.uuid4(), account_id=agent.account_id, agent_id=agent.id)
    session.add(login)
    await session.flush()
    return await _tokens(
        session, agent, login, await _new_refresh_token(session, login, settings), settings
    )


async def login(
    session: AsyncSession,
    *,
    limiter: RateLimiter,
    email: str,
    password: str,
    client_ip: str,
    settings: AuthSettings,
) -> TokensOut:
    # An attacker guessing from one address cannot lock the user out of another: the tight
    # limit is per (e-mail, address); per e-mail alone only a much higher ceiling.
    pair = f"login:pair:{email}:{client_ip}"
    others = [f"login:ip:{client_ip}", f"login:email:{email}"]
    wait = await limiter.take(
        [
            (pair, settings.login_max_failures_per_email_and_ip),
            (others[0], settings.login_max_failures_per_ip),
            (others[1], settings.login_max_failures_per_email),
        ],
        window=settings.login_failure_window_seconds,
    )
    if wait is not None:
        raise TooManyRequests(wait, "Too many failed logins; wait before trying again.")
    agent = await repo.agent_by_email(session, email)
    if not await verify_password(agent.password_hash if agent else None, password):
        raise InvalidCredentials()  # the attempt taken above stays counted
    assert agent is not None
    await limiter.give_back(others)
    await limiter.reset(pair)
    return await start_session(session, agent, settings)


async def refresh(
    session: AsyncSession,
    *,
    refresh_token: str,
    settings: AuthSettings,
    revocations: Revocations,
) -> TokensOut:
    """Rotate: the presented token stops working; presenting it again ends the whole session."""
    row = await repo.refresh_token_by_hash(session, token_hash(refresh_token))
    if row is None:
        raise InvalidRefreshToken()
    login = await repo.get_login_session(session, row.account_id, row.session_id)
    if login is None or login.revoked_at is not None:
        raise InvalidRefreshToken()
    if row.rotated_at is not None:
        # Reuse of a rotated token: someone else holds a copy. End the family for both.
        await revoke(session, login, "refresh_token_reused", revocations)
        raise RefreshTokenReused()
    if row.expires_at <= _now():
        raise InvalidRefreshToken("The refresh token has expired; log in again.")
    agent = await repo.get_agent(session, login.account_id, login.agent_id)
    if agent is None:
        raise InvalidRefreshToken()
    row.rotated_at = _now()
    await session.flush()
    return await _tokens(
        session, agent, login, await _new_refresh_token(session, login, settings), settings
    )


async def logout(session: AsyncSession, *, refresh_token: str, revocations: Revocations) -> None:
    """End the session the token belongs to (idempotent: an unknown token is fine)."""
    row = await repo.refresh_token_by_hash(session, token_hash(refresh_token))
    if row is None:
        return
    login = await repo.get_login_session(session, row.account_id, row.session_id)
    if login is not None:
        await revoke(session, login, "logout", revocations)


async def revoke(
    session: AsyncSession, login: LoginSession, reason: str, revocations: Revocations
) -> None:
    """Revoke one session: its access tokens are refused everywhere once this commits, and
    the stream closes its sockets."""
    now = _now()
    if await repo.revoke_session_row(session, login.account_id, login.id, reason, now):
        login.revoked_at, login.revoked_reason = now, reason
        await session_revoked(session, login)
        after_commit(session, partial(revocations.record, ended=[login.id]))


async def revoke_all(
    session: AsyncSession,
    account_id: uuid.UUID,
    agent_id: uuid.UUID,
    reason: str,
    revocations: Revocations,
    *,
    keep: uuid.UUID | None = None,
) -> int:
    """Revoke every active session of an agent except ``keep``; returns how many ended."""
    ended = 0
    for login in await repo.active_sessions_of(session, account_id, agent_id):
        if login.id != keep:
            await revoke(session, login, reason, revocations)
            ended += 1
    return ended


async def require_active(session: AsyncSession, principal: AgentPrincipal) -> Agent:
    """The signed-in agent, as stored now; a logged-out session or removed agent is refused."""
    login = await repo.get_login_session(session, principal.account_id, principal.session_id)
    if login is None or login.revoked_at is not None or login.agent_id != principal.agent_id:
        raise SessionRevoked()
    agent = await repo.get_agent(session, principal.account_id, principal.agent_id)
    if agent is None:
        raise SessionRevoked()
    return agent
