"""The API processes' uvicorn server: one tick a second at rest, a signal ends it at once."""

from __future__ import annotations

import asyncio
import signal
from typing import Any

import httpx
import uvicorn

from parley_common.server import Server
from parley_common.testing import eventually, free_port


async def hello(scope: dict[str, Any], receive: Any, send: Any) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"hello"})


async def test_every_tick_refreshes_the_date_and_a_signal_ends_the_loop() -> None:
    port = free_port()
    server = Server(uvicorn.Config(hello, host="127.0.0.1", port=port, log_config=None))
    ticks: list[int] = []
    on_tick = server.on_tick

    async def counted(counter: int) -> bool:
        ticks.append(counter)
        return await on_tick(counter)

    server.on_tick = counted  # type: ignore[method-assign]
    serving = asyncio.create_task(server.serve())
    try:
        await eventually(lambda: len(ticks) >= 3, timeout=30)
        # uvicorn's own loop ticks every 0.1 s and refreshes the Date on every tenth tick;
        # this one wakes only for ticks that refresh it.
        assert all(counter % 10 == 0 for counter in ticks), ticks
        async with httpx.AsyncClient() as http:
            response = await http.get(f"http://127.0.0.1:{port}/")
        assert response.text == "hello" and "date" in response.headers
    finally:
        server.handle_exit(signal.SIGTERM, None)
        server._captured_signals.clear()  # serve() would re-raise it in the test process
        await asyncio.wait_for(serving, 30)
