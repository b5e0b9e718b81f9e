"""The visitors service's `parley` command (entry point ``parley.commands``): seed-visitors."""

from __future__ import annotations

import asyncio
import json

import typer

from parley_common.commands import DEMO_FILE


def seed_visitors(count: int, account_id: str | None = None) -> None:
    """Add COUNT known visitors to an account (default: the demo account of `parley
    seed-demo`), for benchmarks."""
    from rich.progress import Progress

    from parley_visitors.commands import seed_visitors as seed

    if account_id is None:
        if not DEMO_FILE.exists():
            raise typer.BadParameter("no --account-id and no demo account: run `parley seed-demo`")
        account_id = json.loads(DEMO_FILE.read_text())["account_id"]
    with Progress() as progress:
        task = progress.add_task("seeding visitors", total=count)
        asyncio.run(seed(account_id, count, lambda n: progress.advance(task, n)))
    typer.echo(f"seed-visitors: added {count} visitors")


def register(app: typer.Typer) -> None:
    app.command("seed-visitors")(seed_visitors)
