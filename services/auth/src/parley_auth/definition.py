"""How the CLI, the worker runner and the tests find the auth service."""

from __future__ import annotations

from pathlib import Path

from parley_auth import api_keys
from parley_auth.consumers import CONSUMERS
from parley_auth.events import outbox
from parley_auth.models import Base
from parley_common.contracts import SERVICE_PORTS
from parley_common.definition import ServiceDef

SERVICE = ServiceDef(
    name="auth",
    app="parley_auth.app:app",
    port=SERVICE_PORTS["auth"],
    metadata=Base.metadata,
    migrations=Path(__file__).resolve().parents[2] / "migrations",
    outbox=outbox,
    consumers=CONSUMERS,
    background=[api_keys.resync],
)
