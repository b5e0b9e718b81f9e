"""SmartHub statistics, and the bots worker consuming real events from RabbitMQ."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import aio_pika
import orjson
from sqlalchemy import select, text

from parley_bots import jobs
from parley_bots.app import app
from parley_bots.config import get_bots_settings
from parley_bots.engine import fire_due_runs
from parley_bots.events import outbox
from parley_common.db import create_session_factory
from parley_common.events import broker as broker_mod
from parley_common.events.catalogue import routing_key
from parley_common.testing import eventually

from .support import AUTO_MESSAGE, CHATBOT, arrived, bot_messages, deliver, message
from .test_api import AM, CB, problem

STATS = "/api/v1/stats/chatbots"


async def test_stats_count_triggered_replied_converted(
    service_client, agent, other_account, engine
):
    async with service_client(app) as client:
        chatbot = (await client.post(CB, headers=agent.headers, json=CHATBOT)).json()
        auto = (await client.post(AM, headers=agent.headers, json=AUTO_MESSAGE)).json()
        await client.post(AM, headers=agent.headers, json={**AUTO_MESSAGE, "enabled": False})
        converted, replied, silent = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
        for visitor in (converted, replied, silent):
            await deliver(engine, arrived(agent.account_id, visitor))
        await deliver(engine, message(agent.account_id, converted, "Talk to a human"))
        await deliver(engine, message(agent.account_id, replied, "Just browsing"))

        now = datetime.now(UTC)
        params = {
            "from": (now - timedelta(hours=1)).isoformat(),
            "to": (now + timedelta(hours=1)).isoformat(),
        }
        resp = await client.get(STATS, headers=agent.headers, params=params)
        assert resp.status_code == 200, resp.text
        stats = resp.json()
        assert stats["active_chatbots"] == 1 and stats["active_automatic_messages"] == 1
        by_id = {b["bot_id"]: b for b in stats["bots"]}
        assert {k: by_id[chatbot["id"]][k] for k in ("triggered", "replied", "converted")} == {
            "triggered": 3,
            "replied": 2,
            "converted": 1,
        }
        assert by_id[auto["id"]]["kind"] == "automatic_message"
        assert (by_id[auto["id"]]["triggered"], by_id[auto["id"]]["replied"]) == (3, 2)
        assert (stats["triggered"], stats["replied"], stats["converted"]) == (6, 4, 1)

        earlier = {
            "from": (now - timedelta(days=3)).isoformat(),
            "to": (now - timedelta(days=2)).isoformat(),
        }
        old = (await client.get(STATS, headers=agent.headers, params=earlier)).json()
        assert old["triggered"] == 0 and old["active_chatbots"] == 1
        default = (await client.get(STATS, headers=agent.headers)).json()
        assert default["triggered"] == 6

        theirs = (await client.get(STATS, headers=other_account.headers)).json()
        assert theirs["bots"] == [] and theirs["triggered"] == 0

        problem(
            await client.get(
                STATS, headers=agent.headers, params={"from": params["to"], "to": params["from"]}
            ),
            422,
            "invalid_range",
        )
        problem(
            await client.get(
                STATS,
                headers=agent.headers,
                params={"from": "2020-01-01T00:00:00Z", "to": "2024-01-01T00:00:00Z"},
            ),
            422,
            "invalid_range",
        )
        problem(
            await client.get(STATS, headers=agent.headers, params={"from": "yesterday"}),
            422,
            "validation_error",
        )
        problem(await client.get(STATS), 401, "unauthorized")


async def publish(broker, settings, ev):
    channel = await broker.channel()
    try:
        exchange = await broker_mod.declare_exchanges(channel, settings.namespace)
        await exchange.publish(
            aio_pika.Message(
                orjson.dumps(ev.model_dump(mode="json")),
                content_type="application/json",
                message_id=str(ev.id),
            ),
            routing_key=routing_key(ev.model_dump(mode="json")),
        )
    finally:
        await channel.close()


async def test_worker_consumes_events_and_fires_delayed_triggers(
    service_client, worker, broker, settings, agent, engine
):
    async with service_client(app) as client:
        now_msg = (await client.post(AM, headers=agent.headers, json=AUTO_MESSAGE)).json()
        later = (
            await client.post(
                AM,
                headers=agent.headers,
                json={**AUTO_MESSAGE, "message": "Still there?", "delay_seconds": 1},
            )
        ).json()
    visitor = uuid.uuid4()
    factory = create_session_factory(engine)

    async def published():
        async with factory() as session:
            rows = (
                await session.execute(
                    select(outbox.table.c.body, outbox.table.c.published_at).where(
                        outbox.table.c.body["data"]["visitor_id"].astext == str(visitor)
                    )
                )
            ).all()
        return rows if len(rows) == 2 and all(r.published_at for r in rows) else None

    async with worker("bots"):
        ev = arrived(agent.account_id, visitor)
        await publish(broker, settings, ev)
        await publish(broker, settings, ev)  # a redelivery changes nothing
        rows = await eventually(published, timeout=15)
    texts = {r.body["data"]["bot_id"]: r.body["data"]["text"] for r in rows}
    assert texts == {now_msg["id"]: AUTO_MESSAGE["message"], later["id"]: "Still there?"}
    async with factory() as session:
        assert len(await bot_messages(session, visitor)) == 2


async def test_the_sweeper_sleeps_until_a_run_is_scheduled_or_due(
    service_client, worker, broker, settings, agent, engine, monkeypatch
):
    """At rest the sweeper does not poll: a scheduled run (NOTIFY at commit) wakes it, it
    sleeps until the run is due and fires it. With the old fixed poll every sweep interval
    (here 0.05 s) the 1 s delay alone took some twenty rounds."""
    bots_settings = get_bots_settings()
    monkeypatch.setattr(bots_settings, "bots_sweep_interval_seconds", 0.05)
    monkeypatch.setattr(bots_settings, "wake_safety_seconds", 3600.0)
    rounds = 0

    async def counted(*args, **kwargs):
        nonlocal rounds
        rounds += 1
        return await fire_due_runs(*args, **kwargs)

    monkeypatch.setattr(jobs, "fire_due_runs", counted)
    async with service_client(app) as client:
        later = await client.post(
            AM, headers=agent.headers, json={**AUTO_MESSAGE, "delay_seconds": 1}
        )
        assert later.status_code == 201
    visitor = uuid.uuid4()
    factory = create_session_factory(engine)

    async def listening():
        async with engine.connect() as conn:
            return await conn.scalar(
                text(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                    f"AND query LIKE 'LISTEN%{jobs.RUNS_CHANNEL}%'"
                )
            )

    async def fired():
        async with factory() as session:
            return await bot_messages(session, visitor)

    async with worker("bots"):
        await eventually(listening, timeout=15)
        before = rounds
        await publish(broker, settings, arrived(agent.account_id, visitor))
        await eventually(fired, timeout=15)
    # The round the listener asks for once it listens, the one the new run's NOTIFY asks for,
    # the one at its due time (and one to spare).
    assert rounds - before <= 4, rounds - before
