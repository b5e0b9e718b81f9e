"""SmartHub conversation statistics, computed in SQL in the account's timezone."""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from parley_chat import projections
from parley_chat.conversations import repository as conversations_repo
from parley_chat.errors import InvalidRange
from parley_common.security import AgentPrincipal

MAX_DAYS = 366

# Bounds are local midnights of the account's timezone turned into instants by PostgreSQL.
_BOUNDS = """
WITH bounds AS (
  SELECT (CAST(:start AS date)::timestamp AT TIME ZONE :tz) AS lo,
         (CAST(:stop AS date)::timestamp AT TIME ZONE :tz) AS hi
), created AS (
  SELECT c.* FROM chat.conversations c, bounds
  WHERE c.account_id = :account AND c.created_at >= bounds.lo AND c.created_at < bounds.hi
), resolved AS (
  SELECT c.* FROM chat.conversations c, bounds
  WHERE c.account_id = :account AND c.resolved_at >= bounds.lo AND c.resolved_at < bounds.hi
), rated AS (
  SELECT c.* FROM chat.conversations c, bounds
  WHERE c.account_id = :account AND c.rated_at >= bounds.lo AND c.rated_at < bounds.hi
)
"""

# Missed: a conversation the visitor started (chat, contact form, e-mail) no agent answered.
_TOTALS = (
    _BOUNDS  # noqa: S608 - constant SQL, every value is a bound parameter
    + """
SELECT
  (SELECT count(*) FROM created) AS new,
  (SELECT count(*) FROM created WHERE first_agent_reply_at IS NOT NULL) AS served,
  (SELECT count(*) FROM created
     WHERE first_agent_reply_at IS NULL AND first_visitor_message_at IS NOT NULL) AS missed,
  (SELECT count(*) FROM resolved) AS resolved,
  (SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY EXTRACT(EPOCH FROM
      first_agent_reply_at - first_visitor_message_at))
     FROM created WHERE first_agent_reply_at > first_visitor_message_at) AS median_first_response,
  (SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY EXTRACT(EPOCH FROM
      resolved_at - created_at)) FROM resolved) AS median_resolve,
  (SELECT avg(rating)::float FROM rated) AS average_rating,
  (SELECT count(*) FROM rated) AS ratings
"""
)

_AGENTS = (
    _BOUNDS  # noqa: S608 - constant SQL, every value is a bound parameter
    + """
SELECT a.agent_id,
  count(*) FILTER (WHERE a.in_created) AS conversations,
  count(*) FILTER (WHERE a.in_created AND a.first_agent_reply_at IS NOT NULL) AS served,
  count(*) FILTER (WHERE a.in_resolved) AS resolved,
  percentile_cont(0.5) WITHIN GROUP (ORDER BY EXTRACT(EPOCH FROM
      a.first_agent_reply_at - a.first_visitor_message_at))
      FILTER (WHERE a.in_created AND a.first_agent_reply_at > a.first_visitor_message_at)
      AS median_first_response,
  avg(a.rating) FILTER (WHERE a.in_rated)::float AS average_rating
FROM (
  SELECT c.assignee_id AS agent_id, c.first_agent_reply_at, c.first_visitor_message_at, c.rating,
         c.id IN (SELECT id FROM created) AS in_created,
         c.id IN (SELECT id FROM resolved) AS in_resolved,
         c.id IN (SELECT id FROM rated) AS in_rated
  FROM chat.conversations c
  WHERE c.account_id = :account AND c.assignee_id IS NOT NULL
    AND (c.id IN (SELECT id FROM created) OR c.id IN (SELECT id FROM resolved)
         OR c.id IN (SELECT id FROM rated))
) a
GROUP BY a.agent_id
ORDER BY conversations DESC, a.agent_id
"""
)

_DAYS = (
    _BOUNDS  # noqa: S608 - constant SQL, every value is a bound parameter
    + """
SELECT d::date AS date,
  (SELECT count(*) FROM created WHERE (created_at AT TIME ZONE :tz)::date = d::date) AS new,
  (SELECT count(*) FROM created WHERE (created_at AT TIME ZONE :tz)::date = d::date
     AND first_agent_reply_at IS NOT NULL) AS served,
  (SELECT count(*) FROM created WHERE (created_at AT TIME ZONE :tz)::date = d::date
     AND first_agent_reply_at IS NULL AND first_visitor_message_at IS NOT NULL) AS missed,
  (SELECT count(*) FROM resolved WHERE (resolved_at AT TIME ZONE :tz)::date = d::date) AS resolved
FROM generate_series(CAST(:start AS date), CAST(:stop AS date) - 1, interval '1 day') AS d
ORDER BY d
"""
)


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
    params = {"account": account_id, "tz": tz, "start": start, "stop": end + timedelta(days=1)}
    totals = (await session.execute(text(_TOTALS), params)).one()
    agent_rows = (await session.execute(text(_AGENTS), params)).all()
    day_rows = (await session.execute(text(_DAYS), params)).all()
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
