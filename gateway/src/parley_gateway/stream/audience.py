"""Who may see what: decided from the event catalogue, here and nowhere else."""

from __future__ import annotations

from typing import Any

from parley_common.events.catalogue import CATALOGUE

# Internal events the stream acts on without showing them to anyone.
SESSION_REVOKED = "auth.session.revoked"
AGENT_REMOVED = "auth.agent.removed"
API_KEY_REVOKED = "auth.api_key.revoked"


def is_streamed(event_type: str) -> bool:
    """Sequenced and kept for replay: every catalogued event that is not internal."""
    spec = CATALOGUE.get(event_type)
    return spec is not None and spec.audience != "internal"


# The audiences each kind of socket receives (the visitor's own events only, for "visitor").
AGENT_AUDIENCES = ("agents", "visitor", "account")
VISITOR_AUDIENCES = ("visitor", "account")


def visitor_may_see(frame: dict[str, Any], visitor_id: str) -> bool:
    """A visitor sees visitor-audience events about itself and the account's chat box state."""
    spec = CATALOGUE.get(frame.get("event", ""))
    if spec is not None and spec.audience == "account":
        return True
    if spec is None or spec.audience != "visitor":
        return False
    data = frame.get("data") or {}
    return bool(data.get("visitor_id") == visitor_id and not data.get("internal"))


def typing_reaches_agent(frame: dict[str, Any], agent_id: str) -> bool:
    """Agents see everyone's typing in their account except their own."""
    return not (frame.get("author_type") == "agent" and frame.get("author_id") == agent_id)


def typing_reaches_visitor(frame: dict[str, Any], visitor_id: str) -> bool:
    """A visitor sees typing in its own conversation, never its own."""
    return frame.get("visitor_id") == visitor_id and frame.get("author_type") != "visitor"
