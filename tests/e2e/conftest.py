"""The e2e system's environment: outgoing webhooks may reach test receivers on 127.0.0.1."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def system_env() -> dict[str, str]:
    return {"PARLEY_WEBHOOKS_ALLOW_PRIVATE": "true", "PARLEY_WEBHOOK_POLL_SECONDS": "0.2"}
