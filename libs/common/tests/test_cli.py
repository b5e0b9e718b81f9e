"""The admin CLI against this run's database: create-account (password from the environment or a
prompt, never argv), seed-demo (idempotent, prints what it did), a wrong service name."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

from sqlalchemy import text


def parley(
    *args: str, cwd: Path, env: dict[str, str] | None = None, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if not k.endswith("_PASSWORD")}
    return subprocess.run(
        [sys.executable, "-m", "parley_common.cli", *args],
        cwd=cwd,
        env={**environ, **(env or {})},
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        # No controlling terminal: getpass reads the prompt's answer from stdin, as when piped.
        start_new_session=True,
    )


async def login_works(engine, email: str, password: str) -> bool:
    from parley_auth.crypto import verify_password

    async with engine.connect() as conn:
        hashed = await conn.scalar(
            text("SELECT password_hash FROM auth.agents WHERE email = :e"), {"e": email}
        )
    return hashed is not None and await verify_password(hashed, password)


async def test_create_account_makes_an_owner_and_an_event(database, engine, tmp_path) -> None:
    email = f"cli-{uuid.uuid4().hex[:8]}@example.com"
    result = parley(
        "create-account",
        email,
        "--name",
        "Cleo",
        "--account-name",
        "Cleo's shop",
        cwd=tmp_path,
        env={"PARLEY_ADMIN_PASSWORD": "a long password"},
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
    assert await login_works(engine, email, "a long password")


async def test_create_account_prompts_for_the_password(database, engine, tmp_path) -> None:
    email = f"cli-{uuid.uuid4().hex[:8]}@example.com"
    result = parley("create-account", email, cwd=tmp_path, stdin="typed at the prompt\n")
    assert result.returncode == 0, result.stderr
    assert "Password:" in result.stderr + result.stdout
    assert "typed at the prompt" not in result.stdout
    assert await login_works(engine, email, "typed at the prompt")


def test_create_account_takes_no_password_argument(tmp_path) -> None:
    email = f"cli-{uuid.uuid4().hex[:8]}@example.com"
    result = parley("create-account", email, "--password", "in shell history", cwd=tmp_path)
    assert result.returncode == 2
    assert "No such option: --password" in result.stderr
    extra = parley("create-account", email, "in shell history", cwd=tmp_path)
    assert extra.returncode == 2 and "unexpected extra argument" in extra.stderr


def test_create_account_refuses_an_empty_password(tmp_path) -> None:
    result = parley("create-account", "x@example.com", cwd=tmp_path, stdin="\n")
    assert result.returncode == 2
    assert "empty password" in result.stderr and "Traceback" not in result.stderr


async def test_seed_demo_creates_the_demo_account_once(database, engine, tmp_path) -> None:
    email = f"demo-{uuid.uuid4().hex[:8]}@example.com"
    env = {"PARLEY_DEMO_PASSWORD": "demo password"}
    first = parley("seed-demo", "--email", email, cwd=tmp_path, env=env)
    second = parley("seed-demo", "--email", email, cwd=tmp_path, env=env)
    assert first.returncode == 0 and second.returncode == 0, first.stderr + second.stderr
    demo = json.loads((tmp_path / ".local" / "demo.json").read_text())
    key = demo["widget_key"]
    created = f"seed-demo: created the demo account {email} / demo password"
    assert first.stdout.splitlines()[0] == created
    assert f"widget key {key}" in first.stdout and f"/demo/{key}" in first.stdout
    assert second.stdout.splitlines()[0] == f"seed-demo: the demo account {email} already exists"
    assert f"widget key {key}" in second.stdout
    for out in (first.stdout, second.stdout):
        assert "starting" not in out.lower() and len(out.splitlines()) == 2
    assert await login_works(engine, email, "demo password")


def test_unknown_service_name_prints_usage_and_names(tmp_path) -> None:
    for command in ("serve", "worker"):
        result = parley(command, "nope", cwd=tmp_path, env={"COLUMNS": "200"})
        assert result.returncode == 2, result.stderr
        assert "Traceback" not in result.stderr
        assert f"Usage: python -m parley_common.cli {command} [OPTIONS]" in result.stderr
        assert "'nope' is not one of: auth, visitors, chat, notify, bots, gateway" in result.stderr


def test_one_worker_per_service_not_with_several_api_workers(tmp_path) -> None:
    result = parley("serve", "chat", "--with-worker", "--workers", "2", cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    assert "one worker per service: not with --with-worker" in result.stderr
