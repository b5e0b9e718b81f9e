"""The end-to-end smoke of `make compose-check` (scripts/compose-check.sh), against the
docker-compose stack, through the gateway's published port only.

    compose_smoke.py prepare DIR HOST   JWT keys, an APNs double's PKI and port (on HOST, the
                                        address containers reach the host by), and
                                        DIR/compose.check.yml pointing notify at the double
    compose_smoke.py run DIR URL INTERNAL_URL
                                        the double on that port, then: sign up, a visitor's
                                        message reaches the agent's stream, the offline agent's
                                        phone gets the push, an attachment goes up and comes back

Run from the repository root (the APNs double is services/notify/tests/apns_double.py).
"""

from __future__ import annotations

import asyncio
import json
import socket
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
from websockets.asyncio.client import connect

from parley_common.e2e import System, load_test_module, next_event
from parley_common.testing import eventually

APNS_HOST = "apns.parley.test"  # the name notify-worker uses; resolves to the host
BUNDLE_ID = "com.example.parley"


def apns_double_module() -> Any:
    return load_test_module("services/notify/tests/apns_double.py")


def prepare(directory: Path, host_address: str) -> None:
    from parley_common.security import generate_key_pair

    keys = directory / "keys"
    keys.mkdir(parents=True, exist_ok=True)
    generate_key_pair(keys / "jwt_private.pem", keys / "jwt_public.pem")
    apns = directory / "apns"
    pki = apns_double_module().TestPKI.create(apns, hosts=(APNS_HOST,))
    for path in apns.iterdir():  # read by the image's unprivileged user; throwaway keys
        path.chmod(0o644)
    apns.chmod(0o755)
    with socket.socket() as sock:
        sock.bind((host_address, 0))
        port = sock.getsockname()[1]
    (directory / "apns.json").write_text(json.dumps({"host": host_address, "port": port}))
    in_container = "/run/parley/apns"
    override = {
        "services": {
            "notify-worker": {
                "environment": {
                    "PARLEY_APNS_KEY_FILE": f"{in_container}/{pki.p8_file.name}",
                    "PARLEY_APNS_KEY_ID": "KEY1234567",
                    "PARLEY_APNS_TEAM_ID": "TEAM123456",
                    "PARLEY_APNS_PRODUCTION_HOST": APNS_HOST,
                    "PARLEY_APNS_SANDBOX_HOST": APNS_HOST,
                    "PARLEY_APNS_PORT": str(port),
                    "PARLEY_APNS_CA_FILE": f"{in_container}/{pki.ca_file.name}",
                },
                "extra_hosts": [f"{APNS_HOST}:{host_address}"],
                "volumes": ["jwt-keys:/run/parley/keys:ro", f"{apns}:{in_container}:ro"],
            },
            "keys": {"volumes": [f"{keys}:/src:ro", "jwt-keys:/keys"]},
        }
    }
    # JSON is YAML: docker-compose reads it as one more -f file.
    (directory / "compose.check.yml").write_text(json.dumps(override, indent=2))


def step(name: str, started: float) -> None:
    print(f"smoke: {name} ({time.monotonic() - started:.1f}s)", flush=True)


async def run(directory: Path, url: str, internal_url: str) -> None:
    started = time.monotonic()
    where = json.loads((directory / "apns.json").read_text())
    mod = apns_double_module()
    apns = await mod.APNsDouble(
        mod.TestPKI.load(directory / "apns"), host=where["host"], port=where["port"]
    ).start()
    system = System(url=url, env={}, internal_url=internal_url)
    try:
        await system.ready(timeout=120)
        step("gateway /readyz on the internal port: 200", started)
        async with system.client() as gateway:
            await smoke(system, gateway, apns, started)
    finally:
        await apns.stop()


async def smoke(system: System, gateway: httpx.AsyncClient, apns: Any, started: float) -> None:
    owner = await system.signup(gateway)
    headers = owner["headers"]
    step(f"signed up {owner['account']['id']}", started)

    token = uuid.uuid4().hex * 2
    device = {
        "platform": "ios",
        "token": token,
        "environment": "production",
        "bundle_id": BUNDLE_ID,
    }
    resp = await gateway.post("/api/v1/devices", headers=headers, json=device)
    assert resp.status_code == 201, resp.text
    resp = await gateway.patch(
        "/api/v1/me/notification-settings", headers=headers, json={"new_visitor": False}
    )
    assert resp.status_code == 200 and resp.json()["offline_notifications"] is True, resp.text
    resp = await gateway.put("/api/v1/me/status", headers=headers, json={"status": "offline"})
    assert resp.status_code == 200, resp.text

    session = await system.widget_session(gateway, owner)
    visitor = session["headers"]
    async with connect(
        system.ws_url("/api/v1/stream"), additional_headers=headers, proxy=None, open_timeout=10
    ) as agent_ws:
        sent = await gateway.post(
            "/api/v1/widget/messages", headers=visitor, json={"text": "Do you ship to Norway?"}
        )
        assert sent.status_code == 201, sent.text
        cid = sent.json()["conversation_id"]
        seen = await next_event(
            agent_ws,
            lambda f: f["event"] == "chat.message.created" and f["data"]["conversation_id"] == cid,
            timeout=30,
        )
        assert seen["data"]["text"] == "Do you ship to Norway?", seen
    step("visitor's message received on the agent's stream", started)

    # The push needs notify to have seen the agent go offline (an event of its own): a
    # message sent before that is not pushed, so the visitor writes again until one is.
    async def pushed() -> list[Any]:
        return apns.for_token(token)  # type: ignore[no-any-return]

    push = None
    for attempt in range(5):
        if attempt:
            again = await gateway.post(
                "/api/v1/widget/messages", headers=visitor, json={"text": "Anyone there?"}
            )
            assert again.status_code == 201, again.text
        try:
            push = (await eventually(pushed, timeout=15, interval=0.2))[0]
            break
        except AssertionError:
            continue
    assert push is not None, "no push reached the APNs double"
    assert push.payload["aps"]["thread-id"] == cid, push.payload
    assert push.headers["apns-topic"] == BUNDLE_ID, push.headers
    step(f"push delivered to the APNs double ({push.payload['aps']['alert']['body']!r})", started)

    content = b"%PDF-1.4 compose-check " + uuid.uuid4().bytes
    upload = await gateway.post(
        "/api/v1/widget/attachments",
        headers=visitor,
        files={"file": ("invoice.pdf", content, "application/pdf")},
    )
    assert upload.status_code == 201, upload.text
    sent = await gateway.post(
        "/api/v1/widget/messages",
        headers=visitor,
        json={"text": "My invoice", "attachment_ids": [upload.json()["id"]]},
    )
    assert sent.status_code == 201, sent.text
    download = await gateway.get(upload.json()["url"], headers=headers)
    assert download.status_code == 200 and download.content == content, download.text[:200]
    step(f"attachment round trip ({len(content)} bytes, local storage volume)", started)


def main(argv: list[str]) -> None:
    command, directory, *rest = argv
    if command == "prepare":
        prepare(Path(directory), rest[0])
    elif command == "run":
        asyncio.run(run(Path(directory), rest[0], rest[1]))
    else:
        raise SystemExit(__doc__)


if __name__ == "__main__":
    main(sys.argv[1:])
