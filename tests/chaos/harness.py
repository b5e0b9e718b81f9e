"""`make chaos`: nothing accepted is lost while processes, the broker, Redis or PostgreSQL fail.

Every process of the Procfile runs against PostgreSQL, RabbitMQ and Redis of the run's own
(``infra.PrivateServers``: the machine's shared servers are never restarted), each service's
API and worker as separate processes, as deployed (not `make run`'s one process per service),
so each is killed on its own. Visitors send numbered messages through the gateway while two
agents listen on the stream (``load``). In turn, during the load, each fault is injected and
undone: ``kill -9`` of every process and a fresh start, ``rabbitmqctl stop_app``/``start_app``,
a Redis restart (it keeps nothing on disk: the stream's replay window and presence are gone,
agents get ``reset`` and refetch over REST), PostgreSQL stopped for 5 s. Then the checks
(``checks``) and a table per fault.

Run: make chaos   (or: uv run python tests/chaos/harness.py --messages 200 --faults chat,redis)
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import aiohttp

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(HERE))

from chaos_checks import Report, check  # noqa: E402
from chaos_infra import PrivateServers  # noqa: E402
from chaos_load import AgentStream, Visitors  # noqa: E402

from parley_common.e2e import System, load_test_module, make_system, wait_ready  # noqa: E402

PROCESSES = [
    "chat",
    "chat-worker",
    "nginx",
    "gateway",
    "gateway-worker",
    "notify",
    "notify-worker",
    "bots",
    "bots-worker",
    "visitors",
    "visitors-worker",
    "auth",
    "auth-worker",
    "chat-mail",
]
SERVERS = ["rabbitmq", "redis", "postgresql"]
ALL_FAULTS = PROCESSES + SERVERS
PG_DOWN_SECONDS = 5
PHASE_TIMEOUT = 300  # seconds a phase may take to send its share once its fault is undone


async def inject(servers: PrivateServers, system: System, fault: str) -> None:
    """One fault, undone before returning (the load keeps running meanwhile)."""
    if fault == "rabbitmq":
        await asyncio.to_thread(servers.stop_rabbit_app)
        await asyncio.sleep(1)
        await asyncio.to_thread(servers.start_rabbit_app)
    elif fault == "redis":
        servers.stop_redis()
        await asyncio.sleep(1)
        await asyncio.to_thread(servers.start_redis)
    elif fault == "postgresql":
        await asyncio.to_thread(servers.stop_pg)
        await asyncio.sleep(PG_DOWN_SECONDS)
        await asyncio.to_thread(servers.start_pg)
    else:
        system.kill(fault)
        await asyncio.sleep(1)
        system.start(fault)
        deadline = time.monotonic() + 180
        while not await asyncio.to_thread(system.started, fault):
            if time.monotonic() > deadline:
                raise RuntimeError(f"{fault} did not come back\n{system.log_tail(fault)}")
            await asyncio.sleep(0.2)


async def _through(load: Visitors, sender: asyncio.Task[None]) -> bool:
    """Wait until every message the phase allows was sent (a stuck system fails the run)."""
    deadline = time.monotonic() + PHASE_TIMEOUT
    while load.released < load.allowed and not sender.done():
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(0.1)
    return True


async def setup_account(system: System, visitors: int) -> dict[str, Any]:
    """An owner (with a phone, offline: every visitor message is a push), a second agent, and
    ``visitors`` widget sessions."""
    async with system.client() as gateway:
        owner = await system.signup(gateway)
        agent = await system.invite(gateway, owner)
        resp = await gateway.post(
            "/api/v1/devices",
            headers=owner["headers"],
            json={
                "platform": "ios",
                "token": uuid.uuid4().hex * 2,
                "environment": "production",
                "bundle_id": "com.example.parley",
            },
        )
        assert resp.status_code == 201, resp.text
        resp = await gateway.put(
            "/api/v1/me/status", headers=owner["headers"], json={"status": "offline"}
        )
        assert resp.status_code == 200, resp.text
        sessions = [await system.widget_session(gateway, owner) for _ in range(visitors)]
    return {
        "account_id": owner["account"]["id"],
        "agents": {"owner": owner["access_token"], "agent": agent["access_token"]},
        "visitor_tokens": [s["visitor_token"] for s in sessions],
    }


async def chaos(
    base: Path, *, messages: int, faults: list[str], visitors: int, rate: float
) -> Report:
    servers = PrivateServers()
    apns_mod = load_test_module("services/notify/tests/apns_double.py")
    apns = await apns_mod.APNsDouble(apns_mod.TestPKI.create(base / "apns")).start()
    system: System | None = None
    try:
        await asyncio.to_thread(servers.start)
        env = {
            **servers.env,
            "PARLEY_NAMESPACE": "chaos",
            "PARLEY_JWT_PRIVATE_KEY_FILE": str(base / "keys" / "jwt_private.pem"),
            "PARLEY_JWT_PUBLIC_KEY_FILE": str(base / "keys" / "jwt_public.pem"),
            "PARLEY_STORAGE_DIR": str(base / "storage"),
            "PARLEY_LOG_LEVEL": "INFO",
            "PARLEY_DATABASE_POOL_SIZE": "5",
            "PARLEY_APNS_KEY_FILE": str(apns.pki.p8_file),
            "PARLEY_APNS_KEY_ID": "KEY1234567",
            "PARLEY_APNS_TEAM_ID": "TEAM123456",
            "PARLEY_APNS_PRODUCTION_HOST": "localhost",
            "PARLEY_APNS_SANDBOX_HOST": "localhost",
            "PARLEY_APNS_PORT": str(apns.port),
            "PARLEY_APNS_CA_FILE": str(apns.pki.ca_file),
        }
        system = make_system(env, logs=base / "logs")
        parley = str(ROOT / ".venv/bin/parley")
        for command in ("keys", "migrate"):
            subprocess.run(
                [parley, command], env=system.env, cwd=ROOT, check=True, capture_output=True
            )
        system.start_all()
        await asyncio.to_thread(wait_ready, system)
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=200)) as http:
            account = await setup_account(system, visitors)
            agents = [
                AgentStream(name, http, system.url, token, visitors)
                for name, token in account["agents"].items()
            ]
            listeners = [asyncio.create_task(a.run()) for a in agents]
            for agent in agents:
                await asyncio.wait_for(agent.hello.wait(), 30)
            load = Visitors(http, system.url, account["visitor_tokens"], messages, rate)
            sender = asyncio.create_task(load.run())
            share = messages // (len(faults) + 2)
            # Each phase sends its share of the messages: while its fault is on, and after.
            stuck: list[str] = []
            for i, name in enumerate(["start", *faults, "after"]):
                load.begin(name, allowed=messages if name == "after" else share * (i + 1))
                if name not in ("start", "after"):
                    print(f"chaos: {name}", flush=True)
                    await inject(servers, system, name)
                if not await _through(load, sender):
                    stuck.append(f"{name}: messages up to {load.allowed} not through in time")
                    break
            else:  # every message sent: wait for the last ones to be accepted
                done, _ = await asyncio.wait([sender], timeout=PHASE_TIMEOUT)
                stuck += [] if done else ["after: the last messages not accepted in time"]
            sender.cancel()
            report = await check(system, servers, account["account_id"], load, agents, apns)
            report.checks["the load got through every fault"] = stuck
            for task in listeners:
                task.cancel()
        return report
    finally:
        if system is not None:
            system.stop_all()
        await apns.stop()
        servers.close()


def _interrupt(*_: Any) -> None:
    raise KeyboardInterrupt


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=1000)
    parser.add_argument("--faults", default=",".join(ALL_FAULTS))
    parser.add_argument("--visitors", type=int, default=20)
    parser.add_argument("--rate", type=float, default=8.0, help="messages per second")
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, _interrupt)  # stopped: still restore and stop everything
    base = Path(tempfile.mkdtemp(prefix="parley-chaos-"))
    print(f"chaos: servers, logs and keys in {base}", flush=True)
    report = asyncio.run(
        chaos(
            base,
            messages=args.messages,
            faults=args.faults.split(","),
            visitors=args.visitors,
            rate=args.rate,
        )
    )
    print(report.render())
    report.save(ROOT / "bench" / "results" / "chaos.json")
    sys.exit(0 if report.ok else 1)


if __name__ == "__main__":
    main()
