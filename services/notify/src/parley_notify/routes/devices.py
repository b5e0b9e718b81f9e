"""Push tokens of the signed-in agent's devices."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request, Response, status

from parley_common.db import SessionDep
from parley_common.errors import responses
from parley_common.security import CurrentAgent
from parley_common.text import Text
from parley_notify import routing, service
from parley_notify.config import get_notify_settings
from parley_notify.errors import DeviceNotFound
from parley_notify.schemas import TOKEN_PATTERN, DeviceIn, DeviceOut

router = APIRouter(prefix="/api/v1/devices", tags=["devices"])


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=DeviceOut,
    summary="Register an APNs push token (200 when it was already registered)",
)
async def register_device(
    body: DeviceIn, agent: CurrentAgent, session: SessionDep, request: Request, response: Response
) -> DeviceOut:
    settings = get_notify_settings()
    device, created = await service.register_device(
        session, agent, body, max_devices=settings.max_devices_per_agent
    )
    # Before the commit: once the device exists, the account's follow-ups reach the worker.
    await routing.bind_accounts(
        request.app.state.broker_channel, settings.namespace, [agent.account_id]
    )
    if not created:
        response.status_code = status.HTTP_200_OK
    return DeviceOut.model_validate(device)


@router.delete(
    "/{token}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=responses(DeviceNotFound),
    summary="Unregister a push token",
)
async def unregister_device(
    token: Annotated[Text, Path(pattern=TOKEN_PATTERN, max_length=200)],
    agent: CurrentAgent,
    session: SessionDep,
) -> Response:
    await service.unregister_device(session, agent, token)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
