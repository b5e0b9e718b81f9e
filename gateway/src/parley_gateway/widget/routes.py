"""The chat box script and the live demo page, served by the gateway."""

from __future__ import annotations

import base64
import gzip
import hashlib
import html
import re
from pathlib import Path

import aiohttp
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

HERE = Path(__file__).parent
WIDGET_JS = (HERE / "static" / "widget.js").read_bytes()
WIDGET_JS_GZIP = gzip.compress(WIDGET_JS, 9)
WIDGET_ETAG = '"' + hashlib.sha256(WIDGET_JS).hexdigest()[:16] + '"'
DEMO_TEMPLATE = (HERE / "templates" / "demo.html").read_text()
WIDGET_KEY = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


def _script_hashes(page: str) -> str:
    """CSP sources for the page's own inline scripts (and nothing else inline)."""
    scripts = re.findall(r"<script>(.*?)</script>", page, flags=re.S)
    digests = (base64.b64encode(hashlib.sha256(s.encode()).digest()).decode() for s in scripts)
    return " ".join(f"'sha256-{d}'" for d in digests)


# The demo page runs its own inline script (by hash) and /widget.js; the chat box styles its
# shadow DOM with a <style> element, hence 'unsafe-inline' for styles only.
DEMO_CSP = (
    "default-src 'self'; "
    f"script-src 'self' {_script_hashes(DEMO_TEMPLATE)}; "
    "style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data: https:; "
    "connect-src 'self'; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'self'"
)

router = APIRouter(tags=["web"])

NOT_FOUND_PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>Chat box not found</title></head><body><h1>Chat box not found</h1>
<p>No account has this widget key. Copy the chat code from the app's account settings.</p>
</body></html>"""


@router.get(
    "/widget.js",
    response_class=Response,
    responses={
        200: {
            "content": {"text/javascript": {"schema": {"type": "string"}}},
            "description": "The chat box script",
        }
    },
)
async def widget_js(request: Request) -> Response:
    """The chat box for websites: `<script src=".../widget.js" data-widget-key="KEY" async>`."""
    headers = {
        "ETag": WIDGET_ETAG,
        "Cache-Control": "public, max-age=300",
        "Vary": "Accept-Encoding",
        "Access-Control-Allow-Origin": "*",
        "X-Content-Type-Options": "nosniff",
    }
    if request.headers.get("if-none-match") == WIDGET_ETAG:
        return Response(status_code=304, headers=headers)
    body = WIDGET_JS
    if "gzip" in request.headers.get("accept-encoding", ""):
        body, headers["Content-Encoding"] = WIDGET_JS_GZIP, "gzip"
    return Response(body, media_type="text/javascript; charset=utf-8", headers=headers)


async def _widget_key_known(request: Request, widget_key: str) -> bool | None:
    """Ask the visitors service; None when it cannot answer (the page is served anyway)."""
    http: aiohttp.ClientSession | None = getattr(request.app.state, "http", None)
    if http is None:
        return None
    url = request.app.state.settings.service_url("visitors") + "/api/v1/widget/settings"
    try:
        async with http.get(
            url, params={"widget_key": widget_key}, timeout=aiohttp.ClientTimeout(total=3)
        ) as resp:
            if resp.status == 404:
                return False
            return True if resp.status == 200 else None
    except (aiohttp.ClientError, TimeoutError):
        return None


@router.get(
    "/demo/{widget_key}",
    response_class=HTMLResponse,
    responses={404: {"content": {"text/html": {}}, "description": "Unknown widget key"}},
)
async def demo_page(widget_key: str, request: Request) -> HTMLResponse:
    """The live demo: a plain sample website with the account's chat box."""
    if not WIDGET_KEY.match(widget_key) or await _widget_key_known(request, widget_key) is False:
        return HTMLResponse(NOT_FOUND_PAGE, status_code=404)
    page = DEMO_TEMPLATE.replace("{script_src}", "/widget.js").replace(
        "{widget_key}", html.escape(widget_key, quote=True)
    )
    return HTMLResponse(
        page,
        headers={
            "Cache-Control": "no-store",
            "X-Frame-Options": "SAMEORIGIN",
            "Referrer-Policy": "strict-origin-when-cross-origin",
            "Content-Security-Policy": DEMO_CSP,
            "X-Content-Type-Options": "nosniff",
        },
    )
