"""/app/: the agent app's build served by the gateway, or a 503 problem when it is missing."""

from __future__ import annotations

from parley_gateway.app import create_app
from parley_gateway.config import GatewaySettings


async def test_without_a_build_app_is_a_503_problem(service_client, tmp_path):
    async with service_client(create_app(GatewaySettings(app_dist_dir=tmp_path))) as client:
        resp = await client.get("/app/")
        assert resp.status_code == 503
        assert resp.headers["content-type"] == "application/problem+json"
        assert resp.json()["code"] == "app_not_built"
        assert "make app" in resp.json()["detail"]


async def test_the_build_is_served_with_client_routes_and_a_csp(service_client, tmp_path):
    (tmp_path / "assets").mkdir()
    (tmp_path / "index.html").write_text("<!doctype html><title>Parley</title>")
    (tmp_path / "assets" / "index-abc.js").write_text("console.log(1)")
    (tmp_path / "manifest.webmanifest").write_text("{}")
    (tmp_path.parent / "secret.txt").write_text("no")
    async with service_client(create_app(GatewaySettings(app_dist_dir=tmp_path))) as client:
        resp = await client.get("/app", follow_redirects=False)
        assert resp.status_code == 308 and resp.headers["location"] == "/app/"
        for path in ("/app/", "/app/conversations/123", "/app/settings/design"):
            resp = await client.get(path)
            assert resp.status_code == 200 and "<title>Parley</title>" in resp.text, path
            assert resp.headers["cache-control"] == "no-cache"
            csp = resp.headers["content-security-policy"]
            assert "script-src 'self';" in csp and "frame-ancestors 'none'" in csp
            assert "unsafe-inline" not in csp
            assert resp.headers["x-content-type-options"] == "nosniff"
        resp = await client.get("/app/assets/index-abc.js")
        assert resp.text == "console.log(1)"
        assert "immutable" in resp.headers["cache-control"]
        resp = await client.get("/app/manifest.webmanifest")
        assert resp.headers["content-type"] == "application/manifest+json"
        resp = await client.get("/app/assets/missing.js")  # a missing file is not the shell
        assert resp.status_code == 404
        assert resp.headers["content-type"] == "application/problem+json"
        resp = await client.get("/app/..%2fsecret.txt")
        assert resp.status_code in (400, 404) and "no" != resp.text
