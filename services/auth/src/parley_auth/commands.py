"""Account commands behind `parley create-account` and `parley seed-demo` (cli.py)."""

from __future__ import annotations

from contextlib import AsyncExitStack
from typing import Any

from parley_auth import accounts
from parley_auth import repository as repo
from parley_auth.config import get_auth_settings
from parley_auth.models import Account, Agent
from parley_common.db import create_engine, create_session_factory
from parley_common.events.publisher import publish_what_commits


def _result(account: Account, agent: Agent, *, created: bool) -> dict[str, Any]:
    return {
        "created": created,
        "account_id": str(account.id),
        "agent_id": str(agent.id),
        "email": agent.email,
        "widget_key": account.widget_key,
    }


async def _run(
    email: str, password: str, name: str, account_name: str, *, reuse: bool
) -> dict[str, Any]:
    email = email.strip().lower()
    settings = get_auth_settings()
    engine = create_engine(settings.database_url, pool_size=1)
    async with AsyncExitStack() as stack:
        stack.push_async_callback(engine.dispose)
        # The account's events go out now, not after the relay's grace: the other services
        # know the account (its widget, its agents) as soon as the command returns.
        await publish_what_commits(stack, settings)
        async with create_session_factory(engine)() as session, session.begin():
            if reuse:
                existing = await repo.agent_by_email(session, email)
                if existing is not None:
                    account = await repo.get_account(session, existing.account_id)
                    assert account is not None
                    return _result(account, existing, created=False)
            account, agent = await accounts.create_account(
                session, email=email, password=password, name=name, account_name=account_name
            )
            return _result(account, agent, created=True)


async def create_account(email: str, password: str, name: str, account_name: str) -> dict[str, Any]:
    """Create an account and its owner (the API's sign-up, events included)."""
    return await _run(email, password, name, account_name, reuse=False)


async def ensure_account(email: str, password: str, name: str, account_name: str) -> dict[str, Any]:
    """The account of ``email`` if it exists, else a new one (idempotent)."""
    return await _run(email, password, name, account_name, reuse=True)
