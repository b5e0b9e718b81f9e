"""Overload through the whole system: nginx in front, with room for two requests per service,
refuses the rest at once (503 problem+json, Retry-After); the visitor's retries with the same
client_message_id land every message exactly once, and the agent's stream sees each once."""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

import orjson

from parley_common.e2e import System
from parley_common.testing import eventually

MESSAGES = 40


async def test_overload_is_refused_at_once_and_retries_land_once(system: System, gateway) -> None:
    owner = await system.signup(gateway)
    visitor = (await system.widget_session(gateway, owner))["headers"]
    first = await gateway.post("/api/v1/widget/messages", headers=visitor, json={"text": "hi"})
    assert first.status_code == 201, first.text
    cid = first.json()["conversation_id"]
    refusals: list[Any] = []
    accepted: dict[str, str] = {}

    async def send(key: str) -> bool:
        resp = await gateway.post(
            "/api/v1/widget/messages",
            headers=visitor,
            json={"text": f"message {key}", "client_message_id": key},
        )
        if resp.status_code == 503:
            refusals.append(resp)
            return False
        assert resp.status_code == 201, resp.text
        accepted[key] = resp.json()["message"]["id"]
        return True

    limits = {"PARLEY_UPSTREAM_IN_FLIGHT": "2"}  # nginx's requests in flight per service
    async with (
        system.reconfigured("nginx", limits),
        system.agent_stream(owner["headers"]) as agent_ws,
    ):
        keys = [f"o-{n}" for n in range(MESSAGES)]
        results = await asyncio.gather(*(send(key) for key in keys))
        assert not all(results), "nothing was refused: the test did not overload the gateway"
        for key in keys:  # the widget's retries, with the same client_message_id
            await eventually(lambda key=key: send(key), timeout=20, interval=0.05)

        streamed: Counter[str] = Counter()

        async def all_streamed() -> bool:
            while len(streamed) < MESSAGES:
                frame = orjson.loads(await agent_ws.recv())
                data = frame.get("data", {})
                if frame.get("event") == "chat.message.created" and data.get("client_message_id"):
                    streamed[data["client_message_id"]] += 1
            return True

        await asyncio.wait_for(all_streamed(), 30)

    for resp in refusals:
        assert resp.headers["content-type"] == "application/problem+json"
        assert resp.headers["retry-after"] == "1"
        assert resp.json()["code"] == "overloaded"
    assert sorted(accepted) == sorted(keys)
    assert set(streamed.values()) == {1}
    page = await gateway.get(
        f"/api/v1/conversations/{cid}/messages", params={"limit": 100}, headers=owner["headers"]
    )
    assert page.status_code == 200, page.text
    stored = Counter(m["client_message_id"] for m in page.json()["items"])
    assert all(stored[key] == 1 for key in keys)
