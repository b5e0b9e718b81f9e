"""GET /conversations/counts: the first screen's badges (open, unread by me, resolved today)."""

from __future__ import annotations

from sqlalchemy import text

from .conftest import colleague, make_visitor, visitor_writes


async def counts(client, agent) -> dict:
    resp = await client.get("/api/v1/conversations/counts", headers=agent.headers)
    assert resp.status_code == 200, resp.text
    return resp.json()


async def test_counts_follow_reads_and_resolves(
    client, named_agent, feed, other_account, session_factory
):
    assert await counts(client, named_agent) == {"open": 0, "unread": 0, "resolved_today": 0}
    ids = [
        (await visitor_writes(client, make_visitor(named_agent.account_id)))["conversation_id"]
        for _ in range(3)
    ]
    assert await counts(client, named_agent) == {"open": 3, "unread": 3, "resolved_today": 0}

    await client.post(f"/api/v1/conversations/{ids[0]}/read", headers=named_agent.headers)
    assert await counts(client, named_agent) == {"open": 3, "unread": 2, "resolved_today": 0}
    bob = await colleague(feed, named_agent.account_id)
    assert (await counts(client, bob))["unread"] == 3  # unread is per agent

    resolved = await client.post(
        f"/api/v1/conversations/{ids[1]}/resolve", headers=named_agent.headers
    )
    assert resolved.status_code == 200
    assert await counts(client, named_agent) == {"open": 2, "unread": 1, "resolved_today": 1}
    assert await counts(client, other_account) == {"open": 0, "unread": 0, "resolved_today": 0}

    async with session_factory() as session, session.begin():
        await session.execute(
            text(
                "UPDATE chat.conversations SET resolved_at = now() - interval '2 days' "
                "WHERE id = :id"
            ),
            {"id": ids[1]},
        )
    assert (await counts(client, named_agent))["resolved_today"] == 0
