"""GDPR erasure through the gateway: a visitor with a conversation, an attachment and a bot
run is erased; every service reports its part, and then no schema of the database and no
Redis key of the run holds the visitor's e-mail or message text. Statistics keep the count."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import redis.asyncio as aioredis

from parley_common.e2e import System
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
