"""How the CLI finds the gateway: `parley serve gateway`, `parley worker gateway` (sequencer)."""

from __future__ import annotations

from parley_common.contracts import SERVICE_PORTS
from parley_common.definition import ServiceDef
from parley_gateway.config import get_gateway_settings
from parley_gateway.stream.sequencer import QUEUE_PURPOSE, run_sequencer

SERVICE = ServiceDef(
    name="gateway",
    app="parley_gateway.app:app",
    port=SERVICE_PORTS["gateway"],
    background=[run_sequencer],
    queues=[(QUEUE_PURPOSE, ["#"])],
    internal_port=lambda: get_gateway_settings().gateway_internal_port,
)
