"""The bots API: automatic messages and chatbots CRUD, validation, roles, other accounts."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import func, select

from parley_bots.app import app
from parley_bots.models import Bot
from parley_common.testing import make_agent

from .support import AUTO_MESSAGE, CHATBOT

AM = "/api/v1/automatic-messages"
CB = "/api/v1/chatbots"


def problem(resp, status, code):
    assert resp.status_code == status, resp.text
    assert resp.headers["content-type"].startswith("application/problem+json")
    assert resp.json()["code"] == code


async def bot_count(engine, account_id):
    async with engine.connect() as conn:
        return await conn.scalar(
            select(func.count()).select_from(Bot).where(Bot.account_id == account_id)
        )


async def test_automatic_message_lifecycle(service_client, agent, engine):
    async with service_client(app) as client:
        resp = await client.post(
            AM,
            headers=agent.headers,
            json={**AUTO_MESSAGE, "conditions": {"returning_visitor": True}, "delay_seconds": 5},
        )
        assert resp.status_code == 201, resp.text
        created = resp.json()
        assert created["enabled"] is True
        assert created["trigger"] == {"type": "visitor_arrived"}
        assert created["conditions"]["returning_visitor"] is True
        assert created["delay_seconds"] == 5
        url = f"{AM}/{created['id']}"
        assert (await client.get(url, headers=agent.headers)).json() == created
        listed = (await client.get(AM, headers=agent.headers)).json()
        assert [i["id"] for i in listed["items"]] == [created["id"]]
        assert listed["next_cursor"] is None

        patched = await client.patch(
            url,
            headers=agent.headers,
            json={
                "enabled": False,
                "message": "Back again?",
                "trigger": {"type": "page_url", "url_contains": "/cart"},
            },
        )
        assert patched.status_code == 200, patched.text
        body = patched.json()
        assert body["enabled"] is False and body["message"] == "Back again?"
        assert body["trigger"]["url_contains"] == "/cart" and body["name"] == "Welcome"

        assert (await client.delete(url, headers=agent.headers)).status_code == 204
        problem(await client.get(url, headers=agent.headers), 404, "automatic_message_not_found")
    assert await bot_count(engine, agent.account_id) == 0


@pytest.mark.parametrize(
    "body",
    [
        {**AUTO_MESSAGE, "colour": "red"},
        {**AUTO_MESSAGE, "message": "x" * 1001},
        {**AUTO_MESSAGE, "message": ""},
        {**AUTO_MESSAGE, "trigger": {"type": "page_url"}},
        {**AUTO_MESSAGE, "trigger": {"type": "time_on_page"}},
        {**AUTO_MESSAGE, "trigger": {"type": "visitor_arrived", "seconds": 5}},
        {**AUTO_MESSAGE, "trigger": {"type": "on_full_moon"}},
        {**AUTO_MESSAGE, "delay_seconds": -1},
        {**AUTO_MESSAGE, "conditions": {"vip": True}},
    ],
)
async def test_bad_automatic_messages_are_422(service_client, agent, engine, body):
    async with service_client(app) as client:
        problem(await client.post(AM, headers=agent.headers, json=body), 422, "validation_error")
    assert await bot_count(engine, agent.account_id) == 0


async def test_patch_cannot_null_a_required_field(service_client, agent):
    async with service_client(app) as client:
        created = (await client.post(AM, headers=agent.headers, json=AUTO_MESSAGE)).json()
        resp = await client.patch(
            f"{AM}/{created['id']}", headers=agent.headers, json={"message": None}
        )
        problem(resp, 422, "invalid_input")
        got = (await client.get(f"{AM}/{created['id']}", headers=agent.headers)).json()
        assert got["message"] == AUTO_MESSAGE["message"]


async def test_agents_read_admins_write(service_client, agent):
    member = make_agent("agent", agent.account_id)
    async with service_client(app) as client:
        created = (await client.post(AM, headers=agent.headers, json=AUTO_MESSAGE)).json()
        url = f"{AM}/{created['id']}"
        assert (await client.get(url, headers=member.headers)).status_code == 200
        assert (await client.get(AM, headers=member.headers)).status_code == 200
        problem(await client.post(AM, headers=member.headers, json=AUTO_MESSAGE), 403, "forbidden")
        problem(
            await client.patch(url, headers=member.headers, json={"enabled": False}),
            403,
            "forbidden",
        )
        problem(await client.delete(url, headers=member.headers), 403, "forbidden")
        problem(await client.post(CB, headers=member.headers, json=CHATBOT), 403, "forbidden")
        problem(await client.get(AM), 401, "unauthorized")


@pytest.mark.parametrize(
    ("base", "body", "code"),
    [
        (AM, AUTO_MESSAGE, "automatic_message_not_found"),
        (CB, CHATBOT, "chatbot_not_found"),
    ],
)
async def test_another_accounts_bot_is_404(service_client, agent, other_account, base, body, code):
    async with service_client(app) as client:
        created = (await client.post(base, headers=agent.headers, json=body)).json()
        url = f"{base}/{created['id']}"
        problem(await client.get(url, headers=other_account.headers), 404, code)
        problem(
            await client.patch(url, headers=other_account.headers, json={"name": "Mine now"}),
            404,
            code,
        )
        problem(await client.delete(url, headers=other_account.headers), 404, code)
        assert (await client.get(base, headers=other_account.headers)).json()["items"] == []
        # An automatic message is not a chatbot either.
        other_base = CB if base == AM else AM
        assert (
            await client.get(f"{other_base}/{created['id']}", headers=agent.headers)
        ).status_code == 404
        problem(await client.get(f"{base}/{uuid.uuid4()}", headers=agent.headers), 404, code)
        problem(
            await client.get(f"{base}/not-a-uuid", headers=agent.headers), 422, "validation_error"
        )
        got = await client.get(url, headers=agent.headers)
        assert got.status_code == 200 and got.json()["name"] == body["name"]


async def test_cursor_pagination_newest_first(service_client, agent):
    async with service_client(app) as client:
        ids = []
        for n in range(5):
            resp = await client.post(
                AM, headers=agent.headers, json={**AUTO_MESSAGE, "name": f"Message {n}"}
            )
            ids.append(resp.json()["id"])
        seen, cursor = [], None
        while True:
            params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
            page = (await client.get(AM, headers=agent.headers, params=params)).json()
            assert len(page["items"]) <= 2
            seen += [i["id"] for i in page["items"]]
            cursor = page["next_cursor"]
            if cursor is None:
                break
        assert seen == ids[::-1]
        problem(
            await client.get(AM, headers=agent.headers, params={"cursor": "bogus!"}),
            422,
            "invalid_cursor",
        )
        problem(
            await client.get(AM, headers=agent.headers, params={"limit": 0}),
            422,
            "validation_error",
        )
