"""Notify's webhooks queue: CPU per event that no webhook subscribes to, bound vs not bound.

Before issue 16's follow-up the webhooks queue was bound to every event type an integrator may
subscribe to, for every account, so each page view (``visitors.visitor.page_changed``, the most
frequent event) of every account was a delivery, a consumer transaction and a query in notify's
worker even where no account has a webhook. Now it is bound only to the types some enabled
webhook subscribes to (``parley_notify.routing``).

The notify worker runs in this process against a fresh database and namespace, with one
webhook (another account, on ``visitors.visitor.left``). Each phase publishes ``events``
page views of accounts without webhooks, then one ``visitors.visitor.left`` as a marker, and
waits until the worker has handled the marker (queues are FIFO; in the bound phase every page
view is handled before it). CPU is this process's (publisher + worker; the publishing is the
same in both phases) and our database's PostgreSQL backends'.
- ``bound``: the queue bound to every subscribable type (what every deployment did before);
- ``subscribed_only``: the bindings ``routing.rebind_webhooks`` leaves (only the marker's type).

Run: uv run python -m bench webhooks_queue  → bench/results/webhooks_queue.json
"""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from contextlib import AsyncExitStack
from typing import Any

from bench.common import migrated_database, write_results
from bench.system import cpu_seconds


async def main(events: int = 2000) -> None:
    run = uuid.uuid4().hex[:8]
    os.environ.update(
        {
            "PARLEY_NAMESPACE": f"bench{run}",
            "PARLEY_LOG_LEVEL": "WARNING",
            "PARLEY_WEBHOOKS_ALLOW_PRIVATE": "true",
        }
    )
    os.environ["PARLEY_DATABASE_URL"] = await migrated_database("notify", "webhooks")
    from parley_common.settings import get_settings
    from parley_notify.config import get_notify_settings

    get_settings.cache_clear()
    get_notify_settings.cache_clear()
    try:
        results = await _measure(events)
    finally:
        from parley_common.cli import remove_namespace

        await remove_namespace(get_settings())
    write_results("webhooks_queue", results)


async def _measure(events: int) -> dict[str, Any]:
    import aio_pika
    import asyncpg
    import orjson

    from parley_common.definition import load_service
    from parley_common.events import broker
    from parley_common.events.catalogue import WEBHOOK_EVENT_TYPES, routing_key
    from parley_common.events.envelope import Event
    from parley_common.worker import start_worker
    from parley_notify import routing
    from parley_notify.models import Webhook

    routing.RECONCILE_SECONDS = 3600  # the bound phase keeps its bindings
    async with AsyncExitStack() as stack:
        ctx, tasks = await start_worker(load_service("notify"), stack)
        stack.callback(lambda: [t.cancel() for t in tasks])
        assert ctx.session_factory is not None
        namespace = ctx.settings.namespace
        consumer = broker.queue_name(namespace, "notify", routing.WEBHOOKS)
        dsn = ctx.settings.database_url.replace("+asyncpg", "")
        db = await asyncpg.connect(dsn)
        stack.push_async_callback(db.close)
        async with ctx.session_factory() as session, session.begin():
            session.add(
                Webhook(
                    account_id=uuid.uuid4(),
                    url="http://127.0.0.1:9/hook",
                    events=["visitors.visitor.left"],
                    enabled=True,
                    secret="whsec_bench",
                )
            )

        async def publish(kind: str) -> uuid.UUID:
            event = Event(
                type=kind, account_id=uuid.uuid4(), data={"visitor_id": str(uuid.uuid4())}
            )
            body = event.model_dump(mode="json")
            await ctx.exchange.publish(
                aio_pika.Message(orjson.dumps(body), message_id=str(event.id)),
                routing_key=routing_key(body),
            )
            return event.id

        async def backends_cpu() -> float:
            pids = await db.fetch(
                "SELECT pid FROM pg_stat_activity WHERE datname = current_database()"
            )
            return sum(cpu_seconds(row["pid"]) for row in pids)

        async def phase() -> dict[str, Any]:
            handled_before = await db.fetchval(
                "SELECT count(*) FROM notify.processed_events WHERE consumer = $1", consumer
            )
            cpu, pg, wall = time.process_time(), await backends_cpu(), time.perf_counter()
            for _ in range(events):
                await publish("visitors.visitor.page_changed")
            marker = await publish("visitors.visitor.left")
            deadline = time.perf_counter() + 300
            while not await db.fetchval(
                "SELECT 1 FROM notify.processed_events WHERE event_id = $1", marker
            ):
                if time.perf_counter() > deadline:
                    raise RuntimeError("the marker event was never handled")
                await asyncio.sleep(0.05)
            cpu, pg = time.process_time() - cpu, await backends_cpu() - pg
            handled = (
                await db.fetchval(
                    "SELECT count(*) FROM notify.processed_events WHERE consumer = $1", consumer
                )
                - handled_before
            )
            return {
                "page_views_published": events,
                "events_handled_by_webhooks_queue": handled,
                "seconds": round(time.perf_counter() - wall, 2),
                "process_cpu_ms_per_page_view": round(cpu * 1000 / events, 3),
                "postgres_backends_cpu_ms_per_page_view": round(pg * 1000 / events, 3),
            }

        channel = await ctx.connection.channel()
        stack.push_async_callback(channel.close)
        exchange = await broker.declare_exchanges(channel, namespace)
        queue = await broker.declare_queue(channel, namespace, consumer, ())
        for event_type in WEBHOOK_EVENT_TYPES:  # how every deployment was bound before
            if event_type != routing.MESSAGE:
                await queue.bind(exchange, event_type)
        await publish("visitors.visitor.left")  # warm up
        bound = await phase()
        async with ctx.session_factory() as session, session.begin():
            await routing.rebind_webhooks(session, channel, namespace)
        subscribed_only = await phase()
    return {
        "what": "CPU per page view of an account without webhooks, notify's webhooks queue",
        "bound": bound,
        "subscribed_only": subscribed_only,
    }
