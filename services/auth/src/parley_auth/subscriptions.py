"""The account's plan: free or premium, its status and expiry, and the entitlements other
services enforce. The App Store (#9) changes it through ``apply_subscription_change``."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from parley_auth import repository as repo
from parley_auth.billing.repository import account_subscriptions as app_store_subscriptions
from parley_auth.billing.state import deciding
from parley_auth.config import AuthSettings, get_auth_settings
from parley_auth.events import outbox
from parley_auth.models import Subscription
from parley_auth.schemas import SubscriptionOut
from parley_common.errors import InvalidInput, NotFound

PLANS = ("free", "premium")
STATUSES = ("active", "grace_period", "billing_retry", "expired", "revoked", "refunded")
_ENTITLED = ("active", "grace_period", "billing_retry")


def effective_plan(subscription: Subscription | None, now: datetime | None = None) -> str:
    """The plan the account gets right now: premium only while paid and not expired."""
    if subscription is None or subscription.plan != "premium":
        return "free"
    if subscription.status not in _ENTITLED:
        return "free"
    now = now or datetime.now(UTC)
    if subscription.expires_at is not None and subscription.expires_at <= now:
        return "free"
    return "premium"


def entitlements(plan: str, settings: AuthSettings | None = None) -> dict[str, Any]:
    settings = settings or get_auth_settings()
    if plan == "premium":
        return {
            "max_agents": settings.premium_max_agents,
            "max_active_chatbots": settings.premium_max_active_chatbots,
            "automatic_messages": True,
            "email_transcripts": True,
        }
    return {
        "max_agents": settings.free_max_agents,
        "max_active_chatbots": settings.free_max_active_chatbots,
        "automatic_messages": True,
        "email_transcripts": True,
    }


def subscription_out(subscription: Subscription) -> SubscriptionOut:
    plan = effective_plan(subscription)
    return SubscriptionOut(
        plan=subscription.plan,  # type: ignore[arg-type]
        status=subscription.status,
        expires_at=subscription.expires_at,
        source=subscription.source,
        effective_plan=plan,  # type: ignore[arg-type]
        entitlements=entitlements(plan),
    )


def new_free_subscription(account_id: uuid.UUID) -> Subscription:
    return Subscription(
        account_id=account_id, plan="free", status="active", expires_at=None, source="signup"
    )


async def get_subscription(session: AsyncSession, account_id: uuid.UUID) -> SubscriptionOut:
    subscription = await repo.get_subscription(session, account_id)
    if subscription is None:
        raise NotFound("The account has no subscription.")
    out = subscription_out(subscription)
    if subscription.source == "app_store":
        app_store = deciding(await app_store_subscriptions(session, account_id))
        out.auto_renew = app_store.auto_renew if app_store else None
    return out


async def apply_subscription_change(
    session: AsyncSession,
    account_id: uuid.UUID,
    plan: str,
    status: str,
    expires_at: datetime | None,
    source: str,
) -> SubscriptionOut:
    """Set the account's plan (purchase, renewal, refund, expiry) and emit
    ``auth.subscription.changed`` with the resulting entitlements."""
    if plan not in PLANS:
        raise InvalidInput(f"unknown plan {plan!r}")
    if status not in STATUSES:
        raise InvalidInput(f"unknown subscription status {status!r}")
    subscription = await repo.get_subscription(session, account_id, for_update=True)
    if subscription is None:
        if await repo.get_account(session, account_id) is None:
            raise NotFound("No such account.")
        subscription = new_free_subscription(account_id)
        session.add(subscription)
    subscription.plan, subscription.status = plan, status
    subscription.expires_at, subscription.source = expires_at, source[:40]
    subscription.updated_at = datetime.now(UTC)
    await session.flush()
    out = subscription_out(subscription)
    await outbox.emit(
        session,
        "auth.subscription.changed",
        account_id,
        {
            "plan": out.effective_plan,
            "status": status,
            "expires_at": expires_at,
            "entitlements": out.entitlements,
            "purchased_plan": plan,
            "source": out.source,
        },
    )
    return out
