"""OpenTelemetry traces: off unless ``PARLEY_OTLP_ENDPOINT`` is set, and then one trace per
visitor message from the gateway to the agent's socket.

Off (the default) nothing is imported, installed or wrapped: ``enabled()`` is a module
global, the span helpers return one shared no-op context manager and events carry no trace
context, so the message path pays one attribute lookup per hop (bench/telemetry_off.py).

On, ``setup()`` (called by ``parley serve`` / ``parley worker`` before the app is imported)
installs an OTLP/HTTP exporter, the asyncpg and aiohttp-client instrumentations, and
``create_service_app`` wraps each app in the ASGI middleware. HTTP hops propagate the W3C
``traceparent`` header; the event envelope carries it across the outbox (``Event.traceparent``),
the relay puts its publish span's context in the AMQP headers, consumers and the stream
sequencer continue it, and the sequencer's frame hands it to the gateway that delivers it.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager, nullcontext
from typing import Any

_enabled = False
_tracer: Any = None
_NOOP: AbstractContextManager[Any] = nullcontext()
# Requests not worth a span: probes, scrapes, and the stream sockets (which live for hours;
# what they deliver is traced as "stream deliver").
EXCLUDED_URLS = "/healthz,/readyz,/metrics,/api/v1/stream,/api/v1/widget/stream"


def enabled() -> bool:
    return _enabled


def setup(process: str, endpoint: str | None, *, exporter: Any = None) -> None:
    """Start tracing for this process (``parley-<process>``) if an endpoint (or, in tests, an
    exporter) is given; idempotent."""
    global _enabled, _tracer
    if _enabled or not (endpoint or exporter):
        return
    from opentelemetry import trace
    from opentelemetry.instrumentation.aiohttp_client import AioHttpClientInstrumentor
    from opentelemetry.instrumentation.asyncpg import AsyncPGInstrumentor
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor

    provider = TracerProvider(resource=Resource.create({"service.name": f"parley-{process}"}))
    if exporter is not None:
        provider.add_span_processor(SimpleSpanProcessor(exporter))
    else:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        url = endpoint.rstrip("/") + "/v1/traces"  # type: ignore[union-attr]
        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=url)))
    trace.set_tracer_provider(provider)
    AsyncPGInstrumentor().instrument()
    AioHttpClientInstrumentor().instrument()
    _tracer = trace.get_tracer("parley")
    _enabled = True


def wrap_asgi(app: Any) -> Any:
    """The app inside OpenTelemetry's ASGI middleware when tracing is on, else the app itself."""
    if not _enabled:
        return app
    from opentelemetry.instrumentation.asgi import OpenTelemetryMiddleware

    return OpenTelemetryMiddleware(app, excluded_urls=EXCLUDED_URLS)


def traceparent() -> str | None:
    """The current span's W3C traceparent, for an event envelope; None when off."""
    if not _enabled:
        return None
    from opentelemetry.propagate import inject

    carrier: dict[str, str] = {}
    inject(carrier)
    return carrier.get("traceparent")


def _parent(traceparent: str | None) -> Any:
    from opentelemetry.propagate import extract

    return extract({"traceparent": traceparent}) if traceparent else None


@contextmanager
def _span(name: str, kind: str, parent: str | None, attributes: Mapping[str, Any]) -> Iterator[Any]:
    from opentelemetry.trace import SpanKind

    with _tracer.start_as_current_span(
        name, context=_parent(parent), kind=SpanKind[kind], attributes=dict(attributes)
    ) as span:
        yield span


def span(
    name: str, *, parent: str | None = None, kind: str = "INTERNAL", **attributes: Any
) -> AbstractContextManager[Any]:
    """A span continuing ``parent`` (a traceparent) or the current context; no-op when off."""
    if not _enabled:
        return _NOOP
    return _span(name, kind, parent, attributes)


def message_traceparent(headers: Mapping[str, Any] | None, envelope_value: Any) -> str | None:
    """The context to continue for a consumed event: the relay's (AMQP header) if present,
    else the envelope's."""
    if headers:
        value = headers.get("traceparent")
        if isinstance(value, bytes):
            return value.decode()
        if isinstance(value, str):
            return value
    return envelope_value if isinstance(envelope_value, str) else None
