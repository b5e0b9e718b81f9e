"""How the CLI, the worker runner and the tests find the visitors service."""

from __future__ import annotations

from pathlib import Path

from parley_common.contracts import SERVICE_PORTS
from parley_common.definition import ServiceDef
from parley_visitors.consumers import CONSUMERS
from parley_visitors.events import outbox
from parley_visitors.models import Base
from parley_visitors.sweeper import presence_sweeper

SERVICE = ServiceDef(
    name="visitors",
    app="parley_visitors.app:app",
    port=SERVICE_PORTS["visitors"],
    metadata=Base.metadata,
    migrations=Path(__file__).resolve().parents[2] / "migrations",
    outbox=outbox,
    consumers=CONSUMERS,
    background=[presence_sweeper],
)
