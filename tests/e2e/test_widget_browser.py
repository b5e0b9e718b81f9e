"""The chat box in a real browser: the live demo page, the Visitors tab, a chat both ways.

Headless Debian Chromium (`make browser`) driven by Playwright; every process is started like
`make run` and reached through the gateway only. A screenshot of the demo page ends up in
test-artifacts/.
"""

from __future__ import annotations

import asyncio
from typing import Any

from parley_common.browser import ARTIFACTS
from parley_common.e2e import System
from parley_common.testing import eventually


async def _account(system: System, gateway: Any) -> dict[str, Any]:
    owner = await system.signup(gateway)
    code = await gateway.get("/api/v1/account/chat-code", headers=owner["headers"])
    assert code.status_code == 200, code.text
    owner["widget_key"] = code.json()["widget_key"]
    resp = await gateway.put(
        "/api/v1/me/status", json={"status": "online"}, headers=owner["headers"]
    )
    assert resp.status_code == 200, resp.text

    async def widget_ready() -> bool:
        resp = await gateway.get(
            "/api/v1/widget/settings", params={"widget_key": owner["widget_key"]}
        )
        return resp.status_code == 200 and resp.json()["agents_online"]

    await eventually(widget_ready, timeout=20)
    return owner


async def test_demo_page_visitor_shows_up_in_the_visitors_tab(system, gateway, browser_page):
    owner = await _account(system, gateway)
    page = browser_page
    demo = f"{system.url}/demo/{owner['widget_key']}"
    await page.goto(demo)
    await page.wait_for_selector("#parley-chat-box >> .launcher", timeout=15_000)

    async def one_active() -> Any:
        resp = await gateway.get("/api/v1/visitors?state=active", headers=owner["headers"])
        items = resp.json()["items"]
        return items[0] if len(items) == 1 else None

    visitor = await eventually(one_active, timeout=15)
    assert visitor["current_page"]["url"] == demo
    assert visitor["device"]["type"] == "desktop"

    # Single-page-app navigation is a page view too.
    await page.click("header >> text=Menu")

    async def two_pages() -> Any:
        resp = await gateway.get(
            f"/api/v1/visitors/{visitor['id']}/page-views", headers=owner["headers"]
        )
        items = resp.json()["items"]
        return items if len(items) == 2 else None

    views = await eventually(two_pages, timeout=10)
    assert views[0]["url"] == f"{demo}?page=menu"
    assert views[0]["title"].startswith("Our menu")

    resp = await gateway.get("/demo/wk_no_such_key")
    assert resp.status_code == 404
    assert page.errors == []


async def test_chat_from_the_demo_page_both_ways(system, gateway, browser_page):
    owner = await _account(system, gateway)
    headers = owner["headers"]
    page = browser_page
    await page.goto(f"{system.url}/demo/{owner['widget_key']}")
    await page.click("#parley-chat-box >> .launcher", timeout=15_000)
    await page.fill("#parley-chat-box >> textarea", "Do you ship to Prague?")
    await page.keyboard.press("Enter")

    async def conversation() -> Any:
        resp = await gateway.get("/api/v1/conversations?status=open", headers=headers)
        items = resp.json().get("items", []) if resp.status_code == 200 else []
        return items[0] if items else None

    conv = await eventually(conversation, timeout=15)
    resp = await gateway.get(f"/api/v1/conversations/{conv['id']}/messages", headers=headers)
    assert [m["text"] for m in resp.json()["items"]] == ["Do you ship to Prague?"]

    await gateway.post(f"/api/v1/conversations/{conv['id']}/join", headers=headers)
    reply = "Yes! <b>Free</b> shipping <img src=x onerror=alert(1)>"
    resp = await gateway.post(
        f"/api/v1/conversations/{conv['id']}/messages", json={"text": reply}, headers=headers
    )
    assert resp.status_code == 201, resp.text

    agent_text = page.locator("#parley-chat-box >> .msg.agent:not(.welcome) .text")
    await agent_text.wait_for(timeout=15_000)
    assert await agent_text.text_content() == reply  # shown as text, never as HTML
    assert await page.locator("#parley-chat-box >> .log img").count() == 0
    assert await page.locator("#parley-chat-box >> .log b").count() == 0

    await asyncio.sleep(0.2)
    ARTIFACTS.mkdir(exist_ok=True)
    await page.screenshot(path=str(ARTIFACTS / "widget-demo-chat.png"))
    assert page.errors == []


async def test_a_refused_send_is_retried_by_the_chat_box(system, gateway, browser_page):
    """The gateway's 503 + Retry-After (played here for the first send only) makes the chat box
    send again by itself with the same client_message_id; the message is stored once."""
    owner = await _account(system, gateway)
    page = browser_page
    sends: list[str] = []

    async def refuse_first(route: Any) -> None:
        sends.append(route.request.post_data_json["client_message_id"])
        if len(sends) == 1:
            await route.fulfill(
                status=503,
                headers={"Retry-After": "1", "Access-Control-Allow-Origin": "*"},
                content_type="application/problem+json",
                body='{"status": 503, "code": "overloaded", "title": "Service overloaded"}',
            )
        else:
            await route.continue_()

    await page.route("**/api/v1/widget/messages", refuse_first)
    await page.goto(f"{system.url}/demo/{owner['widget_key']}")
    await page.click("#parley-chat-box >> .launcher", timeout=15_000)
    await page.fill("#parley-chat-box >> textarea", "Anyone there?")
    await page.keyboard.press("Enter")
    await page.locator("#parley-chat-box >> .msg.visitor:not(.pending)").wait_for(timeout=15_000)

    async def stored() -> Any:
        resp = await gateway.get("/api/v1/conversations?status=open", headers=owner["headers"])
        items = resp.json().get("items", []) if resp.status_code == 200 else []
        return items[0] if items else None

    conv = await eventually(stored, timeout=15)
    resp = await gateway.get(
        f"/api/v1/conversations/{conv['id']}/messages", headers=owner["headers"]
    )
    assert [m["text"] for m in resp.json()["items"]] == ["Anyone there?"]
    assert len(sends) == 2 and sends[0] == sends[1]  # one retry, the same client_message_id
    assert await page.locator("#parley-chat-box >> .msg.failed").count() == 0


async def test_chat_box_switches_to_the_contact_form_when_nobody_is_online(
    system, gateway, browser_page
):
    owner = await _account(system, gateway)
    headers = owner["headers"]
    page = browser_page
    await page.goto(f"{system.url}/demo/{owner['widget_key']}")
    await page.click("#parley-chat-box >> .launcher", timeout=15_000)
    compose = page.locator("#parley-chat-box >> textarea").first
    form = page.locator("#parley-chat-box >> .extra form")
    await compose.wait_for(state="visible", timeout=15_000)
    assert await form.count() == 0

    resp = await gateway.put("/api/v1/me/status", json={"status": "offline"}, headers=headers)
    assert resp.status_code == 200, resp.text
    await form.wait_for(state="visible", timeout=15_000)  # live, without a reload
    assert await form.locator("input[type=email]").count() == 1
    assert not await page.locator("#parley-chat-box >> .chat").is_visible()

    resp = await gateway.put("/api/v1/me/status", json={"status": "online"}, headers=headers)
    assert resp.status_code == 200, resp.text
    await form.wait_for(state="detached", timeout=15_000)
    assert await page.locator("#parley-chat-box >> .chat").is_visible()
    assert page.errors == []
