"""Who gets a push, and who gets an e-mail: every rule in one place.

The functions take the account's agents (``repository.AgentRow``: status, notification
settings, devices) and return the agents to notify. They do no I/O, so each rule reads as
written and is tested on its own.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from parley_notify.repository import AgentRow


def reachable_by_push(agent: AgentRow) -> bool:
    """An offline agent is pushed only with offline notifications on."""
    return agent.status != "offline" or agent.offline_notifications


def visitor_message(
    agents: Iterable[AgentRow], *, assignee_id: uuid.UUID | None, author_id: uuid.UUID | None
) -> list[AgentRow]:
    """A visitor's message (chat, e-mail or contact form): the assignee if there is one, else
    every agent of the account who can take it; never the author; respects ``new_message``."""
    pool = [a for a in agents if assignee_id is None or a.agent_id == assignee_id]
    return [a for a in pool if a.agent_id != author_id and a.new_message and reachable_by_push(a)]


def new_visitor(agents: Iterable[AgentRow]) -> list[AgentRow]:
    """A visitor arrived: agents with ``new_visitor`` on (coalesced per account by the caller)."""
    return [a for a in agents if a.new_visitor and reachable_by_push(a)]


def assignment(
    agents: Iterable[AgentRow], *, assignee_id: uuid.UUID | None, assigned_by: uuid.UUID | None
) -> list[AgentRow]:
    """A conversation was assigned: the new assignee, unless they assigned it to themselves."""
    if assignee_id is None or assignee_id == assigned_by:
        return []
    return [
        a for a in agents if a.agent_id == assignee_id and a.new_message and reachable_by_push(a)
    ]


def email_recipients(
    agents: Iterable[AgentRow], *, assignee_id: uuid.UUID | None
) -> list[AgentRow]:
    """Missed chats and contact-form messages: by e-mail to the assignee if there is one, else
    to every agent, each only with ``email_notifications`` on and a known address."""
    return [
        a
        for a in agents
        if (assignee_id is None or a.agent_id == assignee_id) and a.email_notifications and a.email
    ]
