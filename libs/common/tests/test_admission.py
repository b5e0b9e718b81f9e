"""Admission control: a bounded number in flight, a bounded wait, a 503 problem+json past it."""

from __future__ import annotations

import asyncio
import time

import pytest
from fastapi import APIRouter

from parley_common.admission import Admission, waited_in_front
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


async def test_a_request_queued_briefly_is_answered_and_one_past_the_queue_refused(
    database,
) -> None:
    """Within the limit plus the queue nothing is refused: the queued request runs when a slot
    frees. Past the queue the next one is refused at once (503 problem+json, Retry-After)."""
    settings = Settings(max_requests_in_flight=1, admission_queue=1, admission_wait_ms=30_000)
    app = create_service_app("test", [router], uses_database=False, settings=settings)
    gate.clear()
    async with running_app(app) as client:
        first = asyncio.create_task(client.get("/api/v1/held"))
        await eventually(lambda: app.state.admission.in_flight == 1)
        queued = asyncio.create_task(client.get("/api/v1/held"))
        await eventually(lambda: len(app.state.admission._waiters) == 1)
        refused = await client.get("/api/v1/held")
        assert not first.done() and not queued.done()
        gate.set()
        answers = [await first, await queued]
    assert [a.status_code for a in answers] == [200, 200]
    assert refused.status_code == 503
    assert refused.headers["content-type"] == "application/problem+json"
    assert refused.headers["retry-after"] == "1"
    assert app.state.admission.in_flight == 0 and app.state.admission.refused == 1


async def test_a_request_that_already_waited_its_wait_in_front_is_refused_at_once() -> None:
    """Time in front of the service (nginx's X-Request-Start) counts against the wait: a
    request that used it all is refused even with a slot free; one that used part waits less."""
    admission = Admission(1, wait=10)
    with pytest.raises(Overloaded):
        await admission.acquire(waited=10.5)
    await admission.acquire(waited=0.5)
    assert admission.in_flight == 1 and admission.refused == 1
    with pytest.raises(Overloaded):
        await admission.acquire(waited=9.999)  # full, and too little of its wait left to queue
    admission.release()


def test_the_wait_in_front_comes_from_x_request_start() -> None:
    now = time.time()
    assert 1.9 < waited_in_front([(b"x-request-start", f"t={now - 2:.3f}".encode())]) < 60
    assert waited_in_front([]) == 0.0
    assert waited_in_front([(b"x-request-start", b"t=nonsense")]) == 0.0
    assert waited_in_front([(b"x-request-start", f"t={now + 5:.3f}".encode())]) == 0.0  # skew
    assert waited_in_front([(b"x-request-start", f"t={now - 3600:.3f}".encode())]) == 0.0


async def test_a_service_refuses_a_request_that_queued_too_long_in_front_of_it(database) -> None:
    settings = Settings(max_requests_in_flight=4, admission_wait_ms=1000)
    app = create_service_app("test", [router], uses_database=False, settings=settings)
    gate.set()
    async with running_app(app) as client:
        stale = await client.get(
            "/api/v1/held", headers={"X-Request-Start": f"t={time.time() - 5:.3f}"}
        )
        fresh = await client.get("/api/v1/held", headers={"X-Request-Start": f"t={time.time()}"})
        app.state.admission.from_front = False  # PARLEY_ADMISSION_WAIT_FROM_FRONT=false
        unchecked = await client.get(
            "/api/v1/held", headers={"X-Request-Start": f"t={time.time() - 5:.3f}"}
        )
    assert unchecked.status_code == 200
    assert stale.status_code == 503
    assert stale.headers["content-type"] == "application/problem+json"
    assert stale.headers["retry-after"] == "1"
    assert fresh.status_code == 200
