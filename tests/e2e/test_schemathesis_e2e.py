"""Schemathesis against the whole system's merged /openapi.json, through the gateway.

Every operation gets a few generated requests (bounded: the suite runs on a busy 2-core
machine), as the owner agent or, on /api/v1/widget paths, as a visitor. Checked: no 5xx, and a
response whose status the document declares matches that response's schema.

Left out of the checks on purpose: `status_code_conformance` and `content_type_conformance`
(error statuses and problem+json responses an operation does not declare belong to the
OpenAPI contract work, see README "Security"); the property-based checks that need valid
data (`positive_data_acceptance`) or stateful links.
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import httpx
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.checks import not_a_server_error, response_schema_conformance

from parley_common.e2e import System

EXAMPLES_PER_OPERATION = 6
SKIPPED = {
    # Websocket upgrades and web pages, not JSON operations.
    "GET /api/v1/stream",
    "GET /api/v1/widget/stream",
    "GET /widget.js",
    "GET /demo/{widget_key}",
    # Outside systems this machine cannot reach answer 502/503 by design (Facebook Graph,
    # App Store verification without keys): tested against doubles in their own suites.
    "PUT /api/v1/integrations/facebook",
    "POST /api/v1/billing/app-store/transactions",
    # Garbage is answered 503 while App Store verification is not configured; sec-sessions
    # makes it a 400 whatever the configuration (issue 11, point 7). Remove once that lands.
    "POST /api/v1/billing/app-store/notifications",
    # Would end the session every other operation runs with.
    "POST /api/v1/auth/logout",
}


def signup(client: httpx.Client) -> dict[str, Any]:
    resp = client.post(
        "/api/v1/auth/signup",
        json={
            "email": f"st-{uuid.uuid4().hex[:10]}@example.com",
            "password": "correct horse battery",
            "name": "Schema Tester",
        },
    )
    assert resp.status_code == 201, resp.text
    return dict(resp.json())


def visitor_token(client: httpx.Client, widget_key: str) -> str:
    for _ in range(100):
        resp = client.post("/api/v1/widget/sessions", json={"widget_key": widget_key})
        if resp.status_code in (200, 201):
            return str(resp.json()["visitor_token"])
    raise AssertionError(f"no visitor session: {resp.status_code} {resp.text}")


def bounded_check(operation: Any, base_url: str, headers: dict[str, str]) -> Any:
    """A Hypothesis test of one operation: a few examples, no shrinking, no database."""

    @settings(
        max_examples=EXAMPLES_PER_OPERATION,
        deadline=None,
        database=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy())
    def check(case: Any) -> None:
        response = case.call(base_url=base_url, headers=headers, timeout=30)
        case.validate_response(response, checks=[not_a_server_error, response_schema_conformance])

    return check


def test_generated_requests_get_no_5xx_and_conforming_responses(system: System) -> None:
    asyncio.run(system.ready())  # a service an earlier test restarted answers again
    with httpx.Client(base_url=system.url, timeout=30) as client:
        doc = client.get("/openapi.json").json()
        owner = signup(client)
        visitor = visitor_token(client, owner["account"]["widget_key"])
    agent_headers = {"Authorization": f"Bearer {owner['access_token']}"}
    visitor_headers = {"Authorization": f"Bearer {visitor}"}
    schema = schemathesis.openapi.from_dict(doc)
    failures: list[str] = []
    operations = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        if operation.label in SKIPPED:
            continue
        operations += 1
        widget = operation.path.startswith("/api/v1/widget/")
        headers = visitor_headers if widget else agent_headers

        check = bounded_check(operation, system.url, headers)
        try:
            check()
        except Exception as exc:
            failures.append(f"{operation.label}: {str(exc)[:600]}")
    assert operations > 50
    assert failures == [], "\n\n".join(failures)
