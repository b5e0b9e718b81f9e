"""Chatbots: step graphs are validated, and the plan limits active chatbots."""

from __future__ import annotations

import copy

import pytest

from parley_bots.app import app

from .support import AUTO_MESSAGE, CHATBOT, STEPS, deliver, event
from .test_api import CB, bot_count, problem


def steps_with(change):
    steps = copy.deepcopy(STEPS)
    change(steps)
    return steps


BAD_GRAPHS = {
    "dangling": steps_with(lambda s: s[0]["buttons"].append({"label": "Jobs", "next": "jobs"})),
    "duplicate id": steps_with(lambda s: s.append({"id": "pricing", "message": "Again"})),
    "reserved id": steps_with(lambda s: s.append({"id": "handover", "message": "Hm"})),
    "unreachable": steps_with(lambda s: s.append({"id": "orphan", "message": "Nobody comes"})),
    "duplicate label": steps_with(
        lambda s: s[0]["buttons"].append({"label": "PRICING", "next": "end"})
    ),
    "blank label": steps_with(lambda s: s[0]["buttons"].append({"label": "  ", "next": "end"})),
}


@pytest.mark.parametrize("name", list(BAD_GRAPHS))
async def test_bad_graphs_are_422(service_client, agent, engine, name):
    async with service_client(app) as client:
        resp = await client.post(
            CB, headers=agent.headers, json={**CHATBOT, "steps": BAD_GRAPHS[name]}
        )
        problem(resp, 422, "invalid_chatbot_steps")
        assert resp.json()["detail"]
    assert await bot_count(engine, agent.account_id) == 0


@pytest.mark.parametrize(
    "steps",
    [
        [],
        [
            {"id": f"s{n}", "message": "m", "buttons": [{"label": "go", "next": f"s{n + 1}"}]}
            for n in range(31)
        ],
        [
            {
                "id": "start",
                "message": "m",
                "buttons": [{"label": f"b{n}", "next": "end"} for n in range(6)],
            }
        ],
        [{"id": "bad id!", "message": "m"}],
        [{"id": "start", "message": "m" * 1001}],
    ],
)
async def test_oversized_or_malformed_steps_are_422(service_client, agent, steps):
    async with service_client(app) as client:
        problem(
            await client.post(CB, headers=agent.headers, json={**CHATBOT, "steps": steps}),
            422,
            "validation_error",
        )


async def test_a_loop_back_to_the_start_is_fine(service_client, agent):
    steps = steps_with(lambda s: s[1]["buttons"].append({"label": "Back", "next": "start"}))
    async with service_client(app) as client:
        resp = await client.post(CB, headers=agent.headers, json={**CHATBOT, "steps": steps})
        assert resp.status_code == 201, resp.text
        assert resp.json()["steps"][1]["buttons"][-1] == {"label": "Back", "next": "start"}


async def test_patch_validates_the_new_graph(service_client, agent):
    async with service_client(app) as client:
        created = (await client.post(CB, headers=agent.headers, json=CHATBOT)).json()
        url = f"{CB}/{created['id']}"
        problem(
            await client.patch(url, headers=agent.headers, json={"steps": BAD_GRAPHS["dangling"]}),
            422,
            "invalid_chatbot_steps",
        )
        assert (await client.get(url, headers=agent.headers)).json()["steps"] == created["steps"]


async def test_free_plan_allows_one_active_chatbot(service_client, agent, engine):
    await deliver(
        engine,
        event("auth.account.created", agent.account_id, name="Shop", widget_key="wk", plan="free"),
    )
    async with service_client(app) as client:
        first = await client.post(CB, headers=agent.headers, json=CHATBOT)
        assert first.status_code == 201
        problem(
            await client.post(CB, headers=agent.headers, json=CHATBOT), 403, "plan_limit_reached"
        )
        assert await bot_count(engine, agent.account_id) == 1
        # A disabled one can be prepared, but not switched on.
        second = await client.post(CB, headers=agent.headers, json={**CHATBOT, "enabled": False})
        assert second.status_code == 201
        url = f"{CB}/{second.json()['id']}"
        problem(
            await client.patch(url, headers=agent.headers, json={"enabled": True}),
            403,
            "plan_limit_reached",
        )
        assert (await client.get(url, headers=agent.headers)).json()["enabled"] is False
        # Editing the enabled one is not "one more".
        resp = await client.patch(
            f"{CB}/{first.json()['id']}",
            headers=agent.headers,
            json={"enabled": True, "name": "Renamed"},
        )
        assert resp.status_code == 200
        # Switch the first off, and the second may go on.
        await client.patch(
            f"{CB}/{first.json()['id']}", headers=agent.headers, json={"enabled": False}
        )
        assert (
            await client.patch(url, headers=agent.headers, json={"enabled": True})
        ).status_code == 200


async def test_plan_changes_move_the_limit(service_client, agent, engine):
    async with service_client(app) as client:
        # Before auth's event arrives, the free limit applies.
        assert (await client.post(CB, headers=agent.headers, json=CHATBOT)).status_code == 201
        problem(
            await client.post(CB, headers=agent.headers, json=CHATBOT), 403, "plan_limit_reached"
        )
        await deliver(
            engine,
            event(
                "auth.subscription.changed",
                agent.account_id,
                plan="premium",
                status="active",
                entitlements={"max_active_chatbots": 3},
            ),
        )
        for _ in range(2):
            assert (await client.post(CB, headers=agent.headers, json=CHATBOT)).status_code == 201
        problem(
            await client.post(CB, headers=agent.headers, json=CHATBOT), 403, "plan_limit_reached"
        )
        # Back to free: only the oldest chatbot stays on.
        await deliver(
            engine,
            event(
                "auth.subscription.changed",
                agent.account_id,
                plan="free",
                status="expired",
                entitlements={"max_active_chatbots": 1},
            ),
        )
        items = (await client.get(CB, headers=agent.headers)).json()["items"]
        assert [i["enabled"] for i in items] == [False, False, True]


async def test_automatic_messages_are_not_limited(service_client, agent):
    async with service_client(app) as client:
        assert (await client.post(CB, headers=agent.headers, json=CHATBOT)).status_code == 201
        for _ in range(3):
            resp = await client.post(
                "/api/v1/automatic-messages", headers=agent.headers, json=AUTO_MESSAGE
            )
            assert resp.status_code == 201
