"""The browser tests' Chromium: Debian's (`make browser`) driven by Playwright, with nothing
but the pages under test on the network (no updates, sync, QUIC or first-run calls).
The fixtures using it are in tests/e2e/conftest.py."""

from __future__ import annotations

from pathlib import Path
from typing import Any

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path.cwd() / "test-artifacts"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
# An iPhone's viewport.
PHONE: dict[str, Any] = {
    "viewport": {"width": 390, "height": 844},
    "is_mobile": True,
    "has_touch": True,
}


async def open_page(browser: Any, **context: Any) -> Any:
    """A page in a fresh context (its own storage); `page.errors` collects uncaught errors."""
    ctx = await browser.new_context(**context)
    page = await ctx.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.errors = errors
    return page
