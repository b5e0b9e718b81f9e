"""Cursor pagination: lists return ``{"items": [...], "next_cursor": ...}``, newest first.

A cursor is the sort key of the last row returned, opaque to clients (base64url JSON).
"""

from __future__ import annotations

import base64
import uuid
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, Generic, TypeVar

import orjson
from pydantic import BaseModel

from parley_common.errors import InvalidInput

T = TypeVar("T")
Row = TypeVar("Row")


class InvalidCursor(InvalidInput):
    code, title = "invalid_cursor", "Invalid cursor"


class Page(BaseModel, Generic[T]):
    """Every list's response: ``class ShortcutList(Page[ShortcutOut]): pass`` keeps the
    schema's name in the OpenAPI document. ``next_cursor`` is always present (null: last page)."""

    items: list[T]
    next_cursor: str | None


def encode_cursor(*parts: Any) -> str:
    raw = orjson.dumps([p.isoformat() if isinstance(p, datetime) else str(p) for p in parts])
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, count: int) -> list[str]:
    """The cursor's ``count`` parts as strings; InvalidCursor (422) for anything else."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        parts = orjson.loads(base64.urlsafe_b64decode(padded.encode()))
    except (ValueError, orjson.JSONDecodeError) as exc:
        raise InvalidCursor("The cursor is not valid.") from exc
    if (
        not isinstance(parts, list)
        or len(parts) != count
        or not all(isinstance(p, str) for p in parts)
    ):
        raise InvalidCursor("The cursor is not valid.")
    return parts


def decode_time_id(cursor: str | None) -> tuple[datetime, uuid.UUID] | None:
    """A (timestamp, id) cursor, the usual key of a newest-first list; none or "" = first page."""
    if not cursor:
        return None
    when, ident = decode_cursor(cursor, 2)
    try:
        moment = datetime.fromisoformat(when)
        if moment.tzinfo is None:
            raise ValueError("naive timestamp")
        return moment, uuid.UUID(ident)
    except ValueError as exc:
        raise InvalidCursor("The cursor is not valid.") from exc


def page_of(
    rows: Sequence[Row], limit: int, key: Callable[[Row], tuple[Any, ...]]
) -> tuple[list[Row], str | None]:
    """Split ``limit + 1`` fetched rows into the page and the cursor for the next one."""
    page = list(rows[:limit])
    next_cursor = encode_cursor(*key(page[-1])) if len(rows) > limit and page else None
    return page, next_cursor
