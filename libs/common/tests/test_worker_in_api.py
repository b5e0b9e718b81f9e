"""`parley serve <name> --with-worker` (the Procfile of `make run`): the service's worker runs in
its API process, started before the API serves, part of its readiness, stopped with it."""

from __future__ import annotations

from fastapi import FastAPI

from parley_common.app import create_service_app
from parley_common.definition import load_service
from parley_common.events.broker import queue_name
from parley_common.worker import attach_worker, worker_context

SERVICE = load_service("bots")


def bots_with_worker() -> FastAPI:
    app = create_service_app("bots", [])  # a fresh app: the service's own is shared by tests
    attach_worker(app, SERVICE)
    return app


async def consumers_on(broker, settings) -> list[int]:
    channel = await broker.channel()
    try:
        counts = []
        for consumer in SERVICE.consumers:
            name = queue_name(settings.namespace, "bots", consumer.purpose)
            queue = await channel.declare_queue(name, passive=True)
            counts.append(queue.declaration_result.consumer_count or 0)
        return counts
    finally:
        await channel.close()


async def test_the_worker_runs_in_the_api_process_and_stops_with_it(
    service_client, broker, settings
) -> None:
    assert SERVICE.consumers
    async with service_client(bots_with_worker()) as client:
        # Serving means the worker has started: its consumers are on their queues.
        assert all(await consumers_on(broker, settings))
        ready = await client.get("/readyz")
        assert ready.status_code == 200, ready.text
        assert ready.json()["checks"]["worker"] == "ok"
    assert await consumers_on(broker, settings) == [0] * len(SERVICE.consumers)


async def test_the_api_is_not_ready_while_its_worker_is_cut_off(service_client) -> None:
    async with service_client(bots_with_worker()) as client:
        await worker_context().connection.close()
        resp = await client.get("/readyz")
        assert resp.status_code == 503
        assert resp.json()["checks"]["worker"].startswith("failed: ")
