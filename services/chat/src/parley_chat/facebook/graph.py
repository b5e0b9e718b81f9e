"""The few Graph API calls the Messenger integration makes (one httpx client per process)."""

from __future__ import annotations

import hashlib
import hmac
import logging
from contextlib import AsyncExitStack
from typing import Annotated, Any

import httpx
from fastapi import Depends, FastAPI, Request

from parley_chat.config import get_chat_settings

log = logging.getLogger("parley.chat.facebook")

SUBSCRIBED_FIELDS = "messages,messaging_postbacks"
# Messenger refuses longer text messages; longer replies go out in several messages.
MAX_TEXT = 2000


class GraphError(Exception):
    """Graph refused a call (``status`` is its HTTP status) or could not be reached (None)."""

    def __init__(self, status: int | None, message: str, code: int | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code

    @property
    def refused(self) -> bool:
        """Graph answered with a client error (bad token, unknown id, outside the window)."""
        return self.status is not None and 400 <= self.status < 500


class GraphAPI:
    def __init__(self, client: httpx.AsyncClient, app_secret: str = "") -> None:
        self.client = client
        self.app_secret = app_secret

    async def call(
        self,
        method: str,
        path: str,
        token: str,
        *,
        params: dict[str, str] | None = None,
        json: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        query = dict(params or {})
        if self.app_secret:
            # appsecret_proof: Graph refuses a stolen token used without our app secret.
            query["appsecret_proof"] = hmac.new(
                self.app_secret.encode(), token.encode(), hashlib.sha256
            ).hexdigest()
        try:
            # The token goes in a header, never in the URL (URLs end up in logs).
            response = await self.client.request(
                method,
                path.lstrip("/"),
                params=query,
                json=json,
                headers={"Authorization": f"Bearer {token}"},
            )
        except httpx.HTTPError as exc:
            raise GraphError(None, "Facebook could not be reached.") from exc
        try:
            body = response.json()
        except ValueError:
            body = {}
        if response.status_code >= 400 or not isinstance(body, dict):
            error = body.get("error") if isinstance(body, dict) else None
            error = error if isinstance(error, dict) else {}
            message = str(error.get("message") or f"Facebook answered {response.status_code}.")
            code = error.get("code")
            raise GraphError(response.status_code, message, code if isinstance(code, int) else None)
        return body

    async def page(self, page_id: str, token: str) -> dict[str, Any]:
        return await self.call("GET", page_id, token, params={"fields": "id,name"})

    async def subscribe(self, page_id: str, token: str) -> None:
        await self.call(
            "POST",
            f"{page_id}/subscribed_apps",
            token,
            params={"subscribed_fields": SUBSCRIBED_FIELDS},
        )

    async def unsubscribe(self, page_id: str, token: str) -> None:
        await self.call("DELETE", f"{page_id}/subscribed_apps", token)

    async def profile(self, psid: str, token: str) -> tuple[str | None, str | None]:
        """The Messenger user's (name, profile picture URL); None where Graph does not tell."""
        try:
            body = await self.call(
                "GET", psid, token, params={"fields": "first_name,last_name,profile_pic"}
            )
        except GraphError as exc:
            log.info("no profile for a Messenger user: %s", exc.message)
            return None, None
        parts = [body.get("first_name"), body.get("last_name")]
        name = " ".join(str(p).strip() for p in parts if isinstance(p, str) and p.strip())
        picture = body.get("profile_pic")
        picture = picture if isinstance(picture, str) and picture.startswith("https://") else None
        return name[:200] or None, picture[:2048] if picture else None

    async def send_text(self, page_id: str, token: str, psid: str, text: str) -> None:
        for start in range(0, len(text), MAX_TEXT):
            await self.call(
                "POST",
                f"{page_id}/messages",
                token,
                json={
                    "recipient": {"id": psid},
                    "messaging_type": "RESPONSE",
                    "message": {"text": text[start : start + MAX_TEXT]},
                },
            )


def graph_client() -> httpx.AsyncClient:
    settings = get_chat_settings()
    return httpx.AsyncClient(
        base_url=settings.facebook_graph_url.rstrip("/") + "/",
        timeout=settings.facebook_timeout_seconds,
    )


async def open_graph(app: FastAPI, stack: AsyncExitStack) -> None:
    """Lifespan hook: the process's Graph client on ``app.state.graph``."""
    client = graph_client()
    stack.push_async_callback(client.aclose)
    app.state.graph = GraphAPI(client, get_chat_settings().facebook_app_secret)


async def get_graph(request: Request) -> GraphAPI:
    graph: GraphAPI = request.app.state.graph
    return graph


GraphDep = Annotated[GraphAPI, Depends(get_graph)]
