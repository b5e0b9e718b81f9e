"""Admission control: a bounded number in flight, a bounded wait, a 503 problem+json past it."""

from __future__ import annotations

import asyncio

import pytest
from fastapi import APIRouter

from parley_common.admission import Admission
from parley_common.app import create_service_app
from parley_common.errors import Overloaded
from parley_common.settings import Settings
from parley_common.testing import eventually, running_app


async def test_waiters_get_freed_slots_first_come_first_served() -> None:
    admission = Admission(1, wait=30)
    await admission.acquire()
    order: list[int] = []

    async def waiter(n: int) -> None:
        async with admission.slot():
            order.append(n)

    tasks = [asyncio.create_task(waiter(n)) for n in range(3)]
    await eventually(lambda: len(admission._waiters) == 3)
    admission.release()
    await asyncio.gather(*tasks)
    assert order == [0, 1, 2]
    assert admission.in_flight == 0 and admission.refused == 0


async def test_a_full_queue_is_refused_at_once_and_a_waiter_after_its_wait() -> None:
    admission = Admission(1, wait=1.0, queue=1)
    await admission.acquire()
    waiting = asyncio.create_task(admission.acquire())
    await eventually(lambda: len(admission._waiters) == 1)
    with pytest.raises(Overloaded):
        await admission.acquire()  # the queue is full: no wait at all
    assert not waiting.done()
    with pytest.raises(Overloaded) as refused:
        await waiting  # no slot within its wait
    assert refused.value.headers == {"Retry-After": "1"}
    admission.release()
    assert admission.in_flight == 0 and admission.refused == 2


async def test_a_cancelled_waiter_does_not_keep_a_slot() -> None:
    admission = Admission(1, wait=30)
    await admission.acquire()
    waiting = asyncio.create_task(admission.acquire())
    await eventually(lambda: len(admission._waiters) == 1)
    admission.release()  # handed to the waiter ...
    waiting.cancel()  # ... which is cancelled before it runs
    with pytest.raises(asyncio.CancelledError):
        await waiting
    assert admission.in_flight == 0
    async with admission.slot():
        assert admission.in_flight == 1


router = APIRouter()
gate = asyncio.Event()


@router.get("/api/v1/held")
async def held() -> dict[str, str]:
    await gate.wait()
    return {"status": "done"}


async def test_a_full_service_answers_503_problem_json_with_retry_after(database) -> None:
    settings = Settings(max_requests_in_flight=1, admission_wait_ms=20)
    app = create_service_app("test", [router], uses_database=False, settings=settings)
    gate.clear()
    async with running_app(app) as client:
        first = asyncio.create_task(client.get("/api/v1/held"))
        await eventually(lambda: app.state.admission.in_flight == 1)
        refused = await client.get("/api/v1/held", headers={"X-Request-ID": "r-1"})
        health = await client.get("/healthz")
        assert not first.done()  # refused while the first request still runs
        gate.set()
        assert (await first).status_code == 200
        again = await client.get("/api/v1/held")
    assert refused.status_code == 503
    assert refused.headers["content-type"] == "application/problem+json"
    assert refused.headers["retry-after"] == "1"
    assert refused.json()["code"] == "overloaded"
    assert refused.json()["request_id"] == "r-1"
    assert health.status_code == 200
    assert again.status_code == 200
