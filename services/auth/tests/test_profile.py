"""Profile (/me), e-mail change, chat status, avatars."""

from __future__ import annotations

import io
from typing import Any

import httpx
import pytest
from PIL import Image

from parley_common.testing_storage import StorageBackend

from .conftest import PASSWORD, unique_email


def image_bytes(fmt: str, size: tuple[int, int] = (64, 64)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (200, 30, 30)).save(out, format=fmt)
    return out.getvalue()


async def test_get_and_patch_profile_emits_agent_updated(
    client: httpx.AsyncClient, signup: Any, events: Any
) -> None:
    owner = await signup(name="Olivia")
    me = (await client.get("/api/v1/me", headers=owner.headers)).json()
    assert {k: me[k] for k in ("name", "description", "email", "avatar_url", "status", "role")} == {
        "name": "Olivia",
        "description": "",
        "email": owner.email,
        "avatar_url": None,
        "status": "offline",
        "role": "owner",
    }
    resp = await client.patch(
        "/api/v1/me",
        headers=owner.headers,
        json={
            "name": "Olivia O.",
            "description": "Support lead",
            "avatar_url": "https://cdn.example.com/o.png",
        },
    )
    assert resp.status_code == 200, resp.text
    assert resp.json()["name"] == "Olivia O."
    me = (await client.get("/api/v1/me", headers=owner.headers)).json()
    assert me["description"] == "Support lead"
    assert me["avatar_url"] == "https://cdn.example.com/o.png"
    updated = await events(owner.account_id, "auth.agent.updated")
    assert updated[-1]["name"] == "Olivia O."
    assert updated[-1]["avatar_url"] == "https://cdn.example.com/o.png"


async def test_patch_profile_bad_input_changes_nothing(
    client: httpx.AsyncClient, signup: Any, events: Any
) -> None:
    owner = await signup(name="Olivia")
    bad = [
        {"avatar_url": "http://insecure.example.com/a.png"},
        {"avatar_url": "javascript:alert(1)"},
        {"name": "x" * 101},
        {"description": "x" * 501},
        {"name": None},
        {"role": "admin"},
        {"email": "x@example.com"},
        {"status": "online"},
    ]
    for body in bad:
        resp = await client.patch("/api/v1/me", headers=owner.headers, json=body)
        assert resp.status_code == 422, body
        assert resp.headers["content-type"] == "application/problem+json"
    me = (await client.get("/api/v1/me", headers=owner.headers)).json()
    assert me["name"] == "Olivia" and me["role"] == "owner" and me["avatar_url"] is None
    assert await events(owner.account_id, "auth.agent.updated") == []


async def test_change_email_needs_password(
    client: httpx.AsyncClient, signup: Any, login: Any, events: Any
) -> None:
    owner = await signup()
    new_email = unique_email("new")
    wrong = await client.post(
        "/api/v1/me/email",
        headers=owner.headers,
        json={"new_email": new_email, "password": "wrong password"},
    )
    assert wrong.status_code == 403
    assert wrong.json()["code"] == "wrong_password"
    ok = await client.post(
        "/api/v1/me/email",
        headers=owner.headers,
        json={"new_email": new_email.upper(), "password": PASSWORD},
    )
    assert ok.status_code == 200, ok.text
    assert ok.json()["email"] == new_email
    await login(new_email)
    old = await client.post("/api/v1/auth/login", json={"email": owner.email, "password": PASSWORD})
    assert old.status_code == 401
    assert (await events(owner.account_id, "auth.agent.updated"))[-1]["email"] == new_email


async def test_change_email_to_a_taken_one_is_409(client: httpx.AsyncClient, signup: Any) -> None:
    owner, other = await signup(), await signup()
    resp = await client.post(
        "/api/v1/me/email",
        headers=owner.headers,
        json={"new_email": other.email, "password": PASSWORD},
    )
    assert resp.status_code == 409
    assert resp.json()["code"] == "email_taken"


async def test_chat_status_emits_status_changed(
    client: httpx.AsyncClient, signup: Any, events: Any
) -> None:
    owner = await signup()
    resp = await client.put("/api/v1/me/status", headers=owner.headers, json={"status": "online"})
    assert resp.status_code == 200, resp.text
    assert resp.json()["status"] == "online"
    assert resp.json()["last_seen_at"] is not None
    me = (await client.get("/api/v1/me", headers=owner.headers)).json()
    assert me["status"] == "online"
    await client.put("/api/v1/me/status", headers=owner.headers, json={"status": "away"})
    changed = await events(owner.account_id, "auth.agent.status_changed")
    assert [(c["agent_id"], c["status"]) for c in changed] == [
        (owner.agent_id, "online"),
        (owner.agent_id, "away"),
    ]
    assert changed[0]["last_seen_at"] is not None
    bad = await client.put("/api/v1/me/status", headers=owner.headers, json={"status": "busy"})
    assert bad.status_code == 422


async def test_avatar_upload_and_download(
    storage_backend: StorageBackend,
    client: httpx.AsyncClient,
    signup: Any,
    events: Any,
    settings: Any,
) -> None:
    owner = await signup()
    for fmt, ext, content_type in (
        ("PNG", "png", "image/png"),
        ("JPEG", "jpg", "image/jpeg"),
        ("WEBP", "webp", "image/webp"),
    ):
        resp = await client.post(
            "/api/v1/me/avatar",
            headers=owner.headers,
            files={"file": (f"me.{ext}", image_bytes(fmt, (1200, 800)), content_type)},
        )
        assert resp.status_code == 200, resp.text
        url = resp.json()["avatar_url"]
        assert url.startswith(settings.public_url + "/api/v1/avatars/")
        assert url.endswith("." + ext)
        got = await client.get(url.removeprefix(settings.public_url))
        assert got.status_code == 200
        assert got.headers["content-type"] == content_type
        assert got.headers["x-content-type-options"] == "nosniff"
        with Image.open(io.BytesIO(got.content)) as stored:
            assert stored.format == fmt
            assert max(stored.size) <= 512
        name = url.rsplit("/", 1)[1]
        assert storage_backend.stored(f"avatars/{name}") == got.content
    assert (await events(owner.account_id, "auth.agent.updated"))[-1]["avatar_url"] == url
    resp = await client.delete("/api/v1/me/avatar", headers=owner.headers)
    assert resp.json()["avatar_url"] is None


@pytest.mark.usefixtures("storage_backend")
async def test_avatar_rejects_svg_non_images_and_large_files(
    client: httpx.AsyncClient, signup: Any
) -> None:
    owner = await signup()
    svg = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'
    gif = io.BytesIO()
    Image.new("RGB", (8, 8)).save(gif, format="GIF")
    for name, data, content_type in (
        ("a.svg", svg, "image/svg+xml"),
        ("a.png", svg, "image/png"),
        ("a.gif", gif.getvalue(), "image/gif"),
        ("a.png", b"\x89PNG\r\n\x1a\nbroken", "image/png"),
    ):
        resp = await client.post(
            "/api/v1/me/avatar", headers=owner.headers, files={"file": (name, data, content_type)}
        )
        assert resp.status_code == 422, name
        assert resp.json()["code"] == "invalid_image"
    big = image_bytes("PNG") + b"\0" * (2 * 1024 * 1024)
    resp = await client.post(
        "/api/v1/me/avatar", headers=owner.headers, files={"file": ("big.png", big, "image/png")}
    )
    assert resp.status_code == 413
    me = (await client.get("/api/v1/me", headers=owner.headers)).json()
    assert me["avatar_url"] is None


@pytest.mark.usefixtures("storage_backend")
async def test_avatar_download_only_serves_generated_names(client: httpx.AsyncClient) -> None:
    for name in ("..%2F..%2Fetc%2Fpasswd", "x.svg", "0" * 32 + ".png"):
        resp = await client.get(f"/api/v1/avatars/{name}")
        assert resp.status_code == 404
