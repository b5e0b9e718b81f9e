"""The client contract through the gateway: ETag / If-None-Match on lists and objects, and a
cold start in two requests (login, boot) plus the stream resuming from the boot's position."""

from __future__ import annotations

import uuid

import orjson
from websockets.asyncio.client import connect

from parley_common.e2e import System, next_event
from parley_common.testing import eventually


async def test_lists_and_objects_answer_304_until_they_change(system: System, gateway) -> None:
    owner = await system.signup(gateway)
    headers = owner["headers"]
    first = await gateway.get("/api/v1/conversations?status=open", headers=headers)
    assert first.status_code == 200 and first.json()["items"] == []
    etag = first.headers["etag"]
    assert "etag" in first.headers.get("access-control-expose-headers", "etag")

    same = await gateway.get(
        "/api/v1/conversations?status=open", headers={**headers, "If-None-Match": etag}
    )
    assert same.status_code == 304 and same.content == b"" and same.headers["etag"] == etag

    me = await gateway.get("/api/v1/me", headers=headers)
    me_again = await gateway.get(
        "/api/v1/me", headers={**headers, "If-None-Match": me.headers["etag"]}
    )
    assert me.status_code == 200 and me_again.status_code == 304 and me_again.content == b""

    visitor = await system.widget_session(gateway, owner)
    sent = await gateway.post(
        "/api/v1/widget/messages", json={"text": "Hello?"}, headers=visitor["headers"]
    )
    assert sent.status_code == 201, sent.text

    async def changed():
        resp = await gateway.get(
            "/api/v1/conversations?status=open", headers={**headers, "If-None-Match": etag}
        )
        return resp if resp.status_code == 200 else None

    after = await eventually(changed, timeout=15)
    assert after.headers["etag"] != etag
    assert [c["last_message"]["text"] for c in after.json()["items"]] == ["Hello?"]


async def test_cold_start_is_login_boot_and_the_socket(system: System, gateway) -> None:
    owner = await system.signup(gateway)
    visitor = await system.widget_session(gateway, owner)
    first = await gateway.post(
        "/api/v1/widget/messages", json={"text": "Hello?"}, headers=visitor["headers"]
    )
    assert first.status_code == 201, first.text

    requests: list[str] = []

    async def count(request) -> None:
        requests.append(f"{request.method} {request.url.path}")

    async with system.client(event_hooks={"request": [count]}) as app:
        login = await app.post(
            "/api/v1/auth/login",
            json={"email": owner["agent"]["email"], "password": owner["password"]},
        )
        assert login.status_code == 200, login.text
        headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
        boot = await app.get("/api/v1/boot", headers=headers)
        assert boot.status_code == 200, boot.text
        screen = boot.json()
        etag = boot.headers["etag"]

        # Something happens between the boot and the socket: it must not be missed.
        later = await gateway.post(
            "/api/v1/widget/messages", json={"text": "Anyone there?"}, headers=visitor["headers"]
        )
        assert later.status_code == 201, later.text
        position = screen["stream"]
        url = system.ws_url(f"/api/v1/stream?since={position['seq']}&epoch={position['epoch']}")
        async with connect(url, additional_headers=headers, proxy=None, open_timeout=5) as ws:
            hello = orjson.loads(await ws.recv())
            assert hello == {"type": "hello", "epoch": position["epoch"], "seq": position["seq"]}
            missed = await next_event(
                ws,
                lambda f: (
                    f["event"] == "chat.message.created" and f["data"]["text"] == "Anyone there?"
                ),
            )
            assert missed["seq"] > position["seq"]
    assert requests == ["POST /api/v1/auth/login", "GET /api/v1/boot"]

    assert screen["agent"]["id"] == owner["agent"]["id"]
    assert screen["account"]["widget_key"] == owner["account"]["widget_key"]
    assert set(screen["settings"]) == {"general", "design", "contact_form"}
    assert "language" in screen["settings"]["general"]
    assert screen["subscription"]["plan"] == "free"
    assert "new_message" in screen["notification_settings"]
    assert screen["counts"] == {"open": 1, "unread": 1, "resolved_today": 0, "active_visitors": 1}
    [conversation] = screen["conversations"]["items"]
    assert conversation["id"] == first.json()["conversation_id"]
    assert conversation["unread_count"] == 1

    again = await gateway.get("/api/v1/boot", headers={**headers, "If-None-Match": etag})
    assert again.status_code == 200 and again.headers["etag"] != etag  # a message came since


async def test_boot_needs_an_agent_and_answers_a_services_refusal(system: System, gateway):
    anonymous = await gateway.get("/api/v1/boot")
    assert anonymous.status_code == 401
    assert anonymous.headers["content-type"] == "application/problem+json"
    owner = await system.signup(gateway)
    bad_limit = await gateway.get("/api/v1/boot?limit=0", headers=owner["headers"])
    assert bad_limit.status_code == 422 and bad_limit.json()["code"] == "validation_error"
    logout = await gateway.post(
        "/api/v1/auth/logout", json={"refresh_token": owner["refresh_token"]}
    )
    assert logout.status_code == 204
    # The token still verifies at the gateway; the auth service knows the session ended.
    revoked = await gateway.get("/api/v1/boot", headers=owner["headers"])
    assert revoked.status_code == 401, revoked.text
    assert revoked.headers["content-type"] == "application/problem+json"
    assert revoked.json()["code"] == "session_revoked"


async def test_boot_is_in_the_merged_openapi(gateway) -> None:
    doc = (await gateway.get("/openapi.json")).json()
    operation = doc["paths"]["/api/v1/boot"]["get"]
    schema = operation["responses"]["200"]["content"]["application/json"]["schema"]
    boot = doc["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]]
    assert set(boot["required"]) >= {"agent", "account", "settings", "counts", "stream"}
    assert boot["examples"][0]["stream"]["seq"] == 1042
    assert {"401", "422"} <= set(operation["responses"])


async def test_problem_titles_follow_accept_language_through_the_gateway(system, gateway):
    owner = await system.signup(gateway)
    spanish = {**owner["headers"], "Accept-Language": "es-ES,es;q=0.9,en;q=0.5"}
    missing = await gateway.get(f"/api/v1/conversations/{uuid.uuid4()}", headers=spanish)
    assert missing.status_code == 404 and missing.json()["code"] == "conversation_not_found"
    assert missing.json()["title"] == "Conversación no encontrada"
    nowhere = await gateway.get("/api/v1/no-such-thing", headers={"Accept-Language": "de"})
    assert nowhere.status_code == 404 and nowhere.json()["title"] == "Nicht gefunden"
    english = await gateway.get(f"/api/v1/conversations/{uuid.uuid4()}", headers=owner["headers"])
    assert english.json()["title"] == "Conversation not found"
