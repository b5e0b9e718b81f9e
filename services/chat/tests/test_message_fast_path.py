"""The visitor's message answered below FastAPI's machinery (parley_common.fastpath) answers
exactly as FastAPI's route does: the same requests against the app with and without the layer."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest_asyncio

from parley_chat.app import app, create_app
from parley_common.security import current_visitor

from .conftest import make_visitor

PATH = "/api/v1/widget/messages"
# Headers whose values must match; the rest (date, server) are the transport's.
COMPARED = (
    "content-type",
    "content-length",
    "www-authenticate",
    "retry-after",
    "x-request-id",
    "x-parley-route",
)


@pytest_asyncio.fixture
async def route_client(service_client: Callable[[Any], Any]) -> AsyncIterator[httpx.AsyncClient]:
    """The same service without the fast path: FastAPI's route answers the message."""
    async with service_client(create_app(fast_path=False)) as c:
        yield c


def answer(response: httpx.Response) -> tuple[int, dict[str, str], bytes]:
    headers = {name: response.headers[name] for name in COMPARED if name in response.headers}
    return response.status_code, headers, response.content


async def both(
    fast: httpx.AsyncClient, route: httpx.AsyncClient, **request: Any
) -> tuple[int, dict[str, str], bytes]:
    """One request to each app (the same request id, so problem bodies are comparable)."""
    headers = {"X-Request-ID": uuid.uuid4().hex, **request.pop("headers", {})}
    via_fast = answer(await fast.post(PATH, headers=headers, **request))
    via_route = answer(await route.post(PATH, headers=headers, **request))
    assert via_fast == via_route
    return via_fast


async def test_the_message_skips_fastapis_dependencies(client, visitor):
    """Fails without the layer: the route's visitor dependency is never solved."""

    async def refuse() -> None:
        raise AssertionError("FastAPI's route answered the visitor's message")

    app.dependency_overrides[current_visitor] = refuse
    try:
        response = await client.post(PATH, headers=visitor.headers, json={"text": "hi"})
    finally:
        app.dependency_overrides.pop(current_visitor)
    assert response.status_code == 201, response.text
    assert response.headers["x-parley-route"] == PATH  # the metric's label is the route's


async def test_a_message_and_its_retry_answer_alike(client, route_client, visitor):
    headers = {"X-Request-ID": "r-1", **visitor.headers}
    # Written through the fast path, retried through the route: the route's answer for the
    # same message is the fast path's, byte for byte.
    body = {"text": "Hello, is shipping free? ünïcode\nsecond line", "client_message_id": "c-1"}
    first = answer(await client.post(PATH, headers=headers, json=body))
    assert first[0] == 201, first
    assert answer(await route_client.post(PATH, headers=headers, json=body)) == first
    # And the other way round: written through the route, retried through the fast path.
    body = {"text": "and returns?", "client_message_id": "c-2"}
    second = answer(await route_client.post(PATH, headers=headers, json=body))
    assert second[0] == 201, second
    assert answer(await client.post(PATH, headers=headers, json=body)) == second
    assert second[2] != first[2]


async def test_bad_bodies_answer_alike(client, route_client, visitor):
    token = visitor.headers
    json_type = {"Content-Type": "application/json", **token}
    cases: list[tuple[int, dict[str, Any]]] = [
        (422, {"json": {"text": ""}}),  # empty: the service's empty_message
        (422, {"json": {"text": "   "}}),
        (422, {"json": {"text": "x" * 10_001}}),  # too long for the model
        (422, {"json": {"text": 5}}),  # a wrong type
        (422, {"json": {"text": "x", "attachment_ids": ["nope"]}}),
        (422, {"json": {"text": "x", "html": "<b>"}}),  # an unknown field
        (422, {"json": {"text": "x", "client_message_id": ""}}),
        (422, {"json": {"text": "x\u0000"}}),  # the NUL guard's
        (422, {"json": ["text"]}),
        (422, {"content": b'{"text": "x"', "headers": json_type}),  # malformed JSON
        (422, {"content": b"", "headers": json_type}),
        (422, {"content": b'{"text": "x"}', "headers": {"Content-Type": "text/plain", **token}}),
        (422, {"content": b'{"text": "x"}', "headers": token}),  # no content type
    ]
    for status, request in cases:
        request.setdefault("headers", token)
        assert (await both(client, route_client, **request))[0] == status, request


async def test_bad_tokens_answer_alike(client, route_client, visitor, agent):
    other_key = {"Authorization": "Bearer not-a-token"}
    for headers in ({}, other_key, agent.headers, {"Authorization": "Basic x"}):
        assert (await both(client, route_client, headers=headers, json={"text": "x"}))[0] == 401
        # FastAPI reads the JSON before it checks the token, and the token before the model.
        malformed = {"Content-Type": "application/json", **headers}
        assert (await both(client, route_client, headers=malformed, content=b"{"))[0] == 422
        assert (await both(client, route_client, headers=headers, json={"text": 5}))[0] == 401


async def test_a_blocked_visitor_answers_alike(client, route_client, agent, feed):
    visitor = make_visitor(agent.account_id)
    await feed(
        "visitors.visitor.blocked", visitor.account_id, {"visitor_id": str(visitor.visitor_id)}
    )
    status, _, body = await both(client, route_client, headers=visitor.headers, json={"text": "x"})
    assert status == 403 and b"visitor_blocked" in body
    # The content is checked first, the same way on both.
    assert (await both(client, route_client, headers=visitor.headers, json={"text": ""}))[0] == 422
