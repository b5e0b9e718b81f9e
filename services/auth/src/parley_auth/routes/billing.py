"""App Store billing: Apple's server notifications and the app's purchases."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from parley_auth.billing import service
from parley_auth.billing.errors import (
    AppAccountTokenMissing,
    AppStoreTransactionNotFound,
    AppStoreUnavailable,
    AppStoreVerificationFailed,
)
from parley_auth.billing.schemas import (
    AppStoreNotificationIn,
    AppStoreNotificationOut,
    AppStoreTransactionIn,
)
from parley_auth.deps import ActiveAdmin, AuthSettingsDep
from parley_auth.errors import AdminOnly, SessionRevoked
from parley_auth.schemas import SubscriptionOut
from parley_common.db import SessionDep
from parley_common.errors import responses

router = APIRouter(prefix="/api/v1/billing/app-store", tags=["billing"])


@router.post(
    "/notifications",
    response_model=AppStoreNotificationOut,
    responses=responses(AppStoreVerificationFailed, AppStoreUnavailable),
)
async def app_store_notification(
    body: AppStoreNotificationIn, session: SessionDep, settings: AuthSettingsDep
) -> AppStoreNotificationOut:
    """App Store Server Notifications V2, called by Apple (no bearer token: the payload is
    signed by Apple). Purchases and renewals keep the account premium; REFUND, REVOKE and
    EXPIRED make it free at once. A repeated notification changes nothing."""
    outcome = await service.receive_notification(
        session, settings=settings, signed_payload=body.signedPayload
    )
    return AppStoreNotificationOut(outcome=outcome)  # type: ignore[arg-type]


@router.post(
    "/transactions",
    response_model=SubscriptionOut,
    responses=responses(
        AppStoreVerificationFailed,
        AppStoreUnavailable,
        AppStoreTransactionNotFound,
        AppAccountTokenMissing,
        AdminOnly,
        SessionRevoked,
    ),
)
async def app_store_transaction(
    body: AppStoreTransactionIn, agent: ActiveAdmin, session: SessionDep, settings: AuthSettingsDep
) -> Any:
    """The app posts the signed transaction right after an in-app purchase (owner or admin).
    Its appAccountToken must be this account's id. Returns the account's subscription."""
    return await service.register_transaction(
        session,
        settings=settings,
        account_id=agent.account_id,
        signed_transaction=body.signed_transaction,
    )
