"""The admin CLI against this run's database: create-account, seed-demo (idempotent)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

from sqlalchemy import text


def parley(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "parley_common.cli", *args],
        cwd=cwd,
        env=dict(os.environ),
        capture_output=True,
        text=True,
        timeout=120,
    )


async def test_create_account_makes_an_owner_and_an_event(database, engine, tmp_path) -> None:
    email = f"cli-{uuid.uuid4().hex[:8]}@example.com"
    result = parley(
        "create-account",
        email,
        "a long password",
        "--name",
        "Cleo",
        "--account-name",
        "Cleo's shop",
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    created = json.loads(result.stdout)
    assert created["email"] == email and created["widget_key"]
    async with engine.connect() as conn:
        role = await conn.scalar(
            text("SELECT role FROM auth.agents WHERE email = :e"), {"e": email}
        )
        events = await conn.scalar(
            text(
                "SELECT count(*) FROM auth.outbox WHERE type = 'auth.account.created' "
                "AND body->>'account_id' = :a"
            ),
            {"a": created["account_id"]},
        )
    assert role == "owner" and events == 1


async def test_seed_demo_creates_the_demo_account_once(database, tmp_path) -> None:
    email = f"demo-{uuid.uuid4().hex[:8]}@example.com"
    first = parley("seed-demo", "--email", email, "--password", "demo password", cwd=tmp_path)
    second = parley("seed-demo", "--email", email, "--password", "demo password", cwd=tmp_path)
    assert first.returncode == 0 and second.returncode == 0, first.stderr + second.stderr
    demo = json.loads((tmp_path / ".local" / "demo.json").read_text())
    assert f"widget key: {demo['widget_key']}" in first.stdout
    assert f"widget key: {demo['widget_key']}" in second.stdout
    assert f"/demo/{demo['widget_key']}" in first.stdout and "/docs" in first.stdout
    assert f"demo login: {email} / demo password" in first.stdout
