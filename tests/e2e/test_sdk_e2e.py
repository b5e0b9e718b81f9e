"""The clients an integrator generates from the running system's /openapi.json: generated
with no warnings, compiled strictly (mypy --strict, tsc --strict), and a short script with each
signs up, logs in, lists conversations and reads a 422 and a 404 as typed problems."""

from __future__ import annotations

import asyncio
import os
import sys

import orjson
import pytest

from parley_common.e2e import ROOT, System
from parley_common.events.catalogue import CATALOGUE, asyncapi_document

CLIENTS = ROOT / "clients"


async def run(*argv: str, env: dict[str, str] | None = None) -> str:
    proc = await asyncio.create_subprocess_exec(
        *argv,
        cwd=ROOT,
        env={**os.environ, **(env or {})},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await proc.communicate()
    text = out.decode(errors="replace")
    assert proc.returncode == 0, f"{argv} failed:\n{text}"
    return text


@pytest.mark.timeout(900)
async def test_generated_clients_work_against_the_system(system: System, gateway) -> None:
    document = (await gateway.get("/openapi.json")).json()
    assert document["x-services-missing"] == []
    (CLIENTS / "generated").mkdir(exist_ok=True)
    path = CLIENTS / "generated" / "openapi.json"
    path.write_bytes(orjson.dumps(document))

    await run(str(CLIENTS / "generate.sh"), str(path))

    python = await run(
        sys.executable,
        str(CLIENTS / "examples" / "check.py"),
        system.url,
        env={"PYTHONPATH": str(CLIENTS / "generated" / "python")},
    )
    assert "python client: ok" in python
    typescript = await run("node", str(CLIENTS / "build" / "examples" / "check.js"), system.url)
    assert "typescript client: ok" in typescript


@pytest.mark.timeout(300)
async def test_asyncapi_documents_validate(gateway, tmp_path) -> None:
    """The stream's /asyncapi.json and the event catalogue's document pass the AsyncAPI parser."""
    if not (CLIENTS / "node_modules").exists():
        await run("npm", "ci", "--prefix", str(CLIENTS), "--no-audit", "--no-fund")
    stream = tmp_path / "stream.json"
    resp = await gateway.get("/asyncapi.json")
    assert resp.status_code == 200
    stream.write_bytes(resp.content)
    events = tmp_path / "events.json"
    events.write_bytes(orjson.dumps(asyncapi_document()))
    for document in (stream, events):
        out = await run("node", str(CLIENTS / "check-asyncapi.mjs"), str(document))
        assert "valid AsyncAPI 3" in out
    messages = resp.json()["components"]["messages"]
    streamed = {s.type for s in CATALOGUE.values() if s.audience != "internal"}
    assert {m["name"] for m in messages.values() if m["name"].count(".") == 2} == streamed
