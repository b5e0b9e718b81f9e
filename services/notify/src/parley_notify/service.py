"""Use cases of the notify API: devices and notification settings."""

from __future__ import annotations

from sqlalchemy import func
from sqlalchemy.ext.asyncio import AsyncSession

from parley_common.security import AgentPrincipal
from parley_notify import repository
from parley_notify.errors import DeviceNotFound
from parley_notify.models import Device
from parley_notify.schemas import DeviceIn, NotificationSettingsOut, NotificationSettingsPatch


async def register_device(
    session: AsyncSession, agent: AgentPrincipal, body: DeviceIn, *, max_devices: int
) -> tuple[Device, bool]:
    """Register (or re-register) a push token for the signed-in agent; True when it is new.

    A token is one phone: registered by another agent (or account), it moves to this one.
    """
    await repository.ensure_agent(session, account_id=agent.account_id, agent_id=agent.agent_id)
    device = await repository.device_by_token(session, body.token)
    created = device is None
    if device is None:
        device = Device(token=body.token)
        session.add(device)
    device.account_id = agent.account_id
    device.agent_id = agent.agent_id
    device.session_id = agent.session_id
    device.platform = body.platform
    device.environment = body.environment
    device.bundle_id = body.bundle_id
    device.locale = body.locale
    device.registered_at = func.now()
    await session.flush()
    await session.refresh(device)
    await repository.trim_agent_devices(
        session, account_id=agent.account_id, agent_id=agent.agent_id, keep=max_devices
    )
    return device, created


async def unregister_device(session: AsyncSession, agent: AgentPrincipal, token: str) -> None:
    device = await repository.agent_device(
        session, account_id=agent.account_id, agent_id=agent.agent_id, token=token.lower()
    )
    if device is None:
        raise DeviceNotFound()
    await repository.delete_device(session, device)


async def get_settings(session: AsyncSession, agent: AgentPrincipal) -> NotificationSettingsOut:
    row = await repository.notification_settings(
        session, account_id=agent.account_id, agent_id=agent.agent_id
    )
    return NotificationSettingsOut.model_validate(row) if row else NotificationSettingsOut()


async def update_settings(
    session: AsyncSession, agent: AgentPrincipal, patch: NotificationSettingsPatch
) -> NotificationSettingsOut:
    changes = patch.model_dump(exclude_none=True)
    if not changes:
        return await get_settings(session, agent)
    row = await repository.upsert_notification_settings(
        session, account_id=agent.account_id, agent_id=agent.agent_id, changes=changes
    )
    return NotificationSettingsOut.model_validate(row)
