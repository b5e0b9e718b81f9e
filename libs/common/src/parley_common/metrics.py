"""Prometheus metrics shared by every process (dashboard: deploy/grafana-dashboard.json).

Everything on the message path is a counter/histogram update; gauges that need a lookup
(pool usage, queue depth, open sockets) are read when scraped or polled by the worker.
"""

from __future__ import annotations

import weakref
from collections.abc import Iterator
from typing import Any

from prometheus_client import REGISTRY, Counter, Gauge, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

REQUEST_LATENCY = Histogram(
    "parley_http_request_seconds",
    "HTTP request latency by route",
    ["method", "route", "status"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)
EVENTS_PUBLISHED = Counter("parley_events_published_total", "Events published", ["type"])
EVENTS_PUBLISH_FAILED = Counter(
    "parley_events_publish_failed_total", "Event publish failures", ["type"]
)
EVENTS_CONSUMED = Counter("parley_events_consumed_total", "Events handled", ["consumer", "type"])
EVENTS_FAILED = Counter(
    "parley_events_failed_total", "Event handler failures", ["consumer", "type"]
)
CONSUMER_LAG = Histogram(
    "parley_event_consumer_lag_seconds",
    "From an event's occurrence to its handling by a consumer",
    ["consumer"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 15, 60, 300),
)
OUTBOX_LAG = Gauge(
    "parley_outbox_lag_seconds",
    "Age of the oldest unpublished outbox row at the relay's last pass (0: none waiting)",
    ["service"],
)
QUEUE_MESSAGES = Gauge(
    "parley_queue_messages", "Messages ready in a RabbitMQ queue (polled by its worker)", ["queue"]
)
QUEUE_CONSUMERS = Gauge("parley_queue_consumers", "Consumers of a RabbitMQ queue", ["queue"])
STREAM_CONNECTIONS = Gauge(
    "parley_stream_connections", "Open stream websockets in this gateway process"
)
PUSH_OUTCOMES = Counter(
    "parley_push_outcomes_total",
    "APNs attempts by outcome (sent, token_gone, retry, failed)",
    ["outcome"],
)


class _PoolCollector(Collector):
    """SQLAlchemy pool usage of this process's engines, read at scrape time."""

    def __init__(self) -> None:
        self.engines: weakref.WeakSet[Any] = weakref.WeakSet()

    def collect(self) -> Iterator[GaugeMetricFamily]:
        in_use = GaugeMetricFamily(
            "parley_db_pool_in_use", "Database connections checked out", labels=["pool"]
        )
        size = GaugeMetricFamily(
            "parley_db_pool_size", "Database pool size (without overflow)", labels=["pool"]
        )
        for index, engine in enumerate(list(self.engines)):
            pool = engine.pool
            in_use.add_metric([str(index)], pool.checkedout())
            size.add_metric([str(index)], pool.size())
        yield in_use
        yield size


_POOLS = _PoolCollector()
REGISTRY.register(_POOLS)


def watch_pool(engine: Any) -> None:
    """Report this engine's pool usage (``parley_db_pool_in_use`` / ``_size``)."""
    _POOLS.engines.add(engine.sync_engine)
