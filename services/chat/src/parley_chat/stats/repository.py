"""SQL of the SmartHub statistics: totals, per agent and per day of a range, in the account's
timezone (raw SQL: percentiles and FILTER clauses read better than their Core spelling)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from parley_chat.models import Conversation

CONVERSATIONS = Conversation.__table__.fullname

# Bounds are local midnights of the account's timezone turned into instants by PostgreSQL.
# Only the table name (from the model) is formatted in; every value is a bound parameter.
_BOUNDS = f"""
WITH bounds AS (
  SELECT (CAST(:start AS date)::timestamp AT TIME ZONE :tz) AS lo,
         (CAST(:stop AS date)::timestamp AT TIME ZONE :tz) AS hi
), created AS (
  SELECT c.* FROM {CONVERSATIONS} c, bounds
  WHERE c.account_id = :account AND c.created_at >= bounds.lo AND c.created_at < bounds.hi
), resolved AS (
  SELECT c.* FROM {CONVERSATIONS} c, bounds
  WHERE c.account_id = :account AND c.resolved_at >= bounds.lo AND c.resolved_at < bounds.hi
), rated AS (
  SELECT c.* FROM {CONVERSATIONS} c, bounds
  WHERE c.account_id = :account AND c.rated_at >= bounds.lo AND c.rated_at < bounds.hi
)
"""  # noqa: S608

# Missed: a conversation the visitor started (chat, contact form, e-mail) no agent answered.
_TOTALS = text(
    _BOUNDS  # noqa: S608 - the table name from the model, every value a bound parameter
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

_AGENTS = text(
    _BOUNDS  # noqa: S608 - the table name from the model, every value a bound parameter
    + f"""
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
  FROM {CONVERSATIONS} c
  WHERE c.account_id = :account AND c.assignee_id IS NOT NULL
    AND (c.id IN (SELECT id FROM created) OR c.id IN (SELECT id FROM resolved)
         OR c.id IN (SELECT id FROM rated))
) a
GROUP BY a.agent_id
ORDER BY conversations DESC, a.agent_id
"""  # noqa: S608
)

_DAYS = text(
    _BOUNDS  # noqa: S608 - the table name from the model, every value a bound parameter
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


@dataclass(frozen=True)
class StatsRows:
    totals: Any
    agents: Sequence[Any]
    days: Sequence[Any]


async def conversation_stats(
    session: AsyncSession, account_id: uuid.UUID, tz: str, start: date, stop: date
) -> StatsRows:
    """``start`` included, ``stop`` excluded, as local days of ``tz``."""
    params = {"account": account_id, "tz": tz, "start": start, "stop": stop}
    return StatsRows(
        totals=(await session.execute(_TOTALS, params)).one(),
        agents=(await session.execute(_AGENTS, params)).all(),
        days=(await session.execute(_DAYS, params)).all(),
    )
