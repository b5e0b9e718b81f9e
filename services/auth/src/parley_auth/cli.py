"""The auth service's `parley` commands (entry point ``parley.commands``): create-account and
seed-demo. Imports stay inside the commands: every `parley` invocation registers them."""

from __future__ import annotations

import asyncio
import json
import os

import typer

from parley_common.commands import DEMO_FILE, DEMO_PASSWORD_ENV, read_password
from parley_common.settings import get_settings


def create_account(email: str, name: str = "Owner", account_name: str = "My website") -> None:
    """Create an account and its owner agent; the password comes from PARLEY_ADMIN_PASSWORD
    or a prompt."""
    from parley_auth import commands

    password = read_password()
    result = asyncio.run(commands.create_account(email, password, name, account_name))
    typer.echo(json.dumps(result, indent=2))


def seed_demo(email: str = "demo@parley.localhost") -> None:
    """Create the demo account once; its password is PARLEY_DEMO_PASSWORD (default
    parley-demo-password). `parley seed-visitors N` then adds visitors to it."""
    from parley_auth import commands

    public = get_settings().public_url.rstrip("/")
    password = os.environ.get(DEMO_PASSWORD_ENV) or "parley-demo-password"
    demo = asyncio.run(commands.ensure_account(email, password, "Demo Agent", "Demo website"))
    if demo.pop("created"):
        typer.echo(f"seed-demo: created the demo account {email} / {password}")
    else:
        typer.echo(f"seed-demo: the demo account {email} already exists")
    typer.echo(
        f"seed-demo: widget key {demo['widget_key']}, live demo {public}/demo/{demo['widget_key']}"
    )
    DEMO_FILE.parent.mkdir(parents=True, exist_ok=True)
    DEMO_FILE.write_text(json.dumps(demo, indent=2))


def register(app: typer.Typer) -> None:
    app.command("create-account")(create_account)
    app.command("seed-demo")(seed_demo)
