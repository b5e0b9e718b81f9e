"""A local HTTP server standing in for Facebook's Graph API (the calls Messenger needs).

It knows pages (id → token, name) and Messenger users (PSID → name), checks the bearer token
like Graph does (OAuthException 190), records every request, and answers an error a test asks
for with ``fail(method, path, status, message)``.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import socket
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

VERSION = "v21.0"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def sign(secret: str, body: bytes) -> str:
    """The X-Hub-Signature-256 header Facebook sends with a webhook call."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def message_event(page_id: str, psid: str, mid: str, text: str | None, **message: Any) -> bytes:
    """A Messenger webhook body with one user message."""
    body = {"mid": mid, **({"text": text} if text is not None else {}), **message}
    return json.dumps(
        {
            "object": "page",
            "entry": [
                {
                    "id": page_id,
                    "time": 1_700_000_000_000,
                    "messaging": [
                        {
                            "sender": {"id": psid},
                            "recipient": {"id": page_id},
                            "timestamp": 1_700_000_000_000,
                            "message": body,
                        }
                    ],
                }
            ],
        }
    ).encode()


@dataclass
class Recorded:
    method: str
    path: str  # without the version prefix, e.g. "/123/messages"
    query: dict[str, str]
    headers: dict[str, str]
    json: Any


@dataclass
class GraphServer:
    app_secret: str = "graph-test-app-secret"
    pages: dict[str, tuple[str, str]] = field(default_factory=dict)  # page id → (token, name)
    profiles: dict[str, tuple[str, str]] = field(default_factory=dict)  # psid → (first, last)
    requests: list[Recorded] = field(default_factory=list)
    subscribed: set[str] = field(default_factory=set)
    failures: dict[tuple[str, str], tuple[int, str]] = field(default_factory=dict)
    port: int = 0
    _runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/{VERSION}"

    def fail(self, method: str, path: str, status: int, message: str, code: int = 100) -> None:
        self.failures[(method, path)] = (status, json.dumps({"code": code, "message": message}))

    def calls(self, method: str, path: str) -> list[Recorded]:
        return [r for r in self.requests if r.method == method and r.path == path]

    def sent_messages(self, page_id: str) -> list[Any]:
        return [r.json for r in self.calls("POST", f"/{page_id}/messages")]

    async def start(self) -> GraphServer:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self.handle)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        self.port = free_port()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()
        return self

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    # --- Graph ---------------------------------------------------------------------------
    async def handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        path = request.path.removeprefix(f"/{VERSION}")
        self.requests.append(
            Recorded(
                request.method,
                path,
                dict(request.query),
                dict(request.headers),
                json.loads(body) if body else None,
            )
        )
        if not request.path.startswith(f"/{VERSION}/"):
            return self.error(400, "Unknown path components", 2500)
        failure = self.failures.get((request.method, path))
        if failure is not None:
            status, error = failure
            return web.json_response(
                {"error": {**json.loads(error), "type": "GraphMethodException"}}, status=status
            )
        token = request.headers.get("Authorization", "").removeprefix("Bearer ")
        parts = path.strip("/").split("/")
        page = next((pid for pid, (tok, _) in self.pages.items() if tok == token), None)
        if page is None:
            return self.error(400, "Invalid OAuth access token.", 190, "OAuthException")
        if request.query.get("appsecret_proof") != self.proof(token):
            return self.error(400, "Invalid appsecret_proof provided in the API argument", 100)
        return self.route(request.method, parts, page, request)

    def route(self, method: str, parts: list[str], page: str, request: web.Request) -> web.Response:
        if method == "GET" and len(parts) == 1 and parts[0] == page:
            return web.json_response({"id": page, "name": self.pages[page][1]})
        if len(parts) == 2 and parts == [page, "subscribed_apps"]:
            if method == "POST":
                self.subscribed.add(page)
            elif method == "DELETE":
                self.subscribed.discard(page)
            return web.json_response({"success": True})
        if method == "GET" and len(parts) == 1 and parts[0] in self.profiles:
            first, last = self.profiles[parts[0]]
            picture = f"https://graph.example/pics/{parts[0]}.jpg"
            return web.json_response(
                {"first_name": first, "last_name": last, "id": parts[0], "profile_pic": picture}
            )
        if method == "POST" and parts in ([page, "messages"], ["me", "messages"]):
            message = self.requests[-1].json or {}
            return web.json_response(
                {"recipient_id": message.get("recipient", {}).get("id"), "message_id": "m_sent"}
            )
        return self.error(400, "Unsupported get request.", 100, "GraphMethodException")

    def proof(self, token: str) -> str:
        return hmac.new(self.app_secret.encode(), token.encode(), hashlib.sha256).hexdigest()

    @staticmethod
    def error(status: int, message: str, code: int, kind: str = "OAuthException") -> web.Response:
        return web.json_response(
            {"error": {"message": message, "type": kind, "code": code, "fbtrace_id": "AbC"}},
            status=status,
        )
