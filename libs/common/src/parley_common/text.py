"""The one string type for text a client sends, and the edge check that keeps NUL out.

PostgreSQL refuses a NUL in text (asyncpg raises, the request became a 500), and other control
characters in a name or a key are never meant. So every request field that is text is one of:

- ``Text``: one line: no control characters at all (C0, DEL, C1) and no NUL;
- ``MultilineText``: messages and other free text: line breaks (``\\n``, ``\\r``) and tab allowed;

with ``Field(max_length=...)`` (and ``min_length``) at the field, as before. Both strip nothing;
a model that strips (``str_strip_whitespace``) still does.

``NulGuardMiddleware`` is the fallback at every service's edge: a JSON body holding an escaped
NUL (``\\u0000``) anywhere, or a query string or path holding ``%00``, is a 422 before any route
runs, so the next field someone forgets to type cannot bring the 500 back.
"""

from __future__ import annotations

import re
from typing import Annotated

from fastapi.responses import Response
from pydantic import AfterValidator
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from parley_common.errors import problem

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_CONTROL_MULTILINE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def _single_line(value: str) -> str:
    if _CONTROL.search(value):
        raise ValueError("control characters are not allowed")
    return value


def _multiline(value: str) -> str:
    if _CONTROL_MULTILINE.search(value):
        raise ValueError("control characters other than line breaks and tab are not allowed")
    return value


Text = Annotated[str, AfterValidator(_single_line)]
MultilineText = Annotated[str, AfterValidator(_multiline)]

_ESCAPED_NUL = re.compile(rb"(\\+)u0000")


def json_has_nul(body: bytes) -> bool:
    """True when a JSON document holds a NUL: an escape ``\\u0000`` (not an escaped backslash
    followed by ``u0000``) or a raw NUL byte."""
    if b"\x00" in body:
        return True
    if b"u0000" not in body:
        return False
    return any(len(m.group(1)) % 2 == 1 for m in _ESCAPED_NUL.finditer(body))


def _nul_problem() -> Response:
    return problem(
        422,
        "validation_error",
        "Invalid request",
        "request: NUL characters are not allowed",
        errors=[{"loc": ["request"], "msg": "NUL characters are not allowed", "code": "nul"}],
    )


class NulGuardMiddleware:
    """Refuses a NUL in the query string, the path or a JSON body (see the module docstring)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if b"%00" in scope.get("query_string", b"") or "\x00" in scope["path"]:
            await _nul_problem()(scope, receive, send)
            return
        content_type = b""
        for name, value in scope["headers"]:
            if name == b"content-type":
                content_type = value
                break
        if b"json" not in content_type:
            await self.app(scope, receive, send)
            return
        messages: list[Message] = []
        chunks: list[bytes] = []
        while True:
            message = await receive()
            messages.append(message)
            if message["type"] != "http.request":
                break
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                break
        if json_has_nul(b"".join(chunks)):
            await _nul_problem()(scope, receive, send)
            return
        pending = iter(messages)

        async def replay() -> Message:
            return next(pending, None) or await receive()

        await self.app(scope, replay, send)
