"""A worker's gauges: its queues' depth and consumers (polled), its database pool (scraped)."""

from __future__ import annotations

from prometheus_client import REGISTRY, generate_latest

from parley_common.definition import load_service
from parley_common.events import broker
from parley_common.testing import eventually


async def test_worker_reports_queue_depth_and_pool_usage(worker, settings) -> None:
    service = load_service("chat")
    names = [broker.queue_name(settings.namespace, "chat", c.purpose) for c in service.consumers]
    async with worker("chat"):

        def polled() -> bool:
            return all(
                REGISTRY.get_sample_value("parley_queue_consumers", {"queue": name})
                for name in names
            )

        await eventually(polled, timeout=20)
        for name in names:
            assert REGISTRY.get_sample_value("parley_queue_messages", {"queue": name}) is not None
        scraped = generate_latest().decode()
        assert "parley_db_pool_in_use{" in scraped
        assert "parley_db_pool_size{" in scraped
