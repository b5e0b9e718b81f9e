"""agents_online: kept from agent statuses, and one event when it flips (for the chat boxes)."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

from parley_common.testing import make_agent

CHANGED = "visitors.agents.availability_changed"


async def test_availability_flips_once_per_change(client, handle, site, events):
    async def online() -> bool:
        resp = await client.get("/api/v1/widget/settings", params={"widget_key": site.widget_key})
        return bool(resp.json()["agents_online"])

    second = make_agent("agent", site.account_id)
    status = "auth.agent.status_changed"
    assert not await online()
    await handle(
        status, site.account_id, {"agent_id": str(site.agent.agent_id), "status": "online"}
    )
    await handle(status, site.account_id, {"agent_id": str(second.agent_id), "status": "online"})
    assert await online()
    await handle(status, site.account_id, {"agent_id": str(site.agent.agent_id), "status": "away"})
    assert await online()
    await handle("auth.agent.removed", site.account_id, {"agent_id": str(second.agent_id)})
    assert not await online()
    await handle(
        "auth.agent.created",
        site.account_id,
        {"agent_id": str(uuid.uuid4()), "status": "online", "name": "New"},
    )
    assert await online()
    flips = [
        data["agents_online"] for kind, data in await events(site.account_id) if kind == CHANGED
    ]
    assert flips == [True, False, True]


async def test_agents_going_offline_at_once_leave_nobody_online(client, handle, site, events):
    agents = [make_agent("agent", site.account_id) for _ in range(4)]
    status = "auth.agent.status_changed"
    for agent in agents:
        await handle(status, site.account_id, {"agent_id": str(agent.agent_id), "status": "online"})
    await asyncio.gather(
        *(
            handle(status, site.account_id, {"agent_id": str(a.agent_id), "status": "offline"})
            for a in agents
        )
    )
    resp = await client.get("/api/v1/widget/settings", params={"widget_key": site.widget_key})
    assert resp.json()["agents_online"] is False
    flips = [
        data["agents_online"] for kind, data in await events(site.account_id) if kind == CHANGED
    ]
    assert flips == [True, False]


async def test_an_older_status_handled_later_changes_nothing(client, handle, site):
    """Consumer batches run concurrently: signup's agent.created ("offline") can be handled
    after the agent's first status change ("online"), and must not undo it."""
    agent = make_agent("agent", site.account_id)
    now = datetime.now(UTC)
    await handle(
        "auth.agent.status_changed",
        site.account_id,
        {"agent_id": str(agent.agent_id), "status": "online"},
        occurred_at=now,
    )
    await handle(
        "auth.agent.created",
        site.account_id,
        {"agent_id": str(agent.agent_id), "status": "offline", "name": "New"},
        occurred_at=now - timedelta(seconds=1),
    )
    resp = await client.get("/api/v1/widget/settings", params={"widget_key": site.widget_key})
    assert resp.json()["agents_online"] is True
