"""GET /app/…: the agent app's built files (``app/dist``), client routes answered with
index.html. Not in the OpenAPI document: these are web pages, not API operations.

The build is not committed (``make app`` or ``make run`` makes it); without it /app/ answers a
503 problem saying how to build it, never a 500.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, RedirectResponse, Response

from parley_common.errors import problem

router = APIRouter(tags=["web"], include_in_schema=False)

# No inline script or style: Vite emits files only. The stream is a same-origin websocket.
APP_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; "
    "img-src 'self' data: blob:; connect-src 'self'; manifest-src 'self'; worker-src 'self'; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": APP_CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}
# Vite names every asset after its content hash: cached for good. Everything else (the shell,
# the manifest, the service worker) is revalidated on each load.
IMMUTABLE = "public, max-age=31536000, immutable"
REVALIDATE = "no-cache"


def _file_in(dist: Path, path: str) -> Path | None:
    """The built file at ``path`` (relative to dist), or None; never a file outside dist."""
    candidate = (dist / path).resolve()
    if candidate.is_file() and candidate.is_relative_to(dist.resolve()):
        return candidate
    return None


@router.get("/app")
async def app_root() -> Response:
    return RedirectResponse("/app/", status_code=308)


@router.get("/app/{path:path}")
async def app_file(path: str, request: Request) -> Response:
    dist: Path = request.app.state.settings.app_dist_dir
    index = dist / "index.html"
    if not index.is_file():
        return problem(
            503,
            "app_not_built",
            "The agent app is not built",
            "Build it with `make app` (npm ci && npm run build in app/), then reload.",
        )
    found = _file_in(dist, path) if path else None
    if found is None:
        if "." in path.rsplit("/", 1)[-1]:  # a missing file, not a client route
            return problem(404, "not_found", "Not found", "No such file in the agent app.")
        found = index
    cache = IMMUTABLE if path.startswith("assets/") and found != index else REVALIDATE
    headers = {**SECURITY_HEADERS, "Cache-Control": cache}
    if found.name == "sw.js":
        headers["Service-Worker-Allowed"] = "/app/"
    media = "application/manifest+json" if found.suffix == ".webmanifest" else None
    return FileResponse(found, headers=headers, media_type=media)
