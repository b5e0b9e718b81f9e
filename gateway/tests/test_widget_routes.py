"""The chat box script and the demo page, served by the gateway app itself."""

from __future__ import annotations

import gzip

from parley_common.testing import free_port
from parley_gateway.app import app, create_app
from parley_gateway.config import GatewaySettings
from parley_gateway.widget.routes import WIDGET_JS


async def test_widget_js_is_served_compressed_and_cacheable(service_client):
    async with service_client(app) as client:
        resp = await client.get("/widget.js", headers={"accept-encoding": "identity"})
        assert resp.status_code == 200
        assert resp.headers["content-type"].startswith("text/javascript")  # RFC 9239
        assert resp.content == WIDGET_JS
        assert resp.headers["x-content-type-options"] == "nosniff"
        assert b"innerHTML" not in WIDGET_JS  # text only ever goes in via textContent
        etag = resp.headers["etag"]
        resp = await client.get("/widget.js", headers={"if-none-match": etag})
        assert resp.status_code == 304
        resp = await client.get("/widget.js", headers={"accept-encoding": "gzip"})
        assert resp.headers["content-encoding"] == "gzip"
        assert len(gzip.compress(WIDGET_JS)) < 10_000


async def test_demo_page_embeds_the_key_and_refuses_bad_keys(service_client):
    # No visitors service behind it (a `make run` may hold the default port on this machine).
    dead = GatewaySettings(visitors_url=f"http://127.0.0.1:{free_port()}")
    async with service_client(create_app(dead)) as client:
        resp = await client.get("/demo/wk_abc-123")
        assert resp.status_code == 200  # visitors is not running here: served anyway
        assert 'data-widget-key="wk_abc-123"' in resp.text
        assert '<script src="/widget.js"' in resp.text
        assert resp.headers["x-content-type-options"] == "nosniff"
        csp = resp.headers["content-security-policy"]
        assert "default-src 'self'" in csp and "object-src 'none'" in csp
        assert "'unsafe-inline'" not in csp.split("script-src")[1].split(";")[0]
        resp = await client.get('/demo/bad"key<script>')
        assert resp.status_code == 404
        assert "<script>alert" not in resp.text
