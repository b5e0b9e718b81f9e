"""The signed-in agent's notification settings."""

from __future__ import annotations

from fastapi import APIRouter

from parley_common.db import SessionDep
from parley_common.security import CurrentAgent
from parley_notify import service
from parley_notify.schemas import NotificationSettingsOut, NotificationSettingsPatch

router = APIRouter(prefix="/api/v1/me/notification-settings", tags=["notification settings"])


@router.get("", response_model=NotificationSettingsOut)
async def get_notification_settings(
    agent: CurrentAgent, session: SessionDep
) -> NotificationSettingsOut:
    return await service.get_settings(session, agent)


@router.patch("", response_model=NotificationSettingsOut)
async def update_notification_settings(
    body: NotificationSettingsPatch, agent: CurrentAgent, session: SessionDep
) -> NotificationSettingsOut:
    return await service.update_settings(session, agent, body)
