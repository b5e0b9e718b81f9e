"""Events the visitors service emits, written to its outbox with the change."""

from __future__ import annotations

from typing import Any

from parley_common.events.outbox import Outbox
from parley_visitors.models import Base, Visitor

outbox = Outbox(Base.metadata)


def visitor_data(visitor: Visitor) -> dict[str, Any]:
    """The visitor as other services see it (chat keeps its projection from these)."""
    return {
        "visitor_id": visitor.id,
        "name": visitor.name,
        "email": visitor.email,
        "label": visitor.label,
        "url": visitor.last_url,
        "title": visitor.last_title,
        "phone": visitor.phone,
        "blocked": visitor.blocked_at is not None,
        "visits": visitor.visits,
        "country": visitor.country,
        "browser": visitor.browser,
        "os": visitor.os,
        "device_type": visitor.device_type,
    }
