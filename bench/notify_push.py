"""Notify: pushes per second to an APNs double, and event-to-push latency.

The notify worker runs in this process against a fresh database and broker namespace; the
APNs double (HTTP/2 over TLS, services/notify/tests/apns_double.py) serves from its own
process, so the client under test does not share an interpreter (and its GIL) with it.
- ``apns_client``: aioapns alone, notifications sent concurrently (the ceiling);
- ``pipeline``: ``chat.message.created`` events published to RabbitMQ for an account with many
  agents' devices → consumer → push rows → sender → APNs, until the double has them all;
- ``latency``: one event at a time, from publishing it (what chat's outbox relay does right
  after the message commits) to the double receiving the push.

Run: uv run python -m bench notify_push  → bench/results/notify.json
"""

from __future__ import annotations

import asyncio
import importlib.util
import multiprocessing
import os
import sys
import tempfile
import threading
import time
import uuid
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

from bench.common import ROOT, percentiles, write_results

DOUBLE = ROOT / "services/notify/tests/apns_double.py"


def _load_double() -> Any:
    spec = importlib.util.spec_from_file_location("notify_apns_double", DOUBLE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def _configure(double: Any, database_url: str, namespace: str) -> None:
    os.environ.update(
        {
            "PARLEY_DATABASE_URL": database_url,
            "PARLEY_NAMESPACE": namespace,
            "PARLEY_LOG_LEVEL": "WARNING",
            "PARLEY_APNS_KEY_FILE": str(double.pki.p8_file),
            "PARLEY_APNS_KEY_ID": "KEY1234567",
            "PARLEY_APNS_TEAM_ID": "TEAM123456",
            "PARLEY_APNS_PRODUCTION_HOST": "localhost",
            "PARLEY_APNS_PORT": str(double.port),
            "PARLEY_APNS_CA_FILE": str(double.pki.ca_file),
            "PARLEY_VISITOR_BURST_SECONDS": "3600",
            "PARLEY_MISSED_CHAT_AFTER_SECONDS": "3600",
        }
    )
    from parley_common.settings import get_settings
    from parley_notify.config import get_notify_settings

    get_settings.cache_clear()
    get_notify_settings.cache_clear()


def _serve_double(pki_files: dict[str, str], ready: Any, received: Any) -> None:
    """The double's process: serve until killed, counting the pushes it receives."""
    module = _load_double()
    pki = module.TestPKI(p8_public=None, **{k: Path(v) for k, v in pki_files.items()})
    double = module.APNsDouble(pki)

    def record(push: Any) -> None:
        received.value += 1

    double._record = record

    async def serve() -> None:
        await double.start()
        ready.send(double.port)
        await asyncio.Event().wait()

    asyncio.run(serve())


class DoubleProcess:
    """The APNs double in a child process; ``count()`` is how many pushes it has received."""

    def __init__(self, pki: Any) -> None:
        context = multiprocessing.get_context("spawn")
        self.pki = pki
        self._received = context.Value("q", 0, lock=False)
        parent, child = context.Pipe()
        files = {
            name: str(getattr(pki, name))
            for name in ("ca_file", "cert_file", "key_file", "p8_file")
        }
        self._process = context.Process(
            target=_serve_double, args=(files, child, self._received), daemon=True
        )
        self._process.start()
        if not parent.poll(30):
            raise RuntimeError("the APNs double did not start")
        self.port: int = parent.recv()

    def count(self) -> int:
        return int(self._received.value)

    def stop(self) -> None:
        self._process.kill()
        self._process.join(5)


def _in_thread(fn: Any) -> None:
    thread = threading.Thread(target=fn)
    thread.start()
    thread.join()


async def _wait_count(double: Any, count: int, timeout: float = 60) -> float:
    deadline = time.perf_counter() + timeout
    while double.count() < count:
        if time.perf_counter() > deadline:
            raise RuntimeError(f"only {double.count()} of {count} pushes arrived")
        await asyncio.sleep(0.0005)
    return time.perf_counter()


async def bench_apns_client(double: Any, total: int) -> dict[str, Any]:
    from parley_notify.apns import APNsClient, Notification
    from parley_notify.config import get_notify_settings

    client = APNsClient(get_notify_settings())
    note = Notification(
        token="ab" * 32,
        environment="production",
        topic="com.example.app",
        payload={"aps": {"alert": {"title": "t", "body": "b"}}},
    )
    await client.send(note)  # connect
    start_count = double.count()
    started = time.perf_counter()
    answers = await asyncio.gather(*(client.send(note) for _ in range(total)))
    elapsed = time.perf_counter() - started
    client.close()
    await _wait_count(double, start_count + total)  # the child counts asynchronously
    return {
        "notifications": total,
        "seconds": round(elapsed, 3),
        "pushes_per_s": round(total / elapsed, 1),
        "non_200": sum(1 for a in answers if a.status != 200),
    }


async def main(
    agents: int = 50, devices_per_agent: int = 2, events: int = 20, latency_samples: int = 100
) -> None:
    from parley_common.definition import load_service
    from parley_common.migrations import ensure_database, upgrade

    run = uuid.uuid4().hex[:8]
    base = os.environ.get(
        "PARLEY_BENCH_DATABASE_BASE", "postgresql+asyncpg://postgres@127.0.0.1:5432"
    )
    database_url = f"{base}/parley_bench_notify_{run}"
    double_mod = _load_double()
    pki = double_mod.TestPKI.create(Path(tempfile.mkdtemp(prefix="parley-bench-apns-")))
    double = DoubleProcess(pki)
    _configure(double, database_url, f"bench{run}")
    await ensure_database(database_url, recreate=True)
    _in_thread(lambda: upgrade(load_service("notify"), database_url))
    try:
        results = await _measure(double, agents, devices_per_agent, events, latency_samples)
    finally:
        double.stop()
        from parley_common.cli import remove_namespace
        from parley_common.settings import get_settings

        await remove_namespace(get_settings())
    write_results("notify", results)


async def _measure(
    double: Any, agents: int, devices_per_agent: int, events: int, latency_samples: int
) -> dict[str, Any]:
    import aio_pika
    import orjson

    from parley_common.definition import load_service
    from parley_common.events.envelope import Event
    from parley_common.worker import start_worker
    from parley_notify.models import Device

    client_result = await bench_apns_client(double, 3000)

    async with AsyncExitStack() as stack:
        ctx, tasks = await start_worker(load_service("notify"), stack)
        stack.callback(lambda: [t.cancel() for t in tasks])
        assert ctx.session_factory is not None
        exchange = ctx.exchange

        async def publish(account_id: uuid.UUID) -> None:
            event = Event(
                type="chat.message.created",
                account_id=account_id,
                data={
                    "conversation_id": str(uuid.uuid4()),
                    "message_id": str(uuid.uuid4()),
                    "visitor_id": str(uuid.uuid4()),
                    "author_type": "visitor",
                    "text": "Hello, do you ship to Norway?",
                    "channel": "chat",
                },
            )
            await exchange.publish(
                aio_pika.Message(
                    orjson.dumps(event.model_dump(mode="json")),
                    delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
                ),
                routing_key=event.type,
            )

        async def account_with_devices(n_agents: int, per_agent: int) -> uuid.UUID:
            account_id = uuid.uuid4()
            async with ctx.session_factory() as session, session.begin():
                for _ in range(n_agents):
                    agent_id = uuid.uuid4()
                    for _ in range(per_agent):
                        session.add(
                            Device(
                                account_id=account_id,
                                agent_id=agent_id,
                                token=uuid.uuid4().hex * 2,
                                platform="ios",
                                environment="production",
                            )
                        )
            return account_id

        # Pipeline throughput: events x agents x devices pushes.
        crowd = await account_with_devices(agents, devices_per_agent)
        await publish(crowd)  # warm up consumer, sender and connection
        expected = double.count() + agents * devices_per_agent
        await _wait_count(double, expected)
        total = events * agents * devices_per_agent
        started = time.perf_counter()
        for _ in range(events):
            await publish(crowd)
        finished = await _wait_count(double, expected + total, timeout=120)
        pipeline = {
            "events": events,
            "devices": agents * devices_per_agent,
            "pushes": total,
            "seconds": round(finished - started, 3),
            "pushes_per_s": round(total / (finished - started), 1),
        }

        # Latency: one event, one device, one at a time.
        single = await account_with_devices(1, 1)
        samples: list[float] = []
        for _ in range(latency_samples):
            count = double.count()
            started = time.perf_counter()
            await publish(single)
            samples.append(await _wait_count(double, count + 1) - started)
        latency = percentiles(samples)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    return {
        "load_average_1m": round(os.getloadavg()[0], 2),
        "target": {"pushes_per_s": 2000, "event_to_push_p50_ms": 50},
        "apns_client": client_result,
        "pipeline": pipeline,
        "event_to_push_latency": latency,
        "note": "latency starts at publishing the event (chat's relay does it right after the "
        "message commits; its LISTEN/NOTIFY wake-up is not included)",
    }


if __name__ == "__main__":
    asyncio.run(main())
