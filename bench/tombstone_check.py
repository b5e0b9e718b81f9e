"""What the GDPR tombstone check costs a consumer batch.

Every consumer batch asks the service's ``erased_visitors`` which of its events' visitors
(``data.visitor_id``) were erased (``parley_common.events.consumer.
BatchingHandler``: in the statement that claims the batch's event ids, one round trip).
Measured in the worst case for it, batches of one event (a quiet system: every message its
own batch), against a table of ``tombstones`` erased visitors, through the consumer's own
batch transaction with a handler that does nothing: without and with the check. CPU of this
process and of its PostgreSQL backend per batch.

Run: uv run python -m bench tombstone_check  → bench/results/tombstone_check.json
"""

from __future__ import annotations

import time
import uuid
from typing import Any

from bench.common import migrated_database, write_results
from bench.system import cpu_seconds


async def main(checks: int = 3000, tombstones: int = 10_000) -> None:
    database_url = await migrated_database("notify", "tombstones")
    results = await _measure(database_url, checks, tombstones)
    write_results("tombstone_check", results)


async def _measure(database_url: str, checks: int, tombstones: int) -> dict[str, Any]:
    from sqlalchemy import insert, text

    from parley_common.db import create_engine, create_session_factory
    from parley_common.events.consumer import BatchingHandler, Consumer
    from parley_common.events.envelope import Event
    from parley_notify.events import outbox

    engine = create_engine(database_url, pool_size=1)
    sessions = create_session_factory(engine)

    async def nothing(session: Any, event: Event) -> None:
        return None

    try:
        async with sessions() as session, session.begin():
            await session.execute(
                insert(outbox.erased),
                [
                    {"visitor_id": uuid.uuid4(), "account_id": uuid.uuid4()}
                    for _ in range(tombstones)
                ],
            )
            backend = (await session.execute(text("SELECT pg_backend_pid()"))).scalar_one()

        async def phase(erased: Any) -> tuple[float, float, float]:
            """``checks`` batches of one message event, as the consumer runs them."""
            consumer = Consumer("bench", {"chat.message.created": nothing})
            handler = BatchingHandler(
                sessions, outbox.processed, f"bench-{uuid.uuid4().hex[:6]}", consumer, erased=erased
            )
            account = uuid.uuid4()
            batches = [
                [
                    (
                        None,
                        Event(
                            type="chat.message.created",
                            account_id=account,
                            data={"visitor_id": str(uuid.uuid4())},
                        ),
                        nothing,
                    )
                ]
                for _ in range(checks)
            ]
            cpu, pg, wall = time.process_time(), cpu_seconds(backend), time.perf_counter()
            for batch in batches:
                await handler._in_one_transaction(batch)  # type: ignore[arg-type]
            return (
                time.process_time() - cpu,
                cpu_seconds(backend) - pg,
                time.perf_counter() - wall,
            )

        await phase(outbox.erased)  # warm up (prepared statements, caches)
        without = await phase(None)
        with_check = await phase(outbox.erased)
    finally:
        await engine.dispose()
    per = 1000 / checks
    return {
        "what": "consumer batches of one event: the claim alone vs the claim with the check",
        "checks": checks,
        "tombstones": tombstones,
        "batch_process_cpu_ms": {
            "without": round(without[0] * per, 3),
            "with": round(with_check[0] * per, 3),
        },
        "batch_postgres_backend_cpu_ms": {
            "without": round(without[1] * per, 3),
            "with": round(with_check[1] * per, 3),
        },
        "batch_wall_ms": {
            "without": round(without[2] * per, 3),
            "with": round(with_check[2] * per, 3),
        },
    }
