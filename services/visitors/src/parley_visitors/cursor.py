"""The active list's cursor: (last activity score, visitor id) of the last row in Redis.

Other lists use ``parley_common.pagination`` directly.
"""

from __future__ import annotations

import uuid

from parley_common.pagination import InvalidCursor, decode_cursor


def decode_score_member(cursor: str | None) -> tuple[float, str] | None:
    if not cursor:
        return None
    score, member = decode_cursor(cursor, 2)
    try:
        return float(score), str(uuid.UUID(member))
    except ValueError as exc:
        raise InvalidCursor("The cursor is not valid.") from exc
