"""`parley seed-visitors N` (cli.py) fills an account with known visitors."""

from __future__ import annotations

import random
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import asyncpg

from parley_common.events.outbox import asyncpg_dsn
from parley_visitors.config import get_visitors_settings
from parley_visitors.widget_sessions import make_label

BATCH = 10_000
COLUMNS = (
    "id",
    "account_id",
    "label",
    "name",
    "email",
    "custom",
    "visits",
    "first_seen_at",
    "last_seen_at",
    "browser",
    "os",
    "device_type",
    "country",
    "utm",
    "last_url",
    "last_title",
)
DEVICES = [
    ("Chrome", "Windows", "desktop"),
    ("Safari", "Mac OS X", "desktop"),
    ("Mobile Safari", "iOS", "mobile"),
    ("Chrome Mobile", "Android", "mobile"),
    ("Firefox", "Linux", "desktop"),
    ("Mobile Safari", "iOS", "tablet"),
]
COUNTRIES = ["CZ", "DE", "US", "GB", "FR", "SK", "PL", None]
PAGES = [
    ("https://demo.parley.localhost/", "Home"),
    ("https://demo.parley.localhost/pricing", "Pricing"),
    ("https://demo.parley.localhost/blog/launch", "We launched"),
    ("https://demo.parley.localhost/contact", "Contact"),
]


def _visitor(account_id: uuid.UUID, now: datetime, n: int) -> tuple[object, ...]:
    visitor_id = uuid.uuid4()
    seen = now - timedelta(seconds=random.randint(60, 90 * 86400))
    named = n % 5 == 0
    browser, os_name, device = random.choice(DEVICES)
    url, title = random.choice(PAGES)
    return (
        visitor_id,
        account_id,
        make_label(visitor_id),
        f"Visitor {n}" if named else None,
        f"visitor{n}@example.com" if named else None,
        "{}",
        random.randint(1, 12),
        seen - timedelta(days=random.randint(0, 30)),
        seen,
        browser,
        os_name,
        device,
        random.choice(COUNTRIES),
        "{}",
        url,
        title,
    )


async def seed_visitors(account_id: str, count: int, progress: Callable[[int], None]) -> None:
    """Insert ``count`` known (inactive) visitors with COPY, in batches of 10,000."""
    account = uuid.UUID(str(account_id))
    conn = await asyncpg.connect(asyncpg_dsn(get_visitors_settings().database_url))
    try:
        now = datetime.now(UTC)
        for start in range(0, count, BATCH):
            size = min(BATCH, count - start)
            records = [_visitor(account, now, start + i) for i in range(size)]
            await conn.copy_records_to_table(
                "visitors", schema_name="visitors", columns=COLUMNS, records=records
            )
            progress(size)
    finally:
        await conn.close()
