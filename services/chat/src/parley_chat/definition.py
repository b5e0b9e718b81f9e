"""How the CLI, the worker runner and the tests find the chat service."""

from __future__ import annotations

from pathlib import Path

from parley_chat.consumers import CONSUMERS
from parley_chat.events import outbox
from parley_chat.jobs import auto_resolve, sweep_unattached
from parley_chat.models import Base
from parley_common.contracts import SERVICE_PORTS
from parley_common.definition import ServiceDef

SERVICE = ServiceDef(
    name="chat",
    app="parley_chat.app:app",
    port=SERVICE_PORTS["chat"],
    metadata=Base.metadata,
    migrations=Path(__file__).resolve().parents[2] / "migrations",
    outbox=outbox,
    consumers=CONSUMERS,
    background=[auto_resolve, sweep_unattached],
)
