"""Storage fixtures (part of the test plugin): a real S3 protocol server and both backends.

``s3_server`` starts moto's server mode in its own process on a free port (once per run) and
creates this run's bucket; ``storage_backend`` is parametrized ``local`` / ``s3`` and points
``get_settings()`` at the backend, so a test that uses it (``@pytest.mark.usefixtures``,
before any app starts) runs once against each, through the code path production uses.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from parley_common.e2e import LOGS, free_port
from parley_common.settings import get_settings

ACCESS_KEY = "parley-test"


@dataclass(frozen=True)
class S3Server:
    endpoint: str
    bucket: str

    def client(self) -> Any:
        """A boto3 client: reads the bucket independently of Parley's own S3 code."""
        import boto3

        return boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            region_name="us-east-1",
            aws_access_key_id=ACCESS_KEY,
            aws_secret_access_key=ACCESS_KEY,
        )


@pytest.fixture(scope="session")
def s3_server() -> Iterator[S3Server]:
    port = free_port()
    endpoint = f"http://127.0.0.1:{port}"
    LOGS.mkdir(parents=True, exist_ok=True)
    log = (LOGS / f"moto-{port}.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                httpx.get(endpoint, timeout=2)
                break
            except httpx.TransportError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"moto server did not start, see {log.name}") from None
                time.sleep(0.1)
        server = S3Server(endpoint, f"parley-test-{Path(log.name).stem}")
        server.client().create_bucket(Bucket=server.bucket)
        yield server
    finally:
        process.terminate()
        process.wait(timeout=10)
        log.close()


@dataclass(frozen=True)
class StorageBackend:
    name: str
    root: Path
    s3: S3Server | None = None

    def stored(self, key: str) -> bytes | None:
        """The object's bytes read straight from the disk or the bucket (not via Parley)."""
        if self.s3 is None:
            path = self.root / key
            return path.read_bytes() if path.is_file() else None
        try:
            body: bytes = self.s3.client().get_object(Bucket=self.s3.bucket, Key=key)["Body"].read()
        except self.s3.client().exceptions.NoSuchKey:
            return None
        return body

    def keys(self, prefix: str) -> list[str]:
        """Every stored key under ``prefix`` (``chat/<account>/``), straight from the backend."""
        if self.s3 is None:
            base = self.root / prefix
            found = base.rglob("*") if base.is_dir() else iter(())
            return sorted(str(p.relative_to(self.root)) for p in found if p.is_file())
        listed = self.s3.client().list_objects_v2(Bucket=self.s3.bucket, Prefix=prefix)
        return sorted(item["Key"] for item in listed.get("Contents", []))


@pytest.fixture(params=["local", "s3"])
def storage_backend(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> StorageBackend:
    settings = get_settings()
    if request.param == "local":
        return StorageBackend("local", settings.storage_dir)
    server: S3Server = request.getfixturevalue("s3_server")
    monkeypatch.setattr(settings, "storage", "s3")
    monkeypatch.setattr(settings, "s3_bucket", server.bucket)
    monkeypatch.setattr(settings, "s3_endpoint_url", server.endpoint)
    monkeypatch.setattr(settings, "s3_access_key_id", ACCESS_KEY)
    monkeypatch.setattr(settings, "s3_secret_access_key", ACCESS_KEY)
    return StorageBackend("s3", settings.storage_dir, server)
