"""What the commands services add to the ``parley`` CLI share (``parley.commands`` entry
points): the password rule and the demo account's file."""

from __future__ import annotations

import getpass
import os

import typer

from parley_common.settings import LOCAL_DIR

PASSWORD_ENV = "PARLEY_ADMIN_PASSWORD"
DEMO_PASSWORD_ENV = "PARLEY_DEMO_PASSWORD"
# Written by `parley seed-demo`: the demo account's ids, login and widget key.
DEMO_FILE = LOCAL_DIR / "demo.json"


def read_password() -> str:
    """From PARLEY_ADMIN_PASSWORD, else a prompt; never from argv (shell history, `ps`)."""
    password = os.environ.get(PASSWORD_ENV)
    if password is None:
        password = getpass.getpass("Password: ")
    if not password:
        raise typer.BadParameter(f"empty password (prompt or {PASSWORD_ENV})")
    return password
