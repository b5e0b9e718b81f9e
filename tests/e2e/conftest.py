"""The e2e system's environment (outgoing webhooks may reach test receivers on 127.0.0.1),
and the one Chromium the browser tests share (parley_common.browser)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio

from parley_common.browser import CHROMIUM, CHROMIUM_ARGS, PHONE, open_page


@pytest.fixture(scope="session")
def system_env() -> dict[str, str]:
    return {"PARLEY_WEBHOOKS_ALLOW_PRIVATE": "true", "PARLEY_WEBHOOK_POLL_SECONDS": "0.2"}


@pytest_asyncio.fixture(scope="session")
async def chromium() -> AsyncIterator[Any]:
    """One headless Chromium for the whole run; each test opens contexts of its own."""
    from playwright.async_api import async_playwright

    assert CHROMIUM.exists(), "Debian chromium is missing: run `make browser`"
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            await browser.close()


async def _page(chromium: Any, **context: Any) -> AsyncIterator[Any]:
    page = await open_page(chromium, **context)
    try:
        yield page
    finally:
        await page.context.close()


@pytest_asyncio.fixture
async def browser_page(chromium: Any) -> AsyncIterator[Any]:
    """A desktop-sized page."""
    async for page in _page(chromium, viewport={"width": 1200, "height": 800}):
        yield page


@pytest_asyncio.fixture
async def phone_page(chromium: Any) -> AsyncIterator[Any]:
    """A page at an iPhone's viewport (390x844)."""
    async for page in _page(chromium, **PHONE):
        yield page
