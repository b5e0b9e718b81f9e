"""The push and e-mail rules, each on its own (no I/O)."""

from __future__ import annotations

import uuid
from typing import Any

from parley_notify import rules
from parley_notify.repository import AgentRow


def agent(
    status: str | None = "online", email: str | None = "a@example.com", **settings: Any
) -> AgentRow:
    on: dict[str, Any] = {
        "new_message": True,
        "new_visitor": True,
        "offline_notifications": True,
        "sound": True,
        "email_notifications": True,
        **settings,
    }
    return AgentRow(agent_id=uuid.uuid4(), email=email, status=status, devices=(), **on)


def ids(rows: list[AgentRow]) -> set[uuid.UUID]:
    return {r.agent_id for r in rows}


def test_visitor_message_goes_to_the_assignee_only_when_assigned():
    a, b, c = agent(), agent(), agent()
    assert ids(rules.visitor_message([a, b, c], assignee_id=b.agent_id, author_id=None)) == {
        b.agent_id
    }


def test_visitor_message_unassigned_goes_to_every_agent():
    a, b = agent(), agent(status=None)
    assert ids(rules.visitor_message([a, b], assignee_id=None, author_id=None)) == {
        a.agent_id,
        b.agent_id,
    }


def test_never_the_author():
    a, b = agent(), agent()
    assert ids(rules.visitor_message([a, b], assignee_id=None, author_id=a.agent_id)) == {
        b.agent_id
    }
    assert rules.visitor_message([a, b], assignee_id=a.agent_id, author_id=a.agent_id) == []


def test_offline_agent_only_with_offline_notifications():
    on = agent(status="offline", offline_notifications=True)
    off = agent(status="offline", offline_notifications=False)
    away = agent(status="away", offline_notifications=False)
    got = ids(rules.visitor_message([on, off, away], assignee_id=None, author_id=None))
    assert got == {on.agent_id, away.agent_id}
    assert ids(rules.new_visitor([on, off, away])) == {on.agent_id, away.agent_id}


def test_new_message_setting_is_respected():
    quiet = agent(new_message=False)
    assert rules.visitor_message([quiet], assignee_id=None, author_id=None) == []
    assert rules.visitor_message([quiet], assignee_id=quiet.agent_id, author_id=None) == []
    assert rules.assignment([quiet], assignee_id=quiet.agent_id, assigned_by=None) == []


def test_new_visitor_respects_new_visitor_setting():
    yes, no = agent(), agent(new_visitor=False)
    assert ids(rules.new_visitor([yes, no])) == {yes.agent_id}


def test_assignment_goes_to_the_new_assignee_unless_self_assigned():
    a, b = agent(), agent()
    assert ids(rules.assignment([a, b], assignee_id=b.agent_id, assigned_by=a.agent_id)) == {
        b.agent_id
    }
    assert rules.assignment([a, b], assignee_id=b.agent_id, assigned_by=b.agent_id) == []
    assert rules.assignment([a, b], assignee_id=None, assigned_by=a.agent_id) == []
    offline = agent(status="offline", offline_notifications=False)
    assert rules.assignment([offline], assignee_id=offline.agent_id, assigned_by=None) == []


def test_email_recipients_want_email_and_have_an_address():
    yes, no, unknown = agent(), agent(email_notifications=False), agent(email=None)
    offline = agent(status="offline", offline_notifications=False)
    assert ids(rules.email_recipients([yes, no, unknown, offline], assignee_id=None)) == {
        yes.agent_id,
        offline.agent_id,
    }
    assert ids(rules.email_recipients([yes, offline], assignee_id=offline.agent_id)) == {
        offline.agent_id
    }
