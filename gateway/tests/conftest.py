"""Stream fixtures: two real gateway processes, the sequencer, and an event publisher."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import aio_pika
import httpx
import orjson
import pytest_asyncio

from parley_common.events import broker as broker_mod
from parley_common.events.envelope import Event
from parley_common.testing import free_port, running_worker


@dataclass
class Gateway:
    port: int
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    async def start(self) -> None:
        log = open(
            os.path.join(os.environ["PARLEY_TEST_TMP_DIR"], f"gateway-{self.port}.log"), "ab"
        )
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "parley_common.cli",
                "serve",
                "gateway",
                "--port",
                str(self.port),
            ],
            stdout=log,
            stderr=log,
        )
        async with httpx.AsyncClient() as client:
            for _ in range(600):
                with contextlib.suppress(httpx.HTTPError):
                    if (await client.get(self.url + "/healthz")).status_code == 200:
                        return
                if not self.alive():
                    raise RuntimeError(f"gateway on {self.port} exited")
                await asyncio.sleep(0.05)
        raise RuntimeError(f"gateway on {self.port} did not start")

    def kill(self) -> None:
        if self.alive():
            assert self.process is not None
            self.process.send_signal(signal.SIGKILL)
            self.process.wait()

    def stop(self) -> None:
        if self.alive():
            assert self.process is not None
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()


@dataclass
class Gateways:
    a: Gateway
    b: Gateway
    all: list[Gateway] = field(default_factory=list)

    async def ensure(self) -> None:
        for gw in (self.a, self.b):
            if not gw.alive():
                await gw.start()


@pytest_asyncio.fixture(scope="session")
async def gateway_processes(database: str) -> AsyncIterator[Gateways]:
    gateways = Gateways(Gateway(free_port()), Gateway(free_port()))
    try:
        await gateways.ensure()
        yield gateways
    finally:
        gateways.a.stop()
        gateways.b.stop()


@pytest_asyncio.fixture(scope="session")
async def sequencer(database: str) -> AsyncIterator[Any]:
    async with running_worker("gateway") as ctx:
        yield ctx


@pytest_asyncio.fixture
async def gateways(gateway_processes: Gateways, sequencer: Any) -> Gateways:
    """Both gateway processes running (a test may have killed one) and the sequencer."""
    await gateway_processes.ensure()
    return gateway_processes


class Publisher:
    """Produces events the way services do: envelopes on the events exchange, confirmed."""

    def __init__(self, exchange: Any) -> None:
        self.exchange = exchange

    async def publish(
        self,
        event_type: str,
        account_id: uuid.UUID | str,
        data: dict[str, Any] | None = None,
        *,
        event_id: uuid.UUID | None = None,
    ) -> Event:
        event = Event(
            id=event_id or uuid.uuid4(),
            type=event_type,
            account_id=uuid.UUID(str(account_id)),
            data=data or {},
        )
        body = orjson.dumps(event.model_dump(mode="json"))
        await self.exchange.publish(
            aio_pika.Message(
                body,
                content_type="application/json",
                message_id=str(event.id),
                delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
            ),
            routing_key=event_type,
            mandatory=True,
        )
        return event


@pytest_asyncio.fixture(scope="session")
async def publisher(broker: Any, settings: Any) -> AsyncIterator[Publisher]:
    channel = await broker.channel(publisher_confirms=True)
    exchange = await broker_mod.declare_exchanges(channel, settings.namespace)
    yield Publisher(exchange)
    await channel.close()
