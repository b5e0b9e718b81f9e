"""Auth through the gateway: sign up, log in, profile, status, settings, refresh, log out."""

from __future__ import annotations

import io

import httpx
from PIL import Image

from parley_common.e2e import System


async def test_auth_journey_through_the_gateway(system: System, gateway: httpx.AsyncClient) -> None:
    owner = await system.signup(gateway, name="Olivia Owner")
    assert owner["account"]["plan"] == "free"
    email = owner["agent"]["email"]

    login = await gateway.post(
        "/api/v1/auth/login", json={"email": email.upper(), "password": owner["password"]}
    )
    assert login.status_code == 200, login.text
    tokens = login.json()
    headers = {"Authorization": f"Bearer {tokens['access_token']}"}

    me = await gateway.patch(
        "/api/v1/me", headers=headers, json={"name": "Olivia O.", "description": "Support"}
    )
    assert me.status_code == 200, me.text
    assert (await gateway.get("/api/v1/me", headers=headers)).json()["name"] == "Olivia O."

    png = io.BytesIO()
    Image.new("RGB", (32, 32), (0, 120, 200)).save(png, format="PNG")
    avatar = await gateway.post(
        "/api/v1/me/avatar",
        headers=headers,
        files={"file": ("me.png", png.getvalue(), "image/png")},
    )
    assert avatar.status_code == 200, avatar.text
    served = await gateway.get(avatar.json()["avatar_url"].removeprefix(system.url))
    assert served.status_code == 200 and served.headers["content-type"] == "image/png"

    status = await gateway.put("/api/v1/me/status", headers=headers, json={"status": "online"})
    assert status.status_code == 200 and status.json()["status"] == "online"

    design = await gateway.patch(
        "/api/v1/account/settings/design",
        headers=headers,
        json={"color": "#ff6600", "texts": {"welcome": "Hello from e2e"}},
    )
    assert design.status_code == 200, design.text
    general = await gateway.patch(
        "/api/v1/account/settings/general", headers=headers, json={"timezone": "Europe/Prague"}
    )
    assert general.status_code == 200 and general.json()["timezone"] == "Europe/Prague"
    bad = await gateway.patch(
        "/api/v1/account/settings/general", headers=headers, json={"timezone": "Nowhere/Land"}
    )
    assert bad.status_code == 422
    assert bad.headers["content-type"] == "application/problem+json"

    code = (await gateway.get("/api/v1/account/chat-code", headers=headers)).json()
    assert f'src="{system.url}/widget.js"' in code["snippet"]
    assert owner["account"]["widget_key"] in code["snippet"]

    refreshed = await gateway.post(
        "/api/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]}
    )
    assert refreshed.status_code == 200, refreshed.text
    new = refreshed.json()
    stale = await gateway.post(
        "/api/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]}
    )
    assert stale.status_code == 401

    # The reuse above ended that session; the signup session is unaffected and logs out.
    out = await gateway.post("/api/v1/auth/logout", json={"refresh_token": owner["refresh_token"]})
    assert out.status_code == 204
    assert (await gateway.get("/api/v1/me", headers=owner["headers"])).status_code == 401
    reused = {"Authorization": f"Bearer {new['access_token']}"}
    assert (await gateway.get("/api/v1/me", headers=reused)).status_code == 401

    again = await gateway.post(
        "/api/v1/auth/login", json={"email": email, "password": owner["password"]}
    )
    assert again.status_code == 200
    links = await gateway.get("/api/v1/app/links")
    assert links.status_code == 200 and "terms_url" in links.json()
