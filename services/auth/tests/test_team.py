"""The team: list, invite and accept, roles, removal, the plan's agent limit, tenancy."""

from __future__ import annotations

import uuid
from typing import Any

import httpx

from parley_common.pagination import encode_cursor

from .conftest import PASSWORD, unique_email


async def test_invite_and_accept(
    client: httpx.AsyncClient, signup: Any, events: Any, smtp_sink: Any, settings: Any
) -> None:
    owner = await signup()
    email = unique_email("invitee")
    resp = await client.post(
        "/api/v1/agents", headers=owner.headers, json={"email": email, "role": "admin"}
    )
    assert resp.status_code == 201, resp.text
    body = resp.json()
    assert body["invitation"]["email"] == email
    assert body["invitation"]["role"] == "admin"
    assert body["invite_url"] == f"{settings.public_url}/invitations/{body['token']}"
    mail = (await smtp_sink.wait_for(email))[-1]
    assert body["invite_url"] in mail.get_content()
    preview = await client.get(f"/api/v1/invitations/{body['token']}")
    assert preview.status_code == 200, preview.text
    assert preview.json()["email"] == email and preview.json()["role"] == "admin"
    assert preview.json()["account_name"] == owner.body["account"]["name"]

    accepted = await client.post(
        "/api/v1/invitations/accept",
        json={"token": body["token"], "name": "Ivan Invitee", "password": PASSWORD},
    )
    assert accepted.status_code == 201, accepted.text
    agent = accepted.json()["agent"]
    assert agent["role"] == "admin" and agent["account_id"] == owner.account_id
    assert accepted.json()["account"]["id"] == owner.account_id

    listed = (await client.get("/api/v1/agents", headers=owner.headers)).json()
    assert [a["email"] for a in listed["items"]] == [email, owner.email]  # newest first
    created = await events(owner.account_id, "auth.agent.created")
    assert created[-1]["agent_id"] == agent["id"] and created[-1]["role"] == "admin"

    # An invitation is single-use.
    again = await client.post(
        "/api/v1/invitations/accept",
        json={"token": body["token"], "name": "Ivan", "password": PASSWORD},
    )
    assert again.status_code == 404
    assert again.json()["code"] == "invitation_not_found"
    assert (await client.get(f"/api/v1/invitations/{body['token']}")).status_code == 404


async def test_accept_with_a_bad_token_is_404(client: httpx.AsyncClient) -> None:
    resp = await client.post(
        "/api/v1/invitations/accept", json={"token": "made-up", "name": "X", "password": PASSWORD}
    )
    assert resp.status_code == 404


async def test_invite_existing_email_is_409(client: httpx.AsyncClient, signup: Any) -> None:
    owner, other = await signup(), await signup()
    resp = await client.post("/api/v1/agents", headers=owner.headers, json={"email": other.email})
    assert resp.status_code == 409
    assert resp.json()["code"] == "email_taken"


async def test_free_plan_agent_limit(
    client: httpx.AsyncClient, signup: Any, invite_agent: Any
) -> None:
    owner = await signup()
    await invite_agent(owner)
    pending = await client.post(
        "/api/v1/agents", headers=owner.headers, json={"email": unique_email()}
    )
    assert pending.status_code == 201  # owner + 1 agent + 1 pending = 3
    resp = await client.post(
        "/api/v1/agents", headers=owner.headers, json={"email": unique_email()}
    )
    assert resp.status_code == 403
    assert resp.json()["code"] == "agent_limit_reached"
    assert resp.json()["max_agents"] == 3
    sub = (await client.get("/api/v1/account/subscription", headers=owner.headers)).json()
    assert sub["entitlements"]["max_agents"] == 3


async def test_only_owner_and_admin_manage_the_team(
    client: httpx.AsyncClient, signup: Any, invite_agent: Any
) -> None:
    owner = await signup()
    agent = await invite_agent(owner, role="agent")
    resp = await client.post(
        "/api/v1/agents", headers=agent.headers, json={"email": unique_email()}
    )
    assert resp.status_code == 403
    assert resp.json()["code"] == "admin_only"
    resp = await client.patch(
        f"/api/v1/agents/{owner.agent_id}", headers=agent.headers, json={"role": "agent"}
    )
    assert resp.status_code == 403
    resp = await client.delete(f"/api/v1/agents/{owner.agent_id}", headers=agent.headers)
    assert resp.status_code == 403
    # Any agent may see the team.
    listed = await client.get("/api/v1/agents", headers=agent.headers)
    assert listed.status_code == 200 and len(listed.json()["items"]) == 2


async def test_change_role_and_owner_rules(
    client: httpx.AsyncClient, signup: Any, invite_agent: Any, events: Any
) -> None:
    owner = await signup()
    admin = await invite_agent(owner, role="admin")
    agent = await invite_agent(owner, role="agent")
    resp = await client.patch(
        f"/api/v1/agents/{agent.agent_id}", headers=admin.headers, json={"role": "admin"}
    )
    assert resp.status_code == 200 and resp.json()["role"] == "admin"
    updated = await events(owner.account_id, "auth.agent.updated")
    assert (updated[-1]["agent_id"], updated[-1]["role"]) == (agent.agent_id, "admin")
    # Admins cannot make owners nor demote them.
    resp = await client.patch(
        f"/api/v1/agents/{agent.agent_id}", headers=admin.headers, json={"role": "owner"}
    )
    assert resp.status_code == 403 and resp.json()["code"] == "owner_only"
    resp = await client.patch(
        f"/api/v1/agents/{owner.agent_id}", headers=admin.headers, json={"role": "agent"}
    )
    assert resp.status_code == 403
    # The last owner cannot step down...
    resp = await client.patch(
        f"/api/v1/agents/{owner.agent_id}", headers=owner.headers, json={"role": "admin"}
    )
    assert resp.status_code == 409 and resp.json()["code"] == "last_owner"
    # ...until there is another owner.
    resp = await client.patch(
        f"/api/v1/agents/{admin.agent_id}", headers=owner.headers, json={"role": "owner"}
    )
    assert resp.status_code == 200
    resp = await client.patch(
        f"/api/v1/agents/{owner.agent_id}", headers=owner.headers, json={"role": "agent"}
    )
    assert resp.status_code == 200 and resp.json()["role"] == "agent"
    bad = await client.patch(
        f"/api/v1/agents/{agent.agent_id}", headers=admin.headers, json={"role": "god"}
    )
    assert bad.status_code == 422
    bad = await client.patch(
        f"/api/v1/agents/{agent.agent_id}",
        headers=admin.headers,
        json={"role": "agent", "email": "x@example.com"},
    )
    assert bad.status_code == 422


async def test_remove_agent_revokes_sessions_and_emits(
    client: httpx.AsyncClient, signup: Any, invite_agent: Any, events: Any
) -> None:
    owner = await signup()
    agent = await invite_agent(owner)
    resp = await client.delete(f"/api/v1/agents/{agent.agent_id}", headers=owner.headers)
    assert resp.status_code == 204
    assert (await client.get("/api/v1/me", headers=agent.headers)).status_code == 401
    refresh = await client.post("/api/v1/auth/refresh", json={"refresh_token": agent.refresh_token})
    assert refresh.status_code == 401
    login = await client.post(
        "/api/v1/auth/login", json={"email": agent.email, "password": PASSWORD}
    )
    assert login.status_code == 401
    removed = await events(owner.account_id, "auth.agent.removed")
    assert [r["agent_id"] for r in removed] == [agent.agent_id]
    revoked = await events(owner.account_id, "auth.session.revoked")
    assert [r["agent_id"] for r in revoked] == [agent.agent_id]
    gone = await client.get(f"/api/v1/agents/{agent.agent_id}", headers=owner.headers)
    assert gone.status_code == 404


async def test_last_owner_cannot_be_removed(client: httpx.AsyncClient, signup: Any) -> None:
    owner = await signup()
    resp = await client.delete(f"/api/v1/agents/{owner.agent_id}", headers=owner.headers)
    assert resp.status_code == 409
    assert resp.json()["code"] == "last_owner"
    assert (await client.get("/api/v1/me", headers=owner.headers)).status_code == 200


async def test_admin_of_a_cannot_touch_agents_of_b(
    client: httpx.AsyncClient, signup: Any, invite_agent: Any
) -> None:
    a, b = await signup(), await signup()
    b_agent = await invite_agent(b)
    for target in (b.agent_id, b_agent.agent_id):
        assert (await client.get(f"/api/v1/agents/{target}", headers=a.headers)).status_code == 404
        resp = await client.patch(
            f"/api/v1/agents/{target}", headers=a.headers, json={"role": "agent"}
        )
        assert resp.status_code == 404
        assert resp.json()["code"] == "agent_not_found"
        resp = await client.delete(f"/api/v1/agents/{target}", headers=a.headers)
        assert resp.status_code == 404
    listed = (await client.get("/api/v1/agents", headers=a.headers)).json()
    assert [x["id"] for x in listed["items"]] == [a.agent_id]
    assert (await client.get("/api/v1/me", headers=b_agent.headers)).json()["role"] == "agent"
    missing = await client.get(f"/api/v1/agents/{uuid.uuid4()}", headers=a.headers)
    assert missing.status_code == 404
    bad_id = await client.get("/api/v1/agents/not-a-uuid", headers=a.headers)
    assert bad_id.status_code == 422


async def test_agent_list_pagination(
    client: httpx.AsyncClient, signup: Any, invite_agent: Any
) -> None:
    owner = await signup()
    invited = await invite_agent(owner)
    first = (await client.get("/api/v1/agents?limit=1", headers=owner.headers)).json()
    assert [a["id"] for a in first["items"]] == [invited.agent_id]
    assert first["next_cursor"]
    second = (
        await client.get(
            f"/api/v1/agents?limit=1&cursor={first['next_cursor']}", headers=owner.headers
        )
    ).json()
    assert [a["id"] for a in second["items"]] == [owner.agent_id]
    assert second["next_cursor"] is None
    naive = encode_cursor("2020-01-01T00:00:00", uuid.uuid4())
    one_part = encode_cursor(uuid.uuid4())
    for cursor in ("%%%", "bm9wZQ==", naive, one_part):
        bad = await client.get("/api/v1/agents", params={"cursor": cursor}, headers=owner.headers)
        assert bad.status_code == 422, cursor
        assert bad.headers["content-type"] == "application/problem+json"
        assert bad.json()["code"] == "invalid_cursor", cursor
