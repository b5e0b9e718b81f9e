"""Sign up (a new account and its owner), the account itself, its settings and chat code."""

from __future__ import annotations

import html
import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from parley_auth import repository as repo
from parley_auth.config import AuthSettings
from parley_auth.crypto import hash_password, new_widget_key
from parley_auth.errors import EmailTaken
from parley_auth.events import agent_event, outbox
from parley_auth.models import Account, Agent
from parley_auth.schemas import AccountOut, ChatCodeOut, SignupIn, TokensOut
from parley_auth.sessions import account_out, start_session
from parley_auth.settings_schemas import SECTIONS, Patch, default_settings
from parley_auth.subscriptions import new_free_subscription
from parley_common.errors import NotFound, TooManyRequests
from parley_common.redis import RateLimiter


async def create_account(
    session: AsyncSession, *, email: str, password: str, name: str, account_name: str
) -> tuple[Account, Agent]:
    """A new account on the free plan with its owner; emits account.created and agent.created."""
    if await repo.agent_by_email(session, email) is not None:
        raise EmailTaken()
    settings = default_settings()
    account = Account(id=uuid.uuid4(), name=account_name, widget_key=new_widget_key(), **settings)
    session.add(account)
    await session.flush()
    session.add(new_free_subscription(account.id))
    agent = Agent(
        id=uuid.uuid4(),
        account_id=account.id,
        email=email,
        password_hash=await hash_password(password),
        name=name,
        description="",
        role="owner",
        status="offline",
    )
    session.add(agent)
    await repo.flush_unique_email(session)
    await outbox.emit(
        session,
        "auth.account.created",
        account.id,
        {
            "name": account.name,
            "widget_key": account.widget_key,
            "plan": "free",
            "settings": settings,
        },
    )
    await agent_event(session, "auth.agent.created", agent)
    return account, agent


async def signup(
    session: AsyncSession,
    *,
    data: SignupIn,
    limiter: RateLimiter,
    client_ip: str,
    settings: AuthSettings,
) -> TokensOut:
    retry_after = await limiter.hit(
        f"signup:ip:{client_ip}", limit=settings.signups_per_ip_per_hour, window=3600
    )
    if retry_after is not None:
        raise TooManyRequests(retry_after, "Too many sign-ups from this address.")
    _, agent = await create_account(
        session,
        email=data.email,
        password=data.password,
        name=data.name,
        account_name=data.account_name or f"{data.name}'s website",
    )
    return await start_session(session, agent, settings)


async def _account(
    session: AsyncSession, account_id: uuid.UUID, *, for_update: bool = False
) -> Account:
    account = await repo.get_account(session, account_id, for_update=for_update)
    if account is None:
        raise NotFound("No such account.")
    return account


async def get_account(session: AsyncSession, account_id: uuid.UUID) -> AccountOut:
    return await account_out(session, await _account(session, account_id))


async def rename_account(session: AsyncSession, account_id: uuid.UUID, name: str) -> AccountOut:
    account = await _account(session, account_id, for_update=True)
    account.name = name
    await session.flush()
    return await account_out(session, account)


def _merge(current: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any]:
    """Nested objects merge key by key; anything else (lists included) replaces."""
    merged = dict(current)
    for key, value in patch.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


async def get_settings_section(
    session: AsyncSession, account_id: uuid.UUID, section: str
) -> dict[str, Any]:
    account = await _account(session, account_id)
    # Stored sections are re-read through the model so defaults added later appear.
    model = SECTIONS[section].model_validate(getattr(account, section))
    return model.model_dump(mode="json")


async def update_settings_section(
    session: AsyncSession, account_id: uuid.UUID, section: str, patch: Patch
) -> dict[str, Any]:
    """Apply a validated PATCH to one section and emit auth.settings.updated with all of it."""
    account = await _account(session, account_id, for_update=True)
    current = SECTIONS[section].model_validate(getattr(account, section)).model_dump(mode="json")
    changes = patch.model_dump(mode="json", exclude_unset=True, by_alias=True)
    merged = SECTIONS[section].model_validate(_merge(current, changes)).model_dump(mode="json")
    if merged != current:
        setattr(account, section, merged)
        await session.flush()
        await outbox.emit(
            session,
            "auth.settings.updated",
            account_id,
            {"section": section, "settings": merged, "widget_key": account.widget_key},
        )
    return merged


async def chat_code(session: AsyncSession, account_id: uuid.UUID, public_url: str) -> ChatCodeOut:
    account = await _account(session, account_id)
    src = html.escape(f"{public_url.rstrip('/')}/widget.js", quote=True)
    key = html.escape(account.widget_key, quote=True)
    snippet = f'<script src="{src}" data-widget-key="{key}" async></script>'
    return ChatCodeOut(widget_key=account.widget_key, snippet=snippet)
