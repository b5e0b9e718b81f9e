"""The signed-in agent's profile, e-mail, password, chat status and avatar."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Response, UploadFile, status

from parley_auth import avatars, profile
from parley_auth.deps import ActiveAgent, AuthSettingsDep
from parley_auth.errors import (
    EmailTaken,
    InvalidImage,
    SessionRevoked,
    WrongPassword,
)
from parley_auth.schemas import (
    AgentOut,
    EmailChangeIn,
    PasswordChangeIn,
    ProfilePatch,
    StatusIn,
    StatusOut,
)
from parley_common.db import SessionDep
from parley_common.errors import PayloadTooLarge, responses
from parley_common.security import CurrentAgent, RevocationsDep
from parley_common.storage import StorageDep

router = APIRouter(prefix="/api/v1", tags=["profile"], responses=responses(SessionRevoked))


@router.get("/me", response_model=AgentOut)
async def get_me(agent: ActiveAgent) -> AgentOut:
    return AgentOut.model_validate(agent)


@router.patch("/me", response_model=AgentOut)
async def patch_me(body: ProfilePatch, agent: ActiveAgent, session: SessionDep) -> AgentOut:
    """Change name, description or avatar_url (https only; null removes the avatar)."""
    return await profile.update_profile(session, agent, body)


@router.post("/me/email", response_model=AgentOut, responses=responses(WrongPassword, EmailTaken))
async def change_email(body: EmailChangeIn, agent: ActiveAgent, session: SessionDep) -> AgentOut:
    return await profile.change_email(
        session, agent, new_email=body.new_email, password=body.password
    )


@router.post(
    "/me/password", status_code=status.HTTP_204_NO_CONTENT, responses=responses(WrongPassword)
)
async def change_password(
    body: PasswordChangeIn,
    agent: ActiveAgent,
    principal: CurrentAgent,
    session: SessionDep,
    revocations: RevocationsDep,
) -> Response:
    """Set a new password; every other session of this agent ends."""
    await profile.change_password(
        session,
        agent,
        current_password=body.current_password,
        new_password=body.new_password,
        current_session_id=principal.session_id,
        revocations=revocations,
    )
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.put("/me/status", response_model=StatusOut)
async def set_status(body: StatusIn, agent: ActiveAgent, session: SessionDep) -> StatusOut:
    """Chat status: online, away or offline."""
    return await profile.set_status(session, agent, body.status)


@router.post(
    "/me/avatar", response_model=AgentOut, responses=responses(InvalidImage, PayloadTooLarge)
)
async def upload_avatar(
    file: Annotated[UploadFile, File(description="PNG, JPEG or WebP")],
    agent: ActiveAgent,
    session: SessionDep,
    settings: AuthSettingsDep,
    storage: StorageDep,
) -> AgentOut:
    data = await file.read(settings.avatar_max_bytes + 1)
    name = await avatars.store_avatar(settings, storage, data)
    return await profile.set_avatar_url(session, agent, avatars.avatar_url(settings, name))


@router.delete("/me/avatar", response_model=AgentOut)
async def delete_avatar(agent: ActiveAgent, session: SessionDep) -> AgentOut:
    return await profile.set_avatar_url(session, agent, None)
