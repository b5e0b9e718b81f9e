"""SmartHub conversation statistics (SQL in repository.py) and the first screen's counts."""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy.ext.asyncio import AsyncSession

from parley_chat import projections
from parley_chat.conversations import repository as conversations_repo
from parley_chat.errors import InvalidRange
from parley_chat.stats import repository as repo
from parley_common.security import AgentPrincipal

MAX_DAYS = 366


def _timezone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return "UTC"
    return name


async def conversation_stats(
    session: AsyncSession, account_id: uuid.UUID, start: date, end: date
) -> dict[str, Any]:
    """``start`` and ``end`` are whole days in the account's timezone, both included."""
    if end < start:
        raise InvalidRange("`to` must not be before `from`.")
    if (end - start).days >= MAX_DAYS:
        raise InvalidRange(f"A range is at most {MAX_DAYS} days.")
    prefs = await projections.account_prefs(session, account_id)
    tz = _timezone(prefs.timezone)
    rows = await repo.conversation_stats(session, account_id, tz, start, end + timedelta(days=1))
    totals, agent_rows, day_rows = rows.totals, rows.agents, rows.days
    names = await projections.agent_names(session, account_id)
    return {
        "from": start,
        "to": end,
        "timezone": tz,
        "new": totals.new,
        "served": totals.served,
        "missed": totals.missed,
        "resolved": totals.resolved,
        "median_first_response_seconds": totals.median_first_response,
        "median_time_to_resolve_seconds": totals.median_resolve,
        "average_rating": totals.average_rating,
        "ratings": totals.ratings,
        "agents": [
            {
                "agent_id": r.agent_id,
                "name": names.get(r.agent_id),
                "conversations": r.conversations,
                "served": r.served,
                "resolved": r.resolved,
                "median_first_response_seconds": r.median_first_response,
                "average_rating": r.average_rating,
            }
            for r in agent_rows
        ],
        "days": [
            {
                "date": r.date,
                "new": r.new,
                "served": r.served,
                "missed": r.missed,
                "resolved": r.resolved,
            }
            for r in day_rows
        ],
    }


async def conversation_counts(session: AsyncSession, agent: AgentPrincipal) -> dict[str, int]:
    """The first screen's badges: open, unread by this agent, resolved since local midnight."""
    prefs = await projections.account_prefs(session, agent.account_id)
    tz = ZoneInfo(_timezone(prefs.timezone))
    midnight = datetime.now(tz).replace(hour=0, minute=0, second=0, microsecond=0)
    row = await conversations_repo.conversation_counts(
        session, agent.account_id, agent.agent_id, since=midnight
    )
    return {"open": row.open, "unread": row.unread, "resolved_today": row.resolved_today}
