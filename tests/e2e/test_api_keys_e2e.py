"""An integrator's API key through the gateway: it works on chat and visitors within its
scopes, is refused elsewhere with a 403 problem, and every service refuses it once revoked."""

from __future__ import annotations

from parley_common.e2e import System
from parley_common.testing import eventually


async def test_api_key_scopes_and_revocation(system: System, gateway) -> None:
    owner = await system.signup(gateway)
    visitor = await system.widget_session(gateway, owner)
    sent = await gateway.post(
        "/api/v1/widget/messages", headers=visitor["headers"], json={"text": "Hi from the shop"}
    )
    assert sent.status_code == 201, sent.text
    cid = sent.json()["conversation_id"]

    created = await gateway.post(
        "/api/v1/api-keys",
        headers=owner["headers"],
        json={"name": "CRM", "scopes": ["conversations:read", "visitors:read"]},
    )
    assert created.status_code == 201, created.text
    key = {"Authorization": f"Bearer {created.json()['key']}"}

    messages = await gateway.get(f"/api/v1/conversations/{cid}/messages", headers=key)
    assert messages.status_code == 200, messages.text
    assert [m["text"] for m in messages.json()["items"]] == ["Hi from the shop"]

    async def visitor_listed() -> bool:
        resp = await gateway.get(f"/api/v1/visitors/{visitor['visitor_id']}", headers=key)
        return resp.status_code == 200

    await eventually(visitor_listed, timeout=10)

    refusals = [
        ("POST", f"/api/v1/conversations/{cid}/messages", {"text": "x"}, "api_key_scope_missing"),
        (
            "PATCH",
            f"/api/v1/visitors/{visitor['visitor_id']}",
            {"name": "x"},
            "api_key_scope_missing",
        ),
        ("GET", "/api/v1/chatbots", None, "api_key_not_allowed"),
        ("GET", "/api/v1/me/notification-settings", None, "api_key_not_allowed"),
        ("GET", "/api/v1/agents", None, "api_key_not_allowed"),
        ("GET", "/api/v1/api-keys", None, "api_key_not_allowed"),
    ]
    for method, path, body, code in refusals:
        resp = await gateway.request(method, path, headers=key, json=body)
        assert (resp.status_code, resp.json().get("code")) == (403, code), (path, resp.text)

    listed = (await gateway.get("/api/v1/api-keys", headers=owner["headers"])).json()["items"]
    assert listed[0]["last_used_at"] is not None

    revoked = await gateway.delete(
        f"/api/v1/api-keys/{created.json()['id']}", headers=owner["headers"]
    )
    assert revoked.status_code == 204

    async def refused_everywhere() -> bool:
        paths = [f"/api/v1/conversations/{cid}", f"/api/v1/visitors/{visitor['visitor_id']}"]
        for path in paths:
            resp = await gateway.get(path, headers=key)
            if resp.status_code != 401 or resp.json()["code"] != "invalid_api_key":
                return False
        return True

    await eventually(refused_everywhere, timeout=5)
