"""Prometheus metrics shared by every process."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

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
