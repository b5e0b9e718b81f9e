"""The client contract through the gateway: ETag / If-None-Match on lists and objects."""

from __future__ import annotations

from parley_common.e2e import System
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
