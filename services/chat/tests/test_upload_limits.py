"""Uploads a visitor may not make, bodies cut short, and uploads never attached."""

from __future__ import annotations

from sqlalchemy import text

from parley_chat.config import get_chat_settings
from parley_common.storage import StoredObjectMissing, open_storage
from parley_common.testing import eventually

from .conftest import visitor_writes
from .test_attachments_shortcuts import PNG, upload


async def count_uploads(engine, uploader_id) -> int:
    async with engine.connect() as conn:
        return (
            await conn.execute(
                text("SELECT count(*) FROM chat.attachments WHERE uploader_id = :u"),
                {"u": uploader_id},
            )
        ).scalar()


async def test_blocked_visitor_cannot_upload(client, visitor, feed, engine):
    await feed(
        "visitors.visitor.blocked", visitor.account_id, {"visitor_id": str(visitor.visitor_id)}
    )
    resp = await upload(client, visitor.headers, "a.png", PNG, "/api/v1/widget/attachments")
    assert resp.status_code == 403
    assert resp.headers["content-type"] == "application/problem+json"
    assert resp.json()["code"] == "visitor_blocked"
    assert await count_uploads(engine, visitor.visitor_id) == 0
    await feed(
        "visitors.visitor.unblocked", visitor.account_id, {"visitor_id": str(visitor.visitor_id)}
    )
    again = await upload(client, visitor.headers, "a.png", PNG, "/api/v1/widget/attachments")
    assert again.status_code == 201


async def test_multipart_without_closing_boundary_is_400_and_not_kept(client, agent, engine):
    body = (
        b"--XyZ\r\n"
        b'Content-Disposition: form-data; name="file"; filename="cut.txt"\r\n'
        b"Content-Type: text/plain\r\n\r\n"
        b"half of a file"
    )
    resp = await client.post(
        "/api/v1/attachments",
        headers={**agent.headers, "content-type": "multipart/form-data; boundary=XyZ"},
        content=body,
    )
    assert resp.status_code == 400
    assert resp.json()["code"] == "upload_incomplete"
    assert await count_uploads(engine, agent.agent_id) == 0
    whole = await client.post(
        "/api/v1/attachments",
        headers={**agent.headers, "content-type": "multipart/form-data; boundary=XyZ"},
        content=body + b"\r\n--XyZ--\r\n",
    )
    assert whole.status_code == 201


async def test_uploads_never_attached_are_deleted_after_the_grace(
    client, visitor, engine, worker, monkeypatch
):
    settings = get_chat_settings()
    storage = open_storage("chat", settings)
    kept = await upload(client, visitor.headers, "kept.png", PNG, "/api/v1/widget/attachments")
    await visitor_writes(client, visitor, "see", attachment_ids=[kept.json()["id"]])
    orphan = await upload(client, visitor.headers, "lost.png", PNG, "/api/v1/widget/attachments")
    orphan_key = f"{visitor.account_id}/{orphan.json()['id']}"

    async def orphan_stored() -> bool:
        try:
            await storage.open(orphan_key)
        except StoredObjectMissing:
            return False
        return True

    async def orphan_gone() -> bool:
        return not await orphan_stored()

    assert await orphan_stored()

    monkeypatch.setattr(settings, "attachment_unattached_grace_seconds", 0.5)
    monkeypatch.setattr(settings, "attachment_sweep_interval_seconds", 0.1)
    async with worker("chat"):
        await eventually(orphan_gone)
    assert await count_uploads(engine, visitor.visitor_id) == 1
    assert (await client.get(kept.json()["url"], headers=visitor.headers)).status_code == 200
    gone = await client.get(orphan.json()["url"], headers=visitor.headers)
    assert gone.status_code == 404
