"""How the CLI, the worker runner and the tests find the notify service."""

from __future__ import annotations

from pathlib import Path

from parley_common.contracts import SERVICE_PORTS
from parley_common.definition import ServiceDef
from parley_notify.consumers import CONSUMERS
from parley_notify.delivery import RETRY_PURPOSE
from parley_notify.events import outbox
from parley_notify.jobs import BACKGROUND
from parley_notify.models import Base

SERVICE = ServiceDef(
    name="notify",
    app="parley_notify.app:app",
    port=SERVICE_PORTS["notify"],
    metadata=Base.metadata,
    migrations=Path(__file__).resolve().parents[2] / "migrations",
    outbox=outbox,
    consumers=CONSUMERS,
    background=BACKGROUND,
    # Pushes to retry, dead-lettered into it by the delay queues (no bindings: fed directly).
    queues=[(RETRY_PURPOSE, ())],
)
