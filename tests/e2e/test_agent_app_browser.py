"""The agent app (/app/) in Debian's Chromium at an iPhone's viewport, against every process
started like `make run` and reached through the gateway only (one System for the module).

A visitor on the demo page and an agent in the app chat both ways; the agent going offline
turns the chat box into the contact form; the agent's socket drops while messages arrive and
the app catches up with none twice (resuming with since/epoch, or refetching after a `reset`
when the replay window is lost); every screen shows real data, passes axe-core with no
serious or critical violation and leaves a screenshot in test-artifacts/.
"""

from __future__ import annotations

import json
import re
import uuid
from typing import Any

import pytest

from parley_common.browser import ARTIFACTS, PHONE, open_page
from parley_common.e2e import ROOT, System
from parley_common.testing import eventually

AXE = ROOT / "app" / "node_modules" / "axe-core" / "axe.min.js"
PASSWORD = "correct horse battery"


@pytest.fixture(autouse=True)
async def app_built(gateway: Any) -> None:
    resp = await gateway.get("/app/")
    assert resp.status_code == 200, f"the agent app is not built: run `make app` ({resp.text})"


async def log_in(page: Any, system: System, owner: dict[str, Any]) -> None:
    await page.goto(f"{system.url}/app/")
    await page.get_by_label("E-mail").fill(owner["agent"]["email"])
    await page.get_by_label("Password").fill(owner["password"])
    await page.get_by_role("button", name="Log in").click()
    await live(page)


async def live(page: Any) -> None:
    await page.locator(".live.on").wait_for(timeout=20_000)


async def set_status(page: Any, status: str) -> None:
    await page.get_by_label("Chat status").select_option(status)


async def session_headers(page: Any) -> dict[str, str]:
    session = json.loads(await page.evaluate("localStorage.getItem('parley.session')"))
    return {"Authorization": f"Bearer {session['access_token']}"}


async def agents_online(gateway: Any, widget_key: str, expected: bool) -> None:
    async def check() -> bool:
        resp = await gateway.get("/api/v1/widget/settings", params={"widget_key": widget_key})
        return resp.status_code == 200 and resp.json()["agents_online"] is expected

    await eventually(check, timeout=20)


async def texts(page: Any, selector: str) -> list[str]:
    return [t.strip() for t in await page.locator(selector).all_text_contents()]


async def test_sign_up_open_the_demo_from_the_app_and_chat_both_ways(
    system, gateway, chromium, phone_page
):
    agent = phone_page
    await agent.goto(f"{system.url}/app/")
    await agent.get_by_role("link", name="Sign up for free").click()
    await agent.get_by_label("Your name").fill("Olivia Owner")
    await agent.get_by_label("E-mail").fill(f"olivia-{uuid.uuid4().hex[:8]}@example.com")
    await agent.get_by_label("Password").fill(PASSWORD)
    await agent.get_by_role("button", name="Sign up").click()
    await live(agent)
    await set_status(agent, "online")
    headers = await session_headers(agent)
    shortcut = await gateway.post(
        "/api/v1/shortcuts",
        json={"name": "ship", "text": "We ship within 2 days."},
        headers=headers,
    )
    assert shortcut.status_code == 201, shortcut.text

    # The live demo, opened from the app's chat code screen.
    await agent.get_by_role("link", name="Settings", exact=True).click()
    await agent.get_by_role("link", name="Chat code & live demo").click()
    demo = await agent.get_by_role("link", name="Open the live demo").get_attribute("href")
    widget_key = demo.rsplit("/", 1)[-1]
    await agents_online(gateway, widget_key, True)
    visitor = await open_page(chromium, **PHONE)
    await visitor.goto(system.url + demo)
    await visitor.click("#parley-chat-box >> .launcher", timeout=15_000)
    hostile = "Hi <img src=x onerror=alert(1)> <b>bold</b>"
    await visitor.fill("#parley-chat-box >> textarea", hostile)
    await visitor.keyboard.press("Enter")

    # Live in the list, with its unread badge, without a reload.
    await agent.get_by_role("link", name=re.compile("^Conversations")).click()
    row = agent.locator(".rows li.unread", has_text=hostile)
    await row.wait_for(timeout=15_000)
    assert await row.locator(".badge").text_content() == "1"
    await row.click()
    await agent.get_by_role("button", name="Join the conversation").click()
    first = agent.locator(".msg.visitor .text").first
    assert await first.text_content() == hostile  # text, never HTML
    assert await agent.locator(".log img, .log b").count() == 0

    # Typing both ways.
    # (Both sides send at most one typing frame per 2 s: keep typing until it shows.)
    async def visitor_typing_seen() -> bool:
        await visitor.type("#parley-chat-box >> textarea", "a")
        return await agent.get_by_text("Visitor is typing…").is_visible()

    async def agent_typing_seen() -> bool:
        await agent.locator("#compose").type("a")
        return await visitor.locator("#parley-chat-box >> .typing", has_text="typing").is_visible()

    await eventually(visitor_typing_seen, timeout=15, interval=0.3)
    await eventually(agent_typing_seen, timeout=15, interval=0.3)

    # A shortcut, a file, a reply the visitor sees; an internal note it never sees.
    await agent.locator("#compose").fill("")
    await agent.get_by_role("button", name="Insert a shortcut").click()
    await agent.locator(".shortcuts button", has_text="/ship").click()
    assert await agent.locator("#compose").input_value() == "We ship within 2 days."
    await agent.locator(".composer input[type=file]").set_input_files(
        files=[{"name": "menu.txt", "mimeType": "text/plain", "buffer": b"espresso 2 EUR"}]
    )
    await agent.get_by_text("Attached: menu.txt").wait_for()
    await agent.get_by_role("button", name="Send").click()
    await agent.locator(".msg.agent .attachment", has_text="menu.txt").wait_for(timeout=10_000)
    reply = visitor.locator("#parley-chat-box >> .msg.agent:not(.welcome)", has_text="2 days")
    await reply.wait_for(timeout=15_000)
    await agent.get_by_label("Note").check()
    await agent.locator("#compose").fill("Internal: VIP customer")
    await agent.keyboard.press("Enter")
    await agent.locator(".msg.note", has_text="VIP customer").wait_for(timeout=10_000)

    await visitor.fill("#parley-chat-box >> textarea", "Great, thanks!")
    await visitor.keyboard.press("Enter")
    await agent.locator(".msg.visitor", has_text="Great, thanks!").wait_for(timeout=15_000)
    assert await texts(agent, ".msg.visitor .text") == [hostile, "Great, thanks!"]
    assert "VIP customer" not in await visitor.locator("#parley-chat-box >> .log").inner_text()
    await agent.screenshot(path=str(ARTIFACTS / "app-chat.png"))

    # Resolve, find it in Resolved, reopen.
    await agent.get_by_role("button", name="Resolve ✓").click()
    await agent.get_by_role("button", name="Reopen").wait_for(timeout=10_000)
    await agent.get_by_role("link", name="Back").click()
    await agent.get_by_role("link", name="Resolved ✓").click()
    resolved = agent.get_by_role("list", name="Resolved conversations").locator("li")
    await resolved.first.wait_for(timeout=10_000)
    assert await resolved.count() == 1
    await resolved.first.click()
    await agent.get_by_role("button", name="Reopen").click()
    await agent.get_by_role("button", name="Resolve ✓").wait_for(timeout=10_000)

    # The ⋯ menu: assign (to a second agent), transcript by e-mail, mark unread (back to the
    # list, badge on).
    await system.invite(gateway, {"headers": headers})
    await agent.get_by_label("More actions").click()
    await agent.get_by_role("button", name="Assign…").click()
    await agent.get_by_role("list", name="Agents").get_by_role("button", name="Bob Agent").click()
    await agent.locator(".meta", has_text="assigned to Bob Agent").wait_for(timeout=10_000)
    await agent.get_by_role("button", name="Send transcript…").click()
    await agent.locator(".menu input[type=email]").fill("olivia@example.com")
    await agent.locator(".menu form button").click()
    await agent.locator(".menu form").wait_for(state="detached", timeout=10_000)
    await agent.get_by_role("button", name="Mark as unread").click()
    marked = agent.get_by_role("list", name="Open conversations").locator("li.unread")
    await marked.wait_for(timeout=10_000)
    assert await agent.locator("[role=alert]").count() == 0
    await visitor.screenshot(path=str(ARTIFACTS / "app-demo-visitor.png"))
    assert agent.errors == [] and visitor.errors == []
    await visitor.context.close()


async def test_going_offline_in_the_app_turns_the_chat_box_into_the_contact_form(
    system, gateway, chromium, phone_page
):
    owner = await system.signup(gateway)
    widget_key = owner["account"]["widget_key"]
    agent = phone_page
    await log_in(agent, system, owner)
    await set_status(agent, "online")
    await agents_online(gateway, widget_key, True)
    visitor = await open_page(chromium, **PHONE)
    await visitor.goto(f"{system.url}/demo/{widget_key}")
    await visitor.click("#parley-chat-box >> .launcher", timeout=15_000)
    form = visitor.locator("#parley-chat-box >> .extra form")
    await visitor.locator("#parley-chat-box >> textarea").first.wait_for(state="visible")
    assert await form.count() == 0

    await set_status(agent, "offline")
    await form.wait_for(state="visible", timeout=15_000)  # live, no reload
    assert await form.locator("input[type=email]").count() == 1
    me = await gateway.get("/api/v1/me", headers=owner["headers"])
    assert me.json()["status"] == "offline"
    assert agent.errors == [] and visitor.errors == []
    await visitor.context.close()


class FlakyStream:
    """The app's stream socket through Playwright's websocket routing: up; down (every socket
    closed, new ones refused); or up again with the replay window lost (the server's replay is
    swallowed and a `reset` sent in its place, as the gateway does when the gap is too old)."""

    def __init__(self) -> None:
        self.up = True
        self.urls: list[str] = []
        self.sockets: list[tuple[Any, Any]] = []
        self.lost_up_to: dict[str, Any] | None = None

    async def route(self, ws: Any) -> None:
        self.urls.append(ws.url)
        if not self.up:
            await ws.close(code=1011, reason="network down")
            return
        server = ws.connect_to_server()
        self.sockets.append((ws, server))
        lost = self.lost_up_to
        if lost is not None:

            def forward(message: str | bytes) -> None:
                frame = json.loads(message)
                if frame["type"] == "hello":
                    ws.send(json.dumps({"type": "reset", **lost}))
                elif frame["type"] != "event" or frame["seq"] > lost["seq"]:
                    ws.send(message)

            server.on_message(forward)

    async def drop(self) -> None:
        self.up = False
        for page_side, server_side in self.sockets:
            await page_side.close()
            await server_side.close()
        self.sockets.clear()


@pytest.mark.parametrize("window", ["kept", "lost"])
async def test_the_app_catches_up_after_its_socket_drops_with_nothing_twice(
    system, gateway, phone_page, window
):
    owner = await system.signup(gateway)
    visitor = await system.widget_session(gateway, owner)

    async def visitor_says(text: str) -> dict[str, Any]:
        resp = await gateway.post(
            "/api/v1/widget/messages", json={"text": text}, headers=visitor["headers"]
        )
        assert resp.status_code == 201, resp.text
        return resp.json()

    conversation_id = (await visitor_says("one"))["conversation_id"]
    agent = phone_page
    stream = FlakyStream()
    await agent.route_web_socket(re.compile(r"/api/v1/stream\?"), stream.route)
    await log_in(agent, system, owner)
    await agent.goto(f"{system.url}/app/conversations/{conversation_id}")
    await live(agent)
    await agent.locator(".msg.visitor", has_text="one").wait_for(timeout=15_000)

    await stream.drop()
    await agent.get_by_text("Reconnecting…").wait_for(timeout=10_000)
    for text in ("two", "three", "four"):
        await visitor_says(text)
    assert await agent.locator(".msg.visitor", has_text="two").count() == 0
    if window == "lost":  # the stream's position now, as the gateway would send it
        boot = await gateway.get("/api/v1/boot", headers=owner["headers"])
        stream.lost_up_to = boot.json()["stream"]

    stream.up = True
    await agent.locator(".msg.visitor", has_text="four").wait_for(timeout=30_000)
    await live(agent)
    assert await texts(agent, ".msg.visitor .text") == ["one", "two", "three", "four"]
    resumed = stream.urls[-1]
    assert re.search(r"[?&]since=[1-9]\d*", resumed) and "epoch=" in resumed, resumed
    await agent.get_by_role("link", name="Back").click()
    await agent.locator(".rows li", has_text="four").wait_for()
    assert await agent.locator(".rows li").count() == 1
    assert agent.errors == []


SCREENS = [
    # (name, path, something of the real data the screen must show)
    ("conversations", "/conversations", ".rows li >> text=Do you ship to Prague?"),
    ("conversation", "/conversations/{open_id}", ".msg.visitor >> text=Do you ship to Prague?"),
    ("resolved", "/resolved", ".rows li >> text=Conversation resolved"),
    ("visitors", "/visitors", ".rows li >> text={visitor_name}"),
    ("visitor", "/visitors/{visitor_id}", ".history >> text=https://shop.example/menu"),
    ("smarthub", "/smarthub", ".tile >> text=New"),
    ("settings", "/settings", "text=Chat code & live demo"),
    ("settings-profile", "/settings/profile", ".profile >> text={email}"),
    ("settings-general", "/settings/general", "select[name=language]"),
    ("settings-design", "/settings/design", "input[name=color]"),
    ("settings-contact-form", "/settings/contact-form", "textarea[name=offline_text]"),
    ("settings-chat-code", "/settings/chat-code", "a[href='/demo/{widget_key}']"),
    ("settings-chatbots", "/settings/chatbots", ".rows >> text=Greeter"),
    ("settings-automatic-messages", "/settings/automatic-messages", ".rows >> text=Nudge"),
    ("settings-shortcuts", "/settings/shortcuts", ".rows >> text=/ship"),
    ("settings-facebook", "/settings/facebook", "text=Page access token"),
    ("settings-notifications", "/settings/notifications", "input[name=new_message]"),
    ("settings-team", "/settings/team", ".rows >> text={email}"),
    ("settings-subscription", "/settings/subscription", ".facts >> text=free"),
    ("settings-bug-report", "/settings/bug-report", "textarea[name=message]"),
    ("settings-about", "/settings/about", "text=Help center"),
]


async def axe_violations(page: Any) -> list[str]:
    await page.add_script_tag(path=str(AXE))
    result = await page.evaluate("axe.run(document, {resultTypes: ['violations']})")
    return [
        f"{v['id']} ({v['impact']}): {[n['target'] for n in v['nodes']][:3]}"
        for v in result["violations"]
        if v["impact"] in ("serious", "critical")
    ]


async def test_every_screen_shows_real_data_and_passes_axe(system, gateway, chromium):
    assert AXE.exists(), "axe-core is missing: run `make app` (npm ci in app/)"
    owner = await system.signup(gateway)
    headers = owner["headers"]
    # Bots switched off: their greetings would race the visitors' messages below.
    for path, body in [
        ("/api/v1/shortcuts", {"name": "ship", "text": "We ship within 2 days."}),
        (
            "/api/v1/chatbots",
            {
                "name": "Greeter",
                "enabled": False,
                "trigger": {"type": "visitor_arrived"},
                "steps": [{"id": "start", "message": "Hello!"}],
            },
        ),
        (
            "/api/v1/automatic-messages",
            {
                "name": "Nudge",
                "enabled": False,
                "trigger": {"type": "time_on_page", "seconds": 30},
                "message": "Need a hand?",
            },
        ),
    ]:
        resp = await gateway.post(path, json=body, headers=headers)
        assert resp.status_code == 201, resp.text
    resolved = await system.widget_session(gateway, owner)
    resp = await gateway.post(
        "/api/v1/widget/messages", json={"text": "Where is my order?"}, headers=resolved["headers"]
    )
    resolved_id = resp.json()["conversation_id"]
    resp = await gateway.post(f"/api/v1/conversations/{resolved_id}/resolve", headers=headers)
    assert resp.status_code == 200, resp.text
    visitor = await system.widget_session(gateway, owner, url="https://shop.example/")
    vh = visitor["headers"]
    resp = await gateway.post(
        "/api/v1/widget/page-views",
        json={"url": "https://shop.example/menu", "title": "Our menu"},
        headers=vh,
    )
    assert resp.status_code in (200, 201, 204), resp.text
    resp = await gateway.post(
        "/api/v1/widget/messages", json={"text": "Do you ship to Prague?"}, headers=vh
    )
    open_id = resp.json()["conversation_id"]

    async def active_visitor() -> Any:
        resp = await gateway.get("/api/v1/visitors?state=active", headers=headers)
        found = [v for v in resp.json()["items"] if v["id"] == visitor["visitor_id"]]
        return found[0] if found else None

    visitor_name = (await eventually(active_visitor, timeout=20))["display_name"]
    values = {
        "open_id": open_id,
        "visitor_id": visitor["visitor_id"],
        "visitor_name": visitor_name,
        "email": owner["agent"]["email"],
        "widget_key": owner["account"]["widget_key"],
    }

    page = await open_page(chromium, bypass_csp=True, **PHONE)  # axe is injected inline
    ARTIFACTS.mkdir(exist_ok=True)
    problems: dict[str, list[str]] = {}

    async def check(name: str) -> None:
        await page.wait_for_load_state("networkidle")
        await page.screenshot(path=str(ARTIFACTS / f"app-{name}.png"), full_page=True)
        if violations := await axe_violations(page):
            problems[name] = violations

    await page.goto(f"{system.url}/app/signup")
    await page.get_by_label("Your name").wait_for()
    await check("signup")
    await page.get_by_role("link", name="Log in").click()
    await check("login")
    await log_in(page, system, owner)
    for name, path, shows in SCREENS:
        await page.goto(f"{system.url}/app{path.format(**values)}")
        try:
            await page.locator(shows.format(**values)).first.wait_for(timeout=15_000)
        except Exception:
            await page.screenshot(path=str(ARTIFACTS / f"app-{name}-failed.png"))
            raise
        assert await page.locator("[role=alert]").count() == 0, (
            name,
            await page.locator("[role=alert]").all_text_contents(),
        )
        await check(name)
    assert problems == {}, problems

    # From 900 px on: the list and the conversation side by side.
    await page.set_viewport_size({"width": 1280, "height": 800})
    await page.goto(f"{system.url}/app/conversations/{open_id}")
    await page.locator(".msg.visitor", has_text="Prague").wait_for()
    assert await page.locator(".list-pane .rows li", has_text="Prague").is_visible()
    await page.screenshot(path=str(ARTIFACTS / "app-desktop.png"))

    # Log out: back to the log-in screen, and the session is over.
    await page.goto(f"{system.url}/app/settings")
    await page.get_by_role("button", name="Log out").click()
    await page.get_by_role("button", name="Log in").wait_for()
    assert await page.evaluate("localStorage.getItem('parley.session')") is None
    assert page.errors == []
    await page.context.close()
