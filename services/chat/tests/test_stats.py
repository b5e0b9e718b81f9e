"""SmartHub statistics in the account's timezone."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import text

from .conftest import colleague, make_visitor, visitor_writes


async def _set_times(engine, cid, **times):
    sets = ", ".join(f"{name} = :{name}" for name in times)
    values = {name: datetime.fromisoformat(value) for name, value in times.items()}
    async with engine.begin() as conn:
        await conn.execute(
            text(f"UPDATE chat.conversations SET {sets} WHERE id = :id"),
            {"id": uuid.UUID(cid), **values},
        )


async def test_stats_in_the_account_timezone(client, named_agent, feed, engine, other_account):
    account = named_agent.account_id
    await feed(
        "auth.settings.updated",
        account,
        {
            "section": "general",
            "settings": {"timezone": "America/New_York", "satisfaction_rating_enabled": True},
        },
    )
    bob = await colleague(feed, account)
    served = (await visitor_writes(client, make_visitor(account)))["conversation_id"]
    await client.post(
        f"/api/v1/conversations/{served}/messages", headers=named_agent.headers, json={"text": "hi"}
    )
    await client.post(f"/api/v1/conversations/{served}/resolve", headers=named_agent.headers)
    missed = (await visitor_writes(client, make_visitor(account)))["conversation_id"]
    by_bob = (await visitor_writes(client, make_visitor(account)))["conversation_id"]
    await client.post(
        f"/api/v1/conversations/{by_bob}/messages", headers=bob.headers, json={"text": "hello"}
    )
    # 03:00 UTC on Jan 2 is still Jan 1 in New York; 06:00 UTC on Jan 2 is Jan 2 there.
    await _set_times(
        engine,
        served,
        created_at="2026-01-02T03:00:00Z",
        first_visitor_message_at="2026-01-02T03:00:00Z",
        first_agent_reply_at="2026-01-02T03:01:00Z",
        resolved_at="2026-01-02T03:10:00Z",
        rated_at="2026-01-02T03:11:00Z",
        last_activity_at="2026-01-02T03:10:00Z",
    )
    async with engine.begin() as conn:
        await conn.execute(
            text("UPDATE chat.conversations SET rating = 4 WHERE id = :id"),
            {"id": uuid.UUID(served)},
        )
    await _set_times(
        engine,
        missed,
        created_at="2026-01-02T06:00:00Z",
        first_visitor_message_at="2026-01-02T06:00:00Z",
    )
    await _set_times(
        engine,
        by_bob,
        created_at="2026-01-02T07:00:00Z",
        first_visitor_message_at="2026-01-02T07:00:00Z",
        first_agent_reply_at="2026-01-02T07:03:00Z",
    )

    day1 = (
        await client.get(
            "/api/v1/stats/conversations",
            headers=named_agent.headers,
            params={"from": "2026-01-01", "to": "2026-01-01"},
        )
    ).json()
    assert day1["timezone"] == "America/New_York"
    assert (day1["new"], day1["served"], day1["missed"], day1["resolved"]) == (1, 1, 0, 1)
    assert day1["median_first_response_seconds"] == 60
    assert day1["median_time_to_resolve_seconds"] == 600
    assert day1["average_rating"] == 4 and day1["ratings"] == 1

    both = (
        await client.get(
            "/api/v1/stats/conversations",
            headers=named_agent.headers,
            params={"from": "2026-01-01", "to": "2026-01-02"},
        )
    ).json()
    assert (both["new"], both["served"], both["missed"]) == (3, 2, 1)
    assert both["median_first_response_seconds"] == 120  # median of 60 and 180
    assert [(d["date"], d["new"], d["missed"]) for d in both["days"]] == [
        ("2026-01-01", 1, 0),
        ("2026-01-02", 2, 1),
    ]
    agents = {a["name"]: a for a in both["agents"]}
    assert agents["Anna"]["served"] == 1 and agents["Anna"]["average_rating"] == 4
    assert agents["Bob"]["median_first_response_seconds"] == 180

    foreign = (
        await client.get(
            "/api/v1/stats/conversations",
            headers=other_account.headers,
            params={"from": "2026-01-01", "to": "2026-01-02"},
        )
    ).json()
    assert foreign["new"] == 0 and foreign["agents"] == []


async def test_stats_reject_bad_ranges(client, agent):
    backwards = await client.get(
        "/api/v1/stats/conversations",
        headers=agent.headers,
        params={"from": "2026-02-01", "to": "2026-01-01"},
    )
    assert backwards.status_code == 422 and backwards.json()["code"] == "invalid_range"
    missing = await client.get("/api/v1/stats/conversations", headers=agent.headers)
    assert missing.status_code == 422
    too_long = await client.get(
        "/api/v1/stats/conversations",
        headers=agent.headers,
        params={"from": "2020-01-01", "to": "2026-01-01"},
    )
    assert too_long.status_code == 422
