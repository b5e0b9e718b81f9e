"""After the faults: wait for the system to drain, then check what the issue promises.

- every accepted message is stored once;
- every agent received every message exactly once, in order (stream, or REST after ``reset``);
- no outbox row left unsent; every chat.message.created handled by each consumer service or
  dead-lettered, no queue left holding messages; no push sent twice;
- every 503 was problem+json with Retry-After, and no failed request took more than 2 s.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aio_pika
import asyncpg
from chaos_load import SLOW, AgentStream, Visitors, number

from parley_common.definition import load_service, service_names
from parley_common.e2e import System
from parley_common.events import broker
from parley_common.events.catalogue import routing_key
from parley_notify.routing import follow_ups_of

DRAIN_SECONDS = 180
CONSUMERS_OF_MESSAGES = ("notify", "bots")  # the services consuming chat.message.created


@dataclass
class Report:
    rows: list[dict[str, Any]] = field(default_factory=list)
    checks: dict[str, list[str]] = field(default_factory=dict)  # name → failures (empty: ok)
    totals: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not any(self.checks.values())

    def render(self) -> str:
        cols = [
            "fault",
            "seconds",
            "sent",
            "accepted",
            "stored",
            "delivered",
            "dup",
            "503",
            "other errors",
        ]
        lines = [" | ".join(cols), " | ".join("---" for _ in cols)]
        for row in self.rows:
            lines.append(" | ".join(str(row[c]) for c in cols))
        lines.append("")
        for name, failures in self.checks.items():
            lines.append(f"{'ok  ' if not failures else 'FAIL'} {name}")
            lines += [f"       {f}" for f in failures[:10]]
        lines.append(json.dumps(self.totals))
        return "\n".join(lines)

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        body = {
            "measured_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "rows": self.rows,
            "checks": self.checks,
            "totals": self.totals,
            "ok": self.ok,
        }
        path.write_text(json.dumps(body, indent=2))


def _topic_match(pattern: str, key: str) -> bool:
    """AMQP topic matching: ``*`` is one word, ``#`` zero or more."""

    def match(words: list[str], keys: list[str]) -> bool:
        if not words:
            return not keys
        if words[0] == "#":
            return any(match(words[1:], keys[i:]) for i in range(len(keys) + 1))
        return bool(keys) and words[0] in ("*", keys[0]) and match(words[1:], keys[1:])

    return match(pattern.split("."), key.split("."))


def routed_to(service: str, body: dict[str, Any], account_id: str) -> bool:
    """Whether the broker routes this event to the service's queues (consumers bind only what
    they act on; notify also every follow-up of an account with a phone, as the owner has)."""
    patterns = [p for c in load_service(service).consumers for p in c.routing_patterns()]
    if service == "notify":
        patterns.append(follow_ups_of(uuid.UUID(account_id)))
    key = routing_key(body)
    return any(_topic_match(p, key) for p in patterns)


def _pg_dsn(system: System) -> str:
    return system.env["PARLEY_DATABASE_URL"].replace("postgresql+asyncpg", "postgresql")


async def _until(check: Any, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while not await check():
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(1)
    return True


async def _unsent_outbox(db: asyncpg.Connection) -> dict[str, int]:
    schemas = await db.fetch(
        "SELECT table_schema FROM information_schema.tables WHERE table_name = 'outbox'"
    )
    unsent = {}
    for row in schemas:
        schema = row["table_schema"]
        unsent[schema] = await db.fetchval(
            f'SELECT count(*) FROM "{schema}".outbox WHERE published_at IS NULL'
        )
    return unsent


async def _queues(system: System) -> tuple[dict[str, int], set[str]]:
    """Messages waiting in every queue of the namespace; the ids in the dead-letter queue."""
    namespace = system.env["PARLEY_NAMESPACE"]
    connection = await aio_pika.connect(system.env["PARLEY_RABBITMQ_URL"])
    try:
        waiting: dict[str, int] = {}
        channel = await connection.channel()
        for name in service_names():
            service = load_service(name)
            purposes = [c.purpose for c in service.consumers] + [p for p, _ in service.queues]
            for purpose in purposes:
                queue_name = broker.queue_name(namespace, name, purpose)
                queue = await channel.declare_queue(queue_name, passive=True)
                waiting[queue_name] = queue.declaration_result.message_count or 0
        dead = await channel.declare_queue(f"{namespace}.dead-letter", passive=True)
        ids: set[str] = set()
        while (message := await dead.get(no_ack=False, fail=False)) is not None:
            ids.add(str(message.message_id))
        await channel.close()  # unacked: the dead letters go back to their queue
        return waiting, ids
    finally:
        await connection.close()


async def check(
    system: System,
    servers: Any,
    account_id: str,
    load: Visitors,
    agents: list[AgentStream],
    apns: Any,
) -> Report:
    report = Report()
    accepted = load.accepted
    db = await asyncpg.connect(_pg_dsn(system))
    try:

        async def unhandled() -> tuple[list[str], dict[str, int], set[str]]:
            waiting, dead_ids = await _queues(system)
            events = await db.fetch(
                "SELECT id, body FROM chat.outbox WHERE type = 'chat.message.created'"
                " AND body->>'account_id' = $1",
                account_id,
            )
            handled = {
                service: {
                    r["event_id"]
                    for r in await db.fetch(f"SELECT event_id FROM {service}.processed_events")
                }
                for service in CONSUMERS_OF_MESSAGES
            }
            missing = [
                f"{service} never handled event {row['id']}"
                for row in events
                for service in CONSUMERS_OF_MESSAGES
                if routed_to(service, json.loads(row["body"]), account_id)
                and row["id"] not in handled[service]
                and str(row["id"]) not in dead_ids
            ]
            return missing, waiting, dead_ids

        async def drained() -> bool:
            if not all(accepted <= set(a.via) for a in agents):
                return False
            return not any((await _unsent_outbox(db)).values()) and not (await unhandled())[0]

        drained_in_time = await _until(drained, DRAIN_SECONDS)
        rows = await db.fetch(
            "SELECT text, count(*) AS n FROM chat.messages"
            " WHERE account_id = $1 AND author_type = 'visitor' GROUP BY text",
            uuid.UUID(account_id),
        )
        stored = Counter({number(r["text"]): r["n"] for r in rows if number(r["text"])})
        unsent = await _unsent_outbox(db)
        missing, waiting, dead_ids = await unhandled()
    finally:
        await db.close()

    bodies = (p.payload.get("aps", {}).get("alert", {}).get("body") or "" for p in apns.received)
    pushes = Counter(n for n in map(number, bodies) if n is not None)
    for phase in load.phases:
        if not phase.sent and not phase.attempts:
            continue
        delivered = sum(all(n in a.via for a in agents) for n in phase.sent)
        dup = sum(stored[n] > 1 or any(a.stream_duplicates[n] for a in agents) for n in phase.sent)
        report.rows.append(
            {
                "fault": phase.name,
                "seconds": round((phase.ended or time.monotonic()) - phase.started, 1),
                "sent": len(phase.sent),
                "accepted": len(phase.sent & accepted),
                "stored": sum(stored[n] == 1 for n in phase.sent),
                "delivered": delivered,
                "dup": dup,
                "503": phase.refused_503,
                "other errors": dict(phase.failed) or "",
            }
        )
    report.checks["the system drained (agents caught up, outbox sent) in time"] = (
        [] if drained_in_time else [f"not within {DRAIN_SECONDS}s"]
    )
    report.checks["every message accepted"] = [
        f"message {n} never accepted" for n in range(1, load.total + 1) if n not in accepted
    ]
    report.checks["every accepted message stored once"] = [
        f"message {n} stored {stored[n]} times" for n in sorted(accepted) if stored[n] != 1
    ]
    failures = []
    for agent in agents:
        failures += [f"{agent.name} missed {n}" for n in sorted(accepted - set(agent.via))]
        failures += [f"{agent.name} got {n} twice" for n in agent.stream_duplicates]
        failures += [f"{agent.name} out of order: {o}" for o in agent.out_of_order()]
        failures += [f"{agent.name} seq gap {g}" for g in agent.gaps]
    report.checks["every agent received every message exactly once, in order"] = failures
    report.checks["no outbox row left unsent"] = [f"{s}: {n}" for s, n in unsent.items() if n]
    report.checks["no event left neither handled nor dead-lettered"] = missing + [
        f"{queue}: {n} waiting" for queue, n in waiting.items() if n
    ]
    report.checks["no push sent twice"] = [
        f"{b!r} pushed {n} times" for b, n in pushes.items() if n > 1
    ]
    report.checks[f"refusals were 503 problem+json with Retry-After within {SLOW:.0f}s"] = [
        f"{phase.name}: {problem}"
        for phase in load.phases
        for problem in phase.bad_503 + phase.slow
    ]
    report.totals = {
        "messages": load.total,
        "accepted": len(accepted),
        "stored_once": sum(stored[n] == 1 for n in accepted),
        "message_pushes": sum(pushes.values()),
        "dead_lettered": len(dead_ids),
        "agents": {
            a.name: {
                "stream": sum(v == "stream" for v in a.via.values()),
                "refetch": sum(v == "refetch" for v in a.via.values()),
                "connects": a.connects,
                "resets": a.resets,
                "overlaps_dropped_by_id": a.overlaps,
            }
            for a in agents
        },
    }
    return report
