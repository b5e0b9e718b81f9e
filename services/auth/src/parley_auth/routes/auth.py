"""Sign up, log in, refresh, log out, accept an invitation."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Response, status

from parley_auth import accounts, sessions, team
from parley_auth.deps import AuthSettingsDep, ClientIp, LimiterDep
from parley_auth.errors import (
    AgentLimitReached,
    EmailTaken,
    InvalidCredentials,
    InvalidRefreshToken,
    InvitationNotFound,
    RefreshTokenReused,
)
from parley_auth.schemas import (
    AcceptInvitationIn,
    InvitationPreviewOut,
    LoginIn,
    RefreshIn,
    SignupIn,
    TokensOut,
)
from parley_common.db import SessionDep
from parley_common.errors import TooManyRequests, responses
from parley_common.security import NoStore, RevocationsDep
from parley_common.text import Text

router = APIRouter(prefix="/api/v1", tags=["auth"])


@router.post(
    "/auth/signup",
    status_code=status.HTTP_201_CREATED,
    response_model=TokensOut,
    responses=responses(EmailTaken, TooManyRequests),
    dependencies=[NoStore],
)
async def signup(
    body: SignupIn,
    session: SessionDep,
    settings: AuthSettingsDep,
    limiter: LimiterDep,
    ip: ClientIp,
) -> TokensOut:
    """Create an account on the free plan and its owner agent; returns a logged-in session."""
    return await accounts.signup(
        session, data=body, limiter=limiter, client_ip=ip, settings=settings
    )


@router.post(
    "/auth/login",
    response_model=TokensOut,
    responses=responses(InvalidCredentials, TooManyRequests),
    dependencies=[NoStore],
)
async def login(
    body: LoginIn, session: SessionDep, settings: AuthSettingsDep, limiter: LimiterDep, ip: ClientIp
) -> TokensOut:
    """Log in with e-mail and password. Failures are throttled per e-mail and client address
    (5 in 5 minutes), per address (20) and per e-mail from anywhere (100): 429 with
    Retry-After."""
    return await sessions.login(
        session,
        limiter=limiter,
        email=body.email,
        password=body.password,
        client_ip=ip,
        settings=settings,
    )


@router.post(
    "/auth/refresh",
    response_model=TokensOut,
    responses=responses(InvalidRefreshToken, RefreshTokenReused),
    dependencies=[NoStore],
)
async def refresh(
    body: RefreshIn, session: SessionDep, settings: AuthSettingsDep, revocations: RevocationsDep
) -> TokensOut:
    """Exchange a refresh token for a new pair. The old one stops working; presenting it
    again ends the session."""
    # A reused token fails the request, but the family's revocation (and its event) stands:
    # RefreshTokenReused keeps its changes (DomainError.keeps_changes), committed at the edge.
    return await sessions.refresh(
        session, refresh_token=body.refresh_token, settings=settings, revocations=revocations
    )


@router.post("/auth/logout", status_code=status.HTTP_204_NO_CONTENT)
async def logout(body: RefreshIn, session: SessionDep, revocations: RevocationsDep) -> Response:
    """End the session the refresh token belongs to; its access tokens stop working too."""
    await sessions.logout(session, refresh_token=body.refresh_token, revocations=revocations)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/invitations/accept",
    status_code=status.HTTP_201_CREATED,
    response_model=TokensOut,
    responses=responses(InvitationNotFound, EmailTaken, AgentLimitReached),
    dependencies=[NoStore],
)
async def accept_invitation(
    body: AcceptInvitationIn, session: SessionDep, settings: AuthSettingsDep
) -> TokensOut:
    """The invitee sets a name and password; returns a logged-in session."""
    return await team.accept_invitation(
        session, token=body.token, name=body.name, password=body.password, settings=settings
    )


@router.get(
    "/invitations/{token}",
    response_model=InvitationPreviewOut,
    responses=responses(InvitationNotFound),
)
async def preview_invitation(
    token: Annotated[Text, Path(max_length=200)], session: SessionDep
) -> InvitationPreviewOut:
    """The invitation behind an invite link (account, e-mail, role), before accepting it."""
    return await team.preview_invitation(session, token)
