"""Attachments (upload, limits, type sniffing, safe download) and shortcuts."""

from __future__ import annotations

import uuid

import pytest

from parley_chat.config import get_chat_settings

from .conftest import make_visitor, visitor_writes

PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00"
    b"\x00\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\xcf\xc0\x00\x00\x03\x01\x01\x00\xc9"
    b"\xfe\x92\xef\x00\x00\x00\x00IEND\xaeB`\x82"
)


async def upload(client, headers, name, content, path="/api/v1/attachments"):
    return await client.post(
        path, headers=headers, files={"file": (name, content, "application/octet-stream")}
    )


# Every attachment test runs against the local directory and against S3 (moto's server).
on_both_backends = pytest.mark.usefixtures("storage_backend")


async def test_upload_detects_type_from_content_and_downloads_safely(
    storage_backend, client, agent
):
    png = await upload(client, agent.headers, "photo.txt", PNG)
    assert png.status_code == 201, png.text
    body = png.json()
    assert body["content_type"] == "image/png" and body["size"] == len(PNG)
    assert body["url"] == f"/api/v1/attachments/{body['id']}"
    got = await client.get(body["url"], headers=agent.headers)
    assert got.status_code == 200 and got.content == PNG
    assert storage_backend.stored(f"chat/{agent.account_id}/{body['id']}") == PNG
    assert got.headers["content-disposition"].startswith("inline")
    assert got.headers["x-content-type-options"] == "nosniff"

    svg = await upload(
        client,
        agent.headers,
        "logo.png",
        b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
    )
    assert svg.json()["content_type"] == "image/svg+xml"
    got = await client.get(svg.json()["url"], headers=agent.headers)
    assert got.headers["content-disposition"].startswith("attachment")
    html = await upload(client, agent.headers, "a.jpg", b"<!DOCTYPE html><html>hi</html>")
    got = await client.get(html.json()["url"], headers=agent.headers)
    assert html.json()["content_type"] == "text/html"
    assert got.headers["content-disposition"].startswith("attachment")
    assert got.headers["x-content-type-options"] == "nosniff"


async def test_too_large_upload_is_413(storage_backend, client, agent, monkeypatch):
    monkeypatch.setattr(get_chat_settings(), "attachment_max_bytes", 1000)
    big = await upload(client, agent.headers, "big.bin", b"x" * 5000)
    assert big.status_code == 413 and big.json()["code"] == "payload_too_large"
    assert storage_backend.keys(f"chat/{agent.account_id}/") == []
    # Bigger than the limit plus multipart overhead: refused from Content-Length alone.
    huge = await upload(client, agent.headers, "huge.bin", b"x" * 200_000)
    assert huge.status_code == 413
    listed = await upload(client, agent.headers, "ok.txt", b"small")
    assert listed.status_code == 201


async def test_bad_uploads_are_4xx(storage_backend, client, agent):
    not_multipart = await client.post("/api/v1/attachments", headers=agent.headers, content=b"raw")
    assert not_multipart.status_code == 422 and not_multipart.json()["code"] == "upload_invalid"
    wrong_field = await client.post(
        "/api/v1/attachments", headers=agent.headers, files={"other": ("a.txt", b"x")}
    )
    assert wrong_field.status_code == 422
    empty = await upload(client, agent.headers, "empty.txt", b"")
    assert empty.status_code == 422
    assert storage_backend.keys(f"chat/{agent.account_id}/") == []


@on_both_backends
async def test_visitor_attaches_and_access_is_limited(client, visitor, agent, other_account):
    up = await upload(client, visitor.headers, "shot.png", PNG, "/api/v1/widget/attachments")
    assert up.status_code == 201
    aid = up.json()["id"]
    sent = await visitor_writes(client, visitor, "", attachment_ids=[aid])
    assert sent["message"]["attachments"][0]["id"] == aid
    assert sent["message"]["attachments"][0]["content_type"] == "image/png"
    reused = await client.post(
        "/api/v1/widget/messages",
        headers=visitor.headers,
        json={"text": "again", "attachment_ids": [aid]},
    )
    assert reused.status_code == 422 and reused.json()["code"] == "attachment_invalid"

    assert (
        await client.get(f"/api/v1/attachments/{aid}", headers=agent.headers)
    ).status_code == 200
    assert (
        await client.get(f"/api/v1/attachments/{aid}", headers=visitor.headers)
    ).status_code == 200
    other_visitor = make_visitor(agent.account_id)
    for headers in (other_account.headers, other_visitor.headers):
        denied = await client.get(f"/api/v1/attachments/{aid}", headers=headers)
        assert denied.status_code == 404 and denied.json()["code"] == "attachment_not_found"
    # Another account's upload cannot be attached either.
    foreign = (await upload(client, other_account.headers, "f.txt", b"secret")).json()
    cid = sent["conversation_id"]
    stolen = await client.post(
        f"/api/v1/conversations/{cid}/messages",
        headers=agent.headers,
        json={"text": "see", "attachment_ids": [foreign["id"]]},
    )
    assert stolen.status_code == 422
    assert (
        await client.get(f"/api/v1/attachments/{uuid.uuid4()}", headers=agent.headers)
    ).status_code == 404


async def test_shortcuts_crud_and_use(client, visitor, agent, other_account, feed):
    await feed(
        "visitors.visitor.updated",
        agent.account_id,
        {"visitor_id": str(visitor.visitor_id), "name": "Jane"},
    )
    created = await client.post(
        "/api/v1/shortcuts",
        headers=agent.headers,
        json={"name": "hello", "text": "Hi {visitor_name}!"},
    )
    assert created.status_code == 201
    sid = created.json()["id"]
    dup = await client.post(
        "/api/v1/shortcuts", headers=agent.headers, json={"name": "hello", "text": "again"}
    )
    assert dup.status_code == 409 and dup.json()["code"] == "shortcut_name_taken"
    # The same name in another account is fine.
    assert (
        await client.post(
            "/api/v1/shortcuts", headers=other_account.headers, json={"name": "hello", "text": "x"}
        )
    ).status_code == 201
    extra = await client.post(
        "/api/v1/shortcuts", headers=agent.headers, json={"name": "x", "text": "y", "owner": "me"}
    )
    assert extra.status_code == 422
    listed = (await client.get("/api/v1/shortcuts", headers=agent.headers)).json()
    assert [s["name"] for s in listed["items"]] == ["hello"]

    cid = (await visitor_writes(client, visitor))["conversation_id"]
    used = await client.post(
        f"/api/v1/conversations/{cid}/messages", headers=agent.headers, json={"shortcut_id": sid}
    )
    assert used.status_code == 201 and used.json()["text"] == "Hi Jane!"

    patched = await client.patch(
        f"/api/v1/shortcuts/{sid}", headers=agent.headers, json={"name": "greet"}
    )
    assert patched.status_code == 200 and patched.json()["name"] == "greet"
    for method, body in (("PATCH", {"text": "z"}), ("DELETE", None)):
        foreign = await client.request(
            method, f"/api/v1/shortcuts/{sid}", headers=other_account.headers, json=body
        )
        assert foreign.status_code == 404 and foreign.json()["code"] == "shortcut_not_found"
    foreign_use = await client.post(
        f"/api/v1/conversations/{cid}/messages",
        headers=agent.headers,
        json={"shortcut_id": str(uuid.uuid4())},
    )
    assert foreign_use.status_code == 404
    assert (
        await client.delete(f"/api/v1/shortcuts/{sid}", headers=agent.headers)
    ).status_code == 204
    assert (
        await client.delete(f"/api/v1/shortcuts/{sid}", headers=agent.headers)
    ).status_code == 404


@pytest.mark.parametrize("name", ["", " padded", "x" * 101])
async def test_shortcut_names_are_validated(client, agent, name):
    response = await client.post(
        "/api/v1/shortcuts", headers=agent.headers, json={"name": name, "text": "t"}
    )
    assert response.status_code == 422
