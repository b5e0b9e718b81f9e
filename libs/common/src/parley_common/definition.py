"""What a service is, for the CLI, the worker runner and the test plugin.

Each service package exposes ``SERVICE`` through the ``parley.services`` entry point.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import MetaData

from parley_common.events.consumer import Consumer
from parley_common.events.outbox import Outbox

if TYPE_CHECKING:
    from parley_common.worker import WorkerContext

BackgroundTask = Callable[["WorkerContext"], Awaitable[None]]


@dataclass
class ServiceDef:
    name: str
    app: str  # import string for uvicorn, e.g. "parley_auth.app:app"
    port: int
    metadata: MetaData | None = None
    migrations: Path | None = None
    outbox: Outbox | None = None
    consumers: Sequence[Consumer] = field(default_factory=tuple)
    background: Sequence[BackgroundTask] = field(default_factory=tuple)
    # Queues consumed by background tasks rather than by `consumers`: (purpose, routing keys).
    queues: Sequence[tuple[str, Sequence[str]]] = field(default_factory=tuple)
    # The port of a second listener serving only health, readiness and metrics (read from the
    # process's settings; 0 = none), for a process whose main port is public.
    internal_port: Callable[[], int] | None = None

    @property
    def schema(self) -> str | None:
        return self.metadata.schema if self.metadata is not None else None


def service_names() -> list[str]:
    order = ["auth", "visitors", "chat", "notify", "bots", "gateway"]
    names = [ep.name for ep in entry_points(group="parley.services")]
    return sorted(names, key=lambda n: order.index(n) if n in order else len(order))


def load_service(name: str) -> ServiceDef:
    for ep in entry_points(group="parley.services"):
        if ep.name == name:
            service: ServiceDef = ep.load()
            return service
    raise KeyError(f"unknown service {name!r}; known: {', '.join(service_names())}")
