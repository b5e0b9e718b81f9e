"""Opaque list cursors: the sort key of the last row, base64url-encoded JSON."""

from __future__ import annotations

import base64
import uuid
from datetime import datetime
from typing import Any

import orjson

from parley_visitors.errors import InvalidCursor


def encode(*parts: Any) -> str:
    raw = orjson.dumps([p.isoformat() if isinstance(p, datetime) else str(p) for p in parts])
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _parts(cursor: str, count: int) -> list[str]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        parts = orjson.loads(base64.urlsafe_b64decode(padded.encode()))
    except (ValueError, orjson.JSONDecodeError) as exc:
        raise InvalidCursor() from exc
    if (
        not isinstance(parts, list)
        or len(parts) != count
        or not all(isinstance(p, str) for p in parts)
    ):
        raise InvalidCursor()
    return parts


def decode_time_id(cursor: str | None) -> tuple[datetime, uuid.UUID] | None:
    if cursor is None:
        return None
    when, ident = _parts(cursor, 2)
    try:
        moment = datetime.fromisoformat(when)
        if moment.tzinfo is None:
            raise ValueError("naive")
        return moment, uuid.UUID(ident)
    except ValueError as exc:
        raise InvalidCursor() from exc


def decode_score_member(cursor: str | None) -> tuple[float, str] | None:
    if cursor is None:
        return None
    score, member = _parts(cursor, 2)
    try:
        return float(score), str(uuid.UUID(member))
    except ValueError as exc:
        raise InvalidCursor() from exc
