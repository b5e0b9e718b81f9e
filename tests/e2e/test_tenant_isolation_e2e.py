"""Tenant isolation, generated from the merged OpenAPI document (issue 11, the suite).

Account A creates one object of every kind that has an id in a public path. Then every path
with an id parameter, with every method of it, is called with A's real ids by another account's
credentials: its owner (an admin, so no role check hides a leak) and, where a path takes a
visitor token, its visitor and a visitor of A's own account who is not in A's conversation.
Every answer must be 404, and A's objects must read the same afterwards. B's API key (every
scope) is a caller too: 404, or 403 `api_key_not_allowed` on a path no key may use (refused
from the path alone, before any object is looked up, so it tells nothing about A's object).
"""

from __future__ import annotations

import uuid
from typing import Any

from parley_common.api_keys import SCOPES
from parley_common.e2e import System, load_test_module
from parley_common.testing import eventually

cases = load_test_module("tests/e2e/openapi_cases.py")

# Path parameters that are not tenant object ids: an invitation token is its own secret (its
# preview is public by design), an avatar name is an unguessable public image name.
NOT_TENANT_IDS = {"token@/api/v1/invitations/{token}", "name@/api/v1/avatars/{name}"}
# Paths a visitor token may call (besides /api/v1/widget/...).
VISITOR_PATHS = {"/api/v1/attachments/{attachment_id}"}
# The same parameter name on two kinds of object: keyed by name@path.
CHATBOT = "bot_id@/api/v1/chatbots/{bot_id}"
AUTOMATIC = "bot_id@/api/v1/automatic-messages/{bot_id}"
KEY_OF_B = "API key of B"
PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00"
    b"\x00\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\xcf\xc0\x00\x00\x03\x01\x01\x00\xc9"
    b"\xfe\x92\xef\x00\x00\x00\x00IEND\xaeB`\x82"
)


def ok(resp: Any) -> Any:
    assert resp.status_code in (200, 201), resp.text
    return resp.json()


async def objects_of(system: System, gateway: Any, owner: dict[str, Any]) -> dict[str, str]:
    """One object of every kind, by the path parameter that names it."""
    headers = owner["headers"]
    session = await system.widget_session(gateway, owner)
    visitor_id, visitor = session["visitor_id"], session["headers"]
    upload = ok(
        await gateway.post(
            "/api/v1/widget/attachments",
            headers=visitor,
            files={"file": ("a.png", PNG, "image/png")},
        )
    )
    sent = ok(
        await gateway.post(
            "/api/v1/widget/messages",
            headers=visitor,
            json={"text": "Hello", "attachment_ids": [upload["id"]]},
        )
    )
    shortcut = ok(
        await gateway.post("/api/v1/shortcuts", headers=headers, json={"name": "hi", "text": "Hi"})
    )
    chatbot = ok(
        await gateway.post(
            "/api/v1/chatbots",
            headers=headers,
            json={
                "name": "Bot",
                "enabled": False,  # no bot writes into the conversation between snapshots
                "trigger": {"type": "visitor_arrived"},
                "steps": [{"id": "start", "message": "Hi"}],
            },
        )
    )
    automatic = ok(
        await gateway.post(
            "/api/v1/automatic-messages",
            headers=headers,
            json={
                "name": "Auto",
                "enabled": False,
                "trigger": {"type": "visitor_arrived"},
                "message": "Hi",
            },
        )
    )
    device_token = uuid.uuid4().hex * 2
    ok(await gateway.post("/api/v1/devices", headers=headers, json={"token": device_token}))
    webhook = ok(
        await gateway.post(
            "/api/v1/webhooks",
            headers=headers,
            json={
                "url": "http://127.0.0.1:9/hook",
                "events": ["chat.conversation.resolved"],
                "enabled": False,  # nothing is sent to the closed port
            },
        )
    )
    api_key = ok(
        await gateway.post(
            "/api/v1/api-keys",
            headers=headers,
            json={"name": "A's CRM", "scopes": ["conversations:read"]},
        )
    )
    erased = await system.widget_session(gateway, owner)

    async def erasure_started() -> Any:
        resp = await gateway.delete(f"/api/v1/visitors/{erased['visitor_id']}", headers=headers)
        return resp.json()["erasure_id"] if resp.status_code == 202 else None

    erasure_id = await eventually(erasure_started, timeout=20, interval=0.2)

    async def visitor_known() -> bool:
        resp = await gateway.get(f"/api/v1/visitors/{visitor_id}", headers=headers)
        return resp.status_code == 200

    await eventually(visitor_known, timeout=20, interval=0.2)
    return {
        "conversation_id": sent["conversation_id"],
        "visitor_id": visitor_id,
        "attachment_id": upload["id"],
        "shortcut_id": shortcut["id"],
        "agent_id": owner["agent"]["id"],
        "token": device_token,
        "webhook_id": webhook["id"],
        "key_id": api_key["id"],
        "erasure_id": erasure_id,
        CHATBOT: chatbot["id"],
        AUTOMATIC: automatic["id"],
    }


async def snapshot(gateway: Any, owner: dict[str, Any], ids: dict[str, str]) -> dict[str, Any]:
    """What A sees of its objects (fields that change by themselves left out)."""
    headers = owner["headers"]
    reads = {
        "conversation": f"/api/v1/conversations/{ids['conversation_id']}",
        "messages": f"/api/v1/conversations/{ids['conversation_id']}/messages",
        "visitor": f"/api/v1/visitors/{ids['visitor_id']}",
        "shortcuts": "/api/v1/shortcuts",
        "chatbot": f"/api/v1/chatbots/{ids[CHATBOT]}",
        "automatic": f"/api/v1/automatic-messages/{ids[AUTOMATIC]}",
        "agent": f"/api/v1/agents/{ids['agent_id']}",
        "webhook": f"/api/v1/webhooks/{ids['webhook_id']}",
        "deliveries": f"/api/v1/webhooks/{ids['webhook_id']}/deliveries",
        "api_keys": "/api/v1/api-keys",
    }
    volatile = {"last_seen_at", "active", "online", "current_page", "time_on_site_seconds"}
    out: dict[str, Any] = {}
    for name, path in reads.items():
        body = ok(await gateway.get(path, headers=headers))
        if isinstance(body, dict):
            body = {k: v for k, v in body.items() if k not in volatile}
        out[name] = body
    attachment = await gateway.get(f"/api/v1/attachments/{ids['attachment_id']}", headers=headers)
    out["attachment"] = (attachment.status_code, attachment.content)
    return out


def refused_to_keys(resp: Any) -> bool:
    """403 ``api_key_not_allowed``: the path is closed to every key, whatever the id."""
    return resp.status_code == 403 and resp.json().get("code") == "api_key_not_allowed"


def id_for(ids: dict[str, str], name: str, path: str) -> str | None:
    return ids.get(f"{name}@{path}", ids.get(name))


async def test_another_accounts_ids_are_404_for_every_path_and_method(
    system: System, gateway
) -> None:
    await system.ready()  # a service an earlier test restarted answers again
    doc = (await gateway.get("/openapi.json")).json()
    a = await system.signup(gateway)
    b = await system.signup(gateway)
    ids = await objects_of(system, gateway, a)
    before = await snapshot(gateway, a, ids)
    b_visitor = (await system.widget_session(gateway, b))["headers"]
    a_other_visitor = (await system.widget_session(gateway, a))["headers"]
    b_key = ok(
        await gateway.post(
            "/api/v1/api-keys",
            headers=b["headers"],
            json={"name": "B's integration", "scopes": list(SCOPES)},
        )
    )
    identities = [
        ("owner of B", b["headers"]),
        (KEY_OF_B, {"Authorization": f"Bearer {b_key['key']}"}),
    ]
    visitor_identities = [("visitor of B", b_visitor), ("other visitor of A", a_other_visitor)]

    tried, leaks = 0, []
    uncovered: list[str] = []
    for path, method, operation in cases.operations(doc):
        params = cases.path_params(operation, path)
        if not params or all(f"{p}@{path}" in NOT_TENANT_IDS for p in params):
            continue
        url = path
        values = {name: id_for(ids, name, path) for name in params}
        if any(value is None for value in values.values()):
            uncovered.append(path)  # a kind of object objects_of does not create
            continue
        for name, value in values.items():
            url = url.replace("{" + name + "}", str(value))
        schema = cases.json_body_schema(operation)
        body = cases.sample(doc, schema) if schema is not None else None
        callers = identities + (visitor_identities if path in VISITOR_PATHS else [])
        for who, headers in callers:
            resp = await gateway.request(method, url, headers=headers, json=body)
            tried += 1
            if who == KEY_OF_B and refused_to_keys(resp):
                continue
            if resp.status_code != 404:
                leaks.append(
                    f"{who}: {method.upper()} {url} -> {resp.status_code} {resp.text[:150]}"
                )
    assert tried >= 30
    assert leaks == [], "\n".join(leaks)
    assert uncovered == [], f"paths with ids of a kind objects_of does not create: {uncovered}"
    after = await snapshot(gateway, a, ids)
    assert changes(before, after) == {}


def changes(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    """What differs, field by field for objects."""
    out: dict[str, Any] = {}
    for name, old in before.items():
        new = after[name]
        if isinstance(old, dict) and isinstance(new, dict):
            fields = {k for k in old.keys() | new.keys() if old.get(k) != new.get(k)}
            if fields:
                out[name] = {k: (old.get(k), new.get(k)) for k in sorted(fields)}
        elif old != new:
            out[name] = (old, new)
    return out
