"""How the CLI, the worker runner and the tests find the bots service."""

from __future__ import annotations

from pathlib import Path

from parley_bots.consumers import CONSUMERS
from parley_bots.events import outbox
from parley_bots.jobs import fire_due_triggers
from parley_bots.models import Base
from parley_common.contracts import SERVICE_PORTS
from parley_common.definition import ServiceDef

SERVICE = ServiceDef(
    name="bots",
    app="parley_bots.app:app",
    port=SERVICE_PORTS["bots"],
    metadata=Base.metadata,
    migrations=Path(__file__).resolve().parents[2] / "migrations",
    outbox=outbox,
    consumers=CONSUMERS,
    background=[fire_due_triggers],
)
