"""The short chaos run of `make test`: chat killed with SIGKILL under load, then the broker
restarted (stop_app/start_app), against servers of the run's own (tests/chaos/chaos_infra.py),
so parallel runs on the shared servers are not disturbed. `make chaos` runs every fault."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import pytest

from parley_common.e2e import load_test_module

harness = load_test_module("tests/chaos/harness.py")


@pytest.mark.skipif(
    not harness.PrivateServers.installed(),
    reason="needs PostgreSQL, RabbitMQ and Redis installed on this machine (servers of its own)",
)
@pytest.mark.timeout(1200)
async def test_nothing_accepted_is_lost_when_chat_is_killed_and_the_broker_restarts() -> None:
    base = Path(tempfile.mkdtemp(prefix="parley-chaos-test-"))
    report = await harness.chaos(base, messages=60, faults=["chat", "rabbitmq"], visitors=4, rate=6)
    print(report.render())
    assert report.ok, f"{report.render()}\nlogs: {base}"
    assert report.totals["accepted"] == 60
    shutil.rmtree(base, ignore_errors=True)
