"""The account, its chat box settings, chat code and subscription."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from parley_auth import accounts, subscriptions
from parley_auth.deps import AccountReader, ActiveAdmin, ActiveAgent, AuthSettingsDep
from parley_auth.errors import AdminOnly, SessionRevoked
from parley_auth.schemas import AccountOut, AccountPatch, ChatCodeOut, SubscriptionOut
from parley_auth.settings_schemas import (
    ContactFormSettings,
    ContactFormSettingsPatch,
    DesignSettings,
    DesignSettingsPatch,
    GeneralSettings,
    GeneralSettingsPatch,
)
from parley_common.db import SessionDep
from parley_common.errors import responses

router = APIRouter(prefix="/api/v1/account", tags=["account"], responses=responses(SessionRevoked))


@router.get("", response_model=AccountOut)
async def get_account(agent: ActiveAgent, session: SessionDep) -> AccountOut:
    return await accounts.get_account(session, agent.account_id)


@router.patch("", response_model=AccountOut, responses=responses(AdminOnly))
async def rename_account(body: AccountPatch, agent: ActiveAdmin, session: SessionDep) -> AccountOut:
    return await accounts.rename_account(session, agent.account_id, body.name)


@router.get("/settings/general", response_model=GeneralSettings)
async def get_general(agent: AccountReader, session: SessionDep) -> dict[str, Any]:
    return await accounts.get_settings_section(session, agent.account_id, "general")


@router.patch("/settings/general", response_model=GeneralSettings, responses=responses(AdminOnly))
async def patch_general(
    body: GeneralSettingsPatch, agent: ActiveAdmin, session: SessionDep
) -> dict[str, Any]:
    """Chat box language, time zone, satisfaction rating, office hours, allowed domains."""
    return await accounts.update_settings_section(session, agent.account_id, "general", body)


@router.get("/settings/design", response_model=DesignSettings)
async def get_design(agent: AccountReader, session: SessionDep) -> dict[str, Any]:
    return await accounts.get_settings_section(session, agent.account_id, "design")


@router.patch("/settings/design", response_model=DesignSettings, responses=responses(AdminOnly))
async def patch_design(
    body: DesignSettingsPatch, agent: ActiveAdmin, session: SessionDep
) -> dict[str, Any]:
    """Chat box colour, texts, button theme and position."""
    return await accounts.update_settings_section(session, agent.account_id, "design", body)


@router.get("/settings/contact-form", response_model=ContactFormSettings)
async def get_contact_form(agent: AccountReader, session: SessionDep) -> dict[str, Any]:
    return await accounts.get_settings_section(session, agent.account_id, "contact_form")


@router.patch(
    "/settings/contact-form", response_model=ContactFormSettings, responses=responses(AdminOnly)
)
async def patch_contact_form(
    body: ContactFormSettingsPatch, agent: ActiveAdmin, session: SessionDep
) -> dict[str, Any]:
    """The offline contact form: enabled, fields, offline text."""
    return await accounts.update_settings_section(session, agent.account_id, "contact_form", body)


@router.get("/chat-code", response_model=ChatCodeOut)
async def chat_code(
    agent: ActiveAgent, session: SessionDep, settings: AuthSettingsDep
) -> ChatCodeOut:
    """The HTML to paste into a website: loads the chat box with this account's widget key."""
    return await accounts.chat_code(session, agent.account_id, settings.public_url)


@router.get("/subscription", response_model=SubscriptionOut)
async def subscription(agent: ActiveAgent, session: SessionDep) -> SubscriptionOut:
    """Plan, status, expiry and the entitlements other services enforce."""
    return await subscriptions.get_subscription(session, agent.account_id)
