"""Tracing through the whole system: one visitor message is one connected trace.

The gateway, chat (which publishes its events after commit), the chat worker (the outbox
relay, the safety net) and the gateway worker (sequencer) are
restarted with ``PARLEY_OTLP_ENDPOINT`` pointing at an OTLP/HTTP collector double in this
test (the real exporter, protobuf over HTTP); the visitor writes through nginx (which does
not trace, and passes the client's `traceparent` on) while an agent listens on the stream,
and the spans they export must form one trace, the client's: chat's request → chat's
publish → the sequencer → the gateway's delivery to the agent's socket, every span's parent
inside the trace but the root's, which is the client's span.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)

from parley_common.e2e import System, free_port, next_event
from parley_common.testing import eventually

CLIENT_TRACE_ID, CLIENT_SPAN_ID = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"
CLIENT = f"00-{CLIENT_TRACE_ID}-{CLIENT_SPAN_ID}-01"  # a W3C traceparent, as a client sends it
TRACED = ("gateway", "chat", "chat-worker", "gateway-worker")


@dataclass(frozen=True)
class Span:
    service: str
    name: str
    trace_id: str
    span_id: str
    parent_id: str


@contextmanager
def otlp_collector() -> Iterator[tuple[str, list[Span]]]:
    """An OTLP/HTTP trace receiver on a free port, in its own thread (the e2e harness waits
    for processes synchronously, and a stopping process flushes its spans to it meanwhile);
    yields its URL and the spans it got."""
    spans: list[Span] = []

    class Receiver(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            export = ExportTraceServiceRequest.FromString(body)
            for resource_spans in export.resource_spans:
                attrs = {a.key: a.value.string_value for a in resource_spans.resource.attributes}
                for scope in resource_spans.scope_spans:
                    spans.extend(
                        Span(
                            attrs.get("service.name", "?"),
                            s.name,
                            s.trace_id.hex(),
                            s.span_id.hex(),
                            s.parent_span_id.hex(),
                        )
                        for s in scope.spans
                    )
            reply = ExportTraceServiceResponse().SerializeToString()
            self.send_response(200)
            self.send_header("Content-Type", "application/x-protobuf")
            self.send_header("Content-Length", str(len(reply)))
            self.end_headers()
            self.wfile.write(reply)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", free_port()), Receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}", spans
    finally:
        server.shutdown()
        server.server_close()


@asynccontextmanager
async def traced(system: System, endpoint: str) -> AsyncIterator[None]:
    original = system.env
    system.env = {**original, "PARLEY_OTLP_ENDPOINT": endpoint, "OTEL_BSP_SCHEDULE_DELAY": "100"}
    try:
        await asyncio.gather(*(system.restart(name) for name in TRACED))
        yield
    finally:
        system.env = original
        await asyncio.gather(*(system.restart(name) for name in TRACED))


@pytest.mark.timeout(400)
async def test_one_visitor_message_is_one_connected_trace(system: System, gateway: Any) -> None:
    owner = await system.signup(gateway)
    session = await system.widget_session(gateway, owner)
    visitor_token = session["visitor_token"]
    with otlp_collector() as (endpoint, spans):
        async with traced(system, endpoint):
            async with system.agent_stream(owner["headers"]) as agent_ws:
                sent = await gateway.post(
                    "/api/v1/widget/messages",
                    headers={"Authorization": f"Bearer {visitor_token}", "traceparent": CLIENT},
                    json={"text": "Is this traced?", "client_message_id": "t-1"},
                )
                assert sent.status_code == 201, sent.text
                seen = await next_event(
                    agent_ws, lambda f: f["event"] == "chat.message.created", timeout=30
                )
                assert seen["data"]["text"] == "Is this traced?"

            def delivered() -> Span | None:
                return next(
                    (s for s in spans if s.name == "stream deliver chat.message.created"), None
                )

            trace_id = (await eventually(delivered, timeout=20)).trace_id

            def complete() -> list[Span] | None:
                trace = [s for s in spans if s.trace_id == trace_id]
                services = {s.service for s in trace}
                if not {"parley-gateway", "parley-chat", "parley-gateway-worker"} <= services:
                    return None
                # Each process exports a span when it ends, in batches: a parent (the request's
                # server span) can arrive after its children. Wait until every parent is in.
                ids = {s.span_id for s in trace} | {CLIENT_SPAN_ID}
                return trace if all(s.parent_id in ids for s in trace) else None

            trace = await eventually(complete, timeout=20)

    assert trace_id == CLIENT_TRACE_ID  # the client's trace, carried through nginx
    by_id = {s.span_id: s for s in trace}
    roots = [s for s in trace if s.parent_id not in by_id]
    assert len(roots) == 1, roots
    assert roots[0].service == "parley-chat" and roots[0].parent_id == CLIENT_SPAN_ID
    assert roots[0].name.startswith("POST")

    def chain(span: Span) -> list[str]:
        path = []
        while span is not None:
            path.append(f"{span.service}: {span.name}")
            span = by_id.get(span.parent_id)
        return path[::-1]

    path = chain(delivered())  # type: ignore[arg-type]
    names = [p.split(": ", 1)[1] for p in path]
    services = [p.split(": ", 1)[0] for p in path]
    # chat request → chat's publish after commit → sequencer → gateway delivery, in that order.
    assert services[0] == "parley-chat"
    assert "parley-chat: publish chat.message.created" in path
    assert "sequence chat.message.created" in names
    assert names.index("publish chat.message.created") < names.index(
        "sequence chat.message.created"
    )
    assert path[-1] == "parley-gateway: stream deliver chat.message.created"
    # The message's INSERT is in the trace too (asyncpg instrumentation, in chat).
    assert any(s.service == "parley-chat" and s.name != path[1] for s in trace)
