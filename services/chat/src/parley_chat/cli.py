"""The chat service's `parley` commands (entry point ``parley.commands``): inbound-mail,
backfill-messenger-visitors."""

from __future__ import annotations

import asyncio

import typer


def inbound_mail() -> None:
    """Run the chat service's inbound SMTP receiver (replies to conversation e-mails)."""
    from parley_chat.email.inbound import main

    main()


def backfill_messenger_visitors() -> None:
    """Make every Messenger user chat knows a visitor (those stored before the visitors service
    learnt of them). Safe to run again; the chat worker publishes what it emits."""
    from parley_chat.facebook import backfill

    sent = asyncio.run(backfill.run())
    typer.echo(f"backfill-messenger-visitors: {sent} Messenger contacts sent to visitors")


def register(app: typer.Typer) -> None:
    app.command("inbound-mail")(inbound_mail)
    app.command("backfill-messenger-visitors")(backfill_messenger_visitors)
