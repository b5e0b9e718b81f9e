"""What tracing costs the message path while it is off (PARLEY_OTLP_ENDPOINT unset).

A visitor message passes these hooks once each: the event's ``traceparent`` (chat), the
relay's check of the envelope, the consumer's span helper (per consuming service), the
sequencer's and the hub's checks. Each is timed alone (best of 5 runs of 200,000 calls, each
including the cost of calling a lambda) and
compared with the message path's measured CPU per message (bench/chat_message_path.py:
7.5 ms across all processes). Writes bench/results/telemetry_off.json.
"""

from __future__ import annotations

import json
import os
import timeit

from bench.common import RESULTS
from parley_common import telemetry

CALLS = 200_000
CPU_PER_MESSAGE_MS = 7.5  # bench/results/chat.json, all processes


def per_call_ns(stmt, setup: str = "pass") -> float:
    best = min(timeit.repeat(stmt, setup=setup, number=CALLS, repeat=5, globals=globals()))
    return round(best / CALLS * 1e9, 1)


async def main() -> None:
    assert not telemetry.enabled()
    body = {"id": "x", "type": "chat.message.created"}
    frame = {"type": "event", "seq": 1}
    hooks = {
        "event_traceparent": per_call_ns(lambda: telemetry.traceparent()),
        "relay_envelope_check": per_call_ns(lambda: body.get("traceparent") is None),
        "consumer_span_off": per_call_ns(lambda: telemetry.enabled() or telemetry.span("")),
        "sequencer_check": per_call_ns(lambda: telemetry.enabled()),
        "hub_check": per_call_ns(lambda: "traceparent" in frame and telemetry.enabled()),
    }
    # What calling an empty lambda costs (included in every figure above).
    baseline = per_call_ns(lambda: None)
    # Per message: the hooks once each, the consumer's for ~4 consuming services.
    total_ns = sum(hooks.values()) + 3 * hooks["consumer_span_off"]
    out = {
        "benchmark": "telemetry_off",
        "per_call_ns": hooks,
        "empty_call_ns_included_above": baseline,
        "per_message_ns": round(total_ns, 1),
        "share_of_cpu_per_message": f"{total_ns / (CPU_PER_MESSAGE_MS * 1e6):.6%}",
        "load_at_start": os.getloadavg()[0],
    }
    print(json.dumps(out, indent=2))
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "telemetry_off.json").write_text(json.dumps(out, indent=2) + "\n")
