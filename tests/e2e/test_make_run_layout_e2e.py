"""The Procfile as `make run` starts it: one process per service, its worker inside
(``parley serve <name> --with-worker``). The other e2e tests run the deployed layout (each API
and worker apart); this one checks that the joined processes carry the workers' part too."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from parley_common.e2e import LOGS, System, make_system, next_event, running


@pytest.fixture(scope="module")
def make_run(database: str, system_env: dict[str, str]) -> Iterator[System]:
    with running(make_system(system_env, logs=LOGS / "make-run", separate_workers=False)) as system:
        yield system


async def test_one_process_per_service_carries_its_worker(make_run: System) -> None:
    assert sorted(make_run.commands) == [
        *("auth", "bots", "chat", "chat-mail", "gateway", "nginx", "notify", "visitors")
    ]
    for name in ("auth", "visitors", "chat", "notify", "bots"):
        argv = make_run.commands[name]
        port = argv[argv.index("--port") + 1]
        ready = httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=10)
        assert ready.status_code == 200, ready.text
        assert ready.json()["checks"]["worker"] == "ok"
    async with make_run.client() as gateway:
        # The visitors' copy of the account (auth's relay → visitors' consumer) lets the chat
        # box open; the message reaches the agent through chat's relay and the gateway's
        # sequencer.
        owner = await make_run.signup(gateway)
        visitor = await make_run.widget_session(gateway, owner)
        async with make_run.agent_stream(owner["headers"]) as agent_ws:
            sent = await gateway.post(
                "/api/v1/widget/messages", headers=visitor["headers"], json={"text": "hello"}
            )
            assert sent.status_code == 201, sent.text
            seen = await next_event(
                agent_ws, lambda f: f["event"] == "chat.message.created", timeout=30
            )
    assert seen["data"]["text"] == "hello"
