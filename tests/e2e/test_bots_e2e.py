"""Bots through the gateway: an admin sets a bot up, a visitor opens the chat box, and the
bot's message lands in the visitor's conversation (bots → chat over RabbitMQ)."""

from __future__ import annotations

from typing import Any

import httpx

from parley_common.e2e import System
from parley_common.testing import eventually

SHOP = "https://shop.example"


async def visitor_session(
    system: System, gateway: httpx.AsyncClient, owner: dict[str, Any], url: str
) -> dict[str, str]:
    """The visitor's headers, once visitors has seen the new account (it learns of it from
    auth's event: a chat box opened in the same instant as the signup waits for it)."""
    session = await system.widget_session(gateway, owner, url, title="Shop")
    headers: dict[str, str] = session["headers"]
    return headers


def conversation_texts(gateway: httpx.AsyncClient, visitor: dict[str, str], *wanted: str) -> Any:
    async def check() -> list[dict[str, Any]] | None:
        resp = await gateway.get("/api/v1/widget/conversation", headers=visitor)
        if resp.status_code != 200:
            return None
        messages: list[dict[str, Any]] = resp.json()["messages"]
        texts = [m["text"] for m in messages]
        return messages if all(w in texts for w in wanted) else None

    return check


async def test_automatic_message_reaches_the_visitor(system: System, gateway) -> None:
    owner = await system.signup(gateway)
    resp = await gateway.post(
        "/api/v1/automatic-messages",
        headers=owner["headers"],
        json={
            "name": "Welcome",
            "trigger": {"type": "visitor_arrived"},
            "message": "Hi! Ask us anything.",
        },
    )
    assert resp.status_code == 201, resp.text
    bot_id = resp.json()["id"]
    listed = await gateway.get("/api/v1/automatic-messages", headers=owner["headers"])
    assert [i["id"] for i in listed.json()["items"]] == [bot_id]

    visitor = await visitor_session(system, gateway, owner, f"{SHOP}/")
    messages = await eventually(
        conversation_texts(gateway, visitor, "Hi! Ask us anything."), timeout=20
    )
    [bot_message] = [m for m in messages if m["text"] == "Hi! Ask us anything."]
    assert bot_message["author_type"] == "bot"

    # Another account cannot see or touch the bot.
    stranger = await system.signup(gateway)
    resp = await gateway.get(f"/api/v1/automatic-messages/{bot_id}", headers=stranger["headers"])
    assert resp.status_code == 404
    assert resp.json()["code"] == "automatic_message_not_found"


async def test_chatbot_follows_the_visitors_quick_reply(system: System, gateway) -> None:
    owner = await system.signup(gateway)
    resp = await gateway.post(
        "/api/v1/chatbots",
        headers=owner["headers"],
        json={
            "name": "Pricing helper",
            "trigger": {"type": "page_url", "url_contains": "/pricing"},
            "steps": [
                {
                    "id": "start",
                    "message": "Looking for a plan?",
                    "buttons": [{"label": "Yes", "next": "plans"}, {"label": "No", "next": "end"}],
                },
                {"id": "plans", "message": "Our Pro plan fits most shops.", "goal": True},
            ],
        },
    )
    assert resp.status_code == 201, resp.text
    # The free plan allows one active chatbot.
    second = await gateway.post(
        "/api/v1/chatbots",
        headers=owner["headers"],
        json={
            "name": "Another",
            "trigger": {"type": "visitor_arrived"},
            "steps": [{"id": "hi", "message": "Hi"}],
        },
    )
    assert second.status_code == 403 and second.json()["code"] == "plan_limit_reached"

    visitor = await visitor_session(system, gateway, owner, f"{SHOP}/")
    resp = await gateway.post(
        "/api/v1/widget/page-views",
        headers=visitor,
        json={"url": f"{SHOP}/pricing", "title": "Pricing"},
    )
    assert resp.status_code == 204, resp.text
    await eventually(conversation_texts(gateway, visitor, "Looking for a plan?"), timeout=20)

    resp = await gateway.post("/api/v1/widget/messages", headers=visitor, json={"text": "yes"})
    assert resp.status_code == 201, resp.text
    await eventually(
        conversation_texts(gateway, visitor, "Our Pro plan fits most shops."), timeout=20
    )

    stats = (await gateway.get("/api/v1/stats/chatbots", headers=owner["headers"])).json()
    assert stats["active_chatbots"] == 1
    assert (stats["triggered"], stats["replied"], stats["converted"]) == (1, 1, 1)
