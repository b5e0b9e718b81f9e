"""GDPR erasure through the gateway: a visitor with a conversation, an attachment and a bot
run is erased; every service reports its part, and then no schema of the database and no
Redis key of the run holds the visitor's e-mail or message text. Statistics keep the count.
Events about the visitor still in flight after the erasure bring nothing back (every service
records the erased visitor and skips them), and a worker that was stopped during the erasure
does its part when it is back."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import aio_pika
import asyncpg
import orjson
import redis.asyncio as aioredis

from parley_common.e2e import System, next_event
from parley_common.events.broker import declare_exchanges
from parley_common.events.catalogue import routing_key
from parley_common.events.envelope import Event
from parley_common.testing import eventually

SCHEMAS = ("auth", "chat", "visitors", "notify", "bots")


async def _found_in_database(system: System, needles: list[str]) -> list[str]:
    url = system.env["PARLEY_DATABASE_URL"].replace("postgresql+asyncpg://", "postgresql://")
    conn = await asyncpg.connect(url)
    try:
        tables = await conn.fetch(
            "SELECT table_schema, table_name FROM information_schema.tables "
            "WHERE table_schema = ANY($1::text[]) AND table_type = 'BASE TABLE'",
            list(SCHEMAS),
        )
        found = []
        for t in tables:
            name = f'"{t["table_schema"]}"."{t["table_name"]}"'
            for needle in needles:
                hits = await conn.fetchval(
                    f"SELECT count(*) FROM {name} AS t WHERE strpos(t::text, $1) > 0",
                    needle,
                )
                if hits:
                    found.append(f"{name}: {needle}")
        return found
    finally:
        await conn.close()


async def _schemas_holding(system: System, needle: str) -> set[str]:
    """The schemas with a row that holds ``needle`` (not ``needle in hit``: the hit quotes it)."""
    return {hit.split(".", 1)[0].strip('"') for hit in await _found_in_database(system, [needle])}


async def _found_in_redis(system: System, needles: list[str]) -> list[str]:
    client = aioredis.from_url(system.env.get("PARLEY_REDIS_URL", "redis://127.0.0.1:6379/0"))
    found = []
    try:
        async for key in client.scan_iter(match=f"{system.env['PARLEY_NAMESPACE']}*"):
            kind = (await client.type(key)).decode()
            value: Any
            if kind == "string":
                value = await client.get(key)
            elif kind == "hash":
                value = await client.hgetall(key)
            elif kind == "stream":
                value = await client.xrange(key)
            elif kind == "zset":
                value = await client.zrange(key, 0, -1)
            elif kind == "list":
                value = await client.lrange(key, 0, -1)
            elif kind == "set":
                value = await client.smembers(key)
            else:
                continue
            blob = repr(value)
            found += [f"{key!r}: {n}" for n in needles if n in blob]
    finally:
        await client.aclose()
    return found


async def test_erase_a_visitor_everywhere(system: System, gateway) -> None:
    owner = await system.signup(gateway)
    headers = owner["headers"]
    bot = await gateway.post(
        "/api/v1/automatic-messages",
        headers=headers,
        json={"name": "Hello", "trigger": {"type": "visitor_arrived"}, "message": "Hi there!"},
    )
    assert bot.status_code == 201, bot.text
    visitor = await system.widget_session(gateway, owner)
    vid = visitor["visitor_id"]

    async def bot_wrote() -> Any:
        resp = await gateway.get("/api/v1/widget/conversation", headers=visitor["headers"])
        return resp.status_code == 200 and resp.json()["messages"]

    await eventually(bot_wrote, timeout=20)  # a bot run and a conversation
    email = f"erase-me-{uuid.uuid4().hex[:8]}@example.com"
    secret = f"my passport number is {uuid.uuid4().hex}"
    upload = await gateway.post(
        "/api/v1/widget/attachments",
        headers=visitor["headers"],
        files={"file": ("passport.txt", secret.encode())},
    )
    assert upload.status_code == 201, upload.text
    sent = await gateway.post(
        "/api/v1/widget/messages",
        headers=visitor["headers"],
        json={"text": secret, "attachment_ids": [upload.json()["id"]]},
    )
    assert sent.status_code == 201, sent.text
    cid = sent.json()["conversation_id"]
    patched = await gateway.patch(
        f"/api/v1/visitors/{vid}", headers=headers, json={"name": "Erin", "email": email}
    )
    assert patched.status_code == 200, patched.text

    async def chat_knows_the_email() -> bool:
        resp = await gateway.get(f"/api/v1/conversations/{cid}", headers=headers)
        return resp.json()["visitor"]["email"] == email

    await eventually(chat_knows_the_email, timeout=20)
    assert await _found_in_database(system, [email, secret])  # the search does find them

    erased = await gateway.delete(f"/api/v1/visitors/{vid}", headers=headers)
    assert erased.status_code == 202, erased.text
    erasure_id = erased.json()["erasure_id"]

    async def completed() -> Any:
        resp = await gateway.get(f"/api/v1/erasures/{erasure_id}", headers=headers)
        body = resp.json()
        return body if body["status"] == "completed" else None

    status = await eventually(completed, timeout=30)
    assert status["services"] == dict.fromkeys(SCHEMAS, True)

    async def nothing_left() -> bool:
        return not await _found_in_database(system, [email, secret]) and not (
            await _found_in_redis(system, [email, secret])
        )

    await eventually(nothing_left, timeout=10, interval=0.5)
    gone = await gateway.get(f"/api/v1/visitors/{vid}", headers=headers)
    assert gone.status_code == 404
    file = await gateway.get(upload.json()["url"], headers=headers)
    assert file.status_code == 404
    today = datetime.now(UTC).date()
    stats = await gateway.get(
        "/api/v1/stats/conversations",
        headers=headers,
        params={"from": str(today - timedelta(days=1)), "to": str(today + timedelta(days=1))},
    )
    assert stats.json()["new"] == 1  # the conversation is still counted
    foreign = await system.signup(gateway)
    other = await gateway.get(f"/api/v1/erasures/{erasure_id}", headers=foreign["headers"])
    assert other.status_code == 404


async def _completed(gateway, headers: dict[str, str], erasure_id: str, timeout: float) -> Any:
    async def completed() -> Any:
        body = (await gateway.get(f"/api/v1/erasures/{erasure_id}", headers=headers)).json()
        return body if body["status"] == "completed" else None

    return await eventually(completed, timeout=timeout)


async def _publish(settings: Any, broker: Any, account_id: str, kind: str, data: dict) -> str:
    """An event as a service's outbox relay publishes it (as if it had been in flight)."""
    event = Event(type=kind, account_id=uuid.UUID(account_id), data=data)
    body = orjson.loads(event.model_dump_json())
    channel = await broker.channel(publisher_confirms=True)
    try:
        exchange = await declare_exchanges(channel, settings.namespace)
        message = aio_pika.Message(
            orjson.dumps(body), content_type="application/json", message_id=str(event.id)
        )
        await exchange.publish(message, routing_key=routing_key(body), mandatory=True)
    finally:
        await channel.close()
    return str(event.id)


async def _handled(system: System, schema: str, event_id: str) -> int:
    """By how many of the schema's consumers the event was recorded as handled."""
    url = system.env["PARLEY_DATABASE_URL"].replace("postgresql+asyncpg://", "postgresql://")
    conn = await asyncpg.connect(url)
    try:
        return int(
            await conn.fetchval(
                f'SELECT count(*) FROM "{schema}".processed_events WHERE event_id = $1',
                uuid.UUID(event_id),
            )
        )
    finally:
        await conn.close()


async def test_events_in_flight_after_an_erasure_bring_nothing_back(
    system: System, gateway, settings, broker
) -> None:
    owner = await system.signup(gateway)
    headers, account = owner["headers"], owner["account"]["id"]
    hook = await gateway.post(
        "/api/v1/webhooks",
        headers=headers,
        json={"url": "http://127.0.0.1:9/hook", "events": ["chat.message.created"]},
    )
    assert hook.status_code == 201, hook.text
    visitor = await system.widget_session(gateway, owner)
    vid = visitor["visitor_id"]
    sent = await gateway.post(
        "/api/v1/widget/messages", headers=visitor["headers"], json={"text": "Hello"}
    )
    assert sent.status_code == 201, sent.text
    erased = await gateway.delete(f"/api/v1/visitors/{vid}", headers=headers)
    assert erased.status_code == 202, erased.text
    await _completed(gateway, headers, erased.json()["erasure_id"], timeout=30)

    email = f"late-{uuid.uuid4().hex[:8]}@example.com"
    secret = f"late message {uuid.uuid4().hex}"
    page = f"https://shop.test/orders/{uuid.uuid4().hex}"
    async with system.agent_stream(headers) as ws:
        # Events about the visitor that were in flight when the erasure ran, arriving late.
        late = {
            "chat": [
                await _publish(
                    settings,
                    broker,
                    account,
                    "visitors.visitor.updated",
                    {"visitor_id": vid, "name": "Late Erin", "email": email},
                )
            ],
            "bots": [
                await _publish(
                    settings,
                    broker,
                    account,
                    "visitors.visitor.page_changed",
                    {"visitor_id": vid, "url": page, "title": "My order"},
                )
            ],
        }
        message = await _publish(
            settings,
            broker,
            account,
            "chat.message.created",
            {
                "conversation_id": sent.json()["conversation_id"],
                "message_id": str(uuid.uuid4()),
                "visitor_id": vid,
                "author_type": "visitor",
                "author_id": vid,
                "text": secret,
                "visitor_name": "Late Erin",
                "previous_author_type": None,
            },
        )
        late["notify"] = [late["chat"][0], message]
        late["bots"].append(message)
        # Then one about a visitor who is still there: the stream sequences in order.
        other = await system.widget_session(gateway, owner)
        await _publish(
            settings,
            broker,
            account,
            "visitors.visitor.updated",
            {"visitor_id": other["visitor_id"], "name": "Still here"},
        )
        frame = await next_event(
            ws, lambda f: f["event"] == "visitors.visitor.updated" and f["data"]["name"]
        )
        assert frame["data"]["visitor_id"] == other["visitor_id"]  # nothing late before it

    async def all_handled() -> bool:
        for schema, ids in late.items():
            for event_id in ids:
                if not await _handled(system, schema, event_id):
                    return False
        # notify takes the message on its events queue and on its webhooks queue
        return await _handled(system, "notify", message) == 2

    await eventually(all_handled, timeout=20, interval=0.3)
    needles = [email, secret, page]
    assert await _found_in_database(system, needles) == []
    assert await _found_in_redis(system, needles) == []
    gone = await gateway.get(f"/api/v1/visitors/{vid}", headers=headers)
    assert gone.status_code == 404


async def test_an_erasure_completes_when_a_stopped_worker_comes_back(
    system: System, gateway
) -> None:
    owner = await system.signup(gateway)
    headers = owner["headers"]
    visitor = await system.widget_session(gateway, owner)
    secret = f"while notify was away {uuid.uuid4().hex}"
    sent = await gateway.post(
        "/api/v1/widget/messages", headers=visitor["headers"], json={"text": secret}
    )
    assert sent.status_code == 201, sent.text
    cid = sent.json()["conversation_id"]

    async def notify_has_it() -> bool:
        return "notify" in await _schemas_holding(system, secret)

    await eventually(notify_has_it, timeout=20)  # notify holds the text (the visitor's name too)
    system.stop("notify-worker")
    try:
        erased = await gateway.delete(f"/api/v1/visitors/{visitor['visitor_id']}", headers=headers)
        assert erased.status_code == 202, erased.text
        erasure_id = erased.json()["erasure_id"]

        async def all_but_notify() -> Any:
            body = (await gateway.get(f"/api/v1/erasures/{erasure_id}", headers=headers)).json()
            return body if all(v for k, v in body["services"].items() if k != "notify") else None

        status = await eventually(all_but_notify, timeout=30)
        assert (status["status"], status["services"]["notify"]) == ("pending", False)
        # Every other service has erased its copy; notify's waits for its worker.
        assert await _schemas_holding(system, secret) == {"notify"}
    finally:
        system.start("notify-worker")
    await system.wait_started("notify-worker")
    status = await _completed(gateway, headers, erasure_id, timeout=60)
    assert status["services"] == dict.fromkeys(SCHEMAS, True)
    assert await _found_in_database(system, [secret]) == []
    messages = await gateway.get(f"/api/v1/conversations/{cid}/messages", headers=headers)
    assert secret not in messages.text
