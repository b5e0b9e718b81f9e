"""Every text field and string query parameter of the public API, generated from the merged
OpenAPI document: a NUL or another control character is a 4xx, never a 500 (issue 11, point 3).
"""

from __future__ import annotations

import uuid
from typing import Any

from parley_common.e2e import System, load_test_module

cases = load_test_module("tests/e2e/openapi_cases.py")

BAD_TEXT = ("a\x00b", "a\x01b")


def fill_path(doc: dict[str, Any], path: str, operation: dict[str, Any]) -> str:
    for param in operation.get("parameters", []):
        if param.get("in") == "path":
            value = cases.sample(doc, param.get("schema", {}))
            if param["name"].endswith("_id"):
                value = uuid.uuid4()
            path = path.replace("{" + param["name"] + "}", str(value))
    return path


async def test_nul_and_control_characters_in_every_text_field_are_4xx(
    system: System, gateway
) -> None:
    await system.ready()  # a service an earlier test restarted answers again
    doc = (await gateway.get("/openapi.json")).json()
    owner = await system.signup(gateway)
    visitor = (await system.widget_session(gateway, owner))["headers"]
    tried: list[str] = []
    wrong: list[str] = []
    for path, method, operation in cases.operations(doc):
        headers = visitor if path.startswith("/api/v1/widget/") else owner["headers"]
        url = fill_path(doc, path, operation)
        schema = cases.json_body_schema(operation)
        if schema is not None:
            base = cases.sample(doc, schema)
            for at in cases.string_fields(doc, schema):
                for bad in BAD_TEXT:
                    body = cases.set_at(doc, schema, base, at, bad)
                    resp = await gateway.request(method, url, json=body, headers=headers)
                    where = f"{method.upper()} {path} body {'.'.join(map(str, at))} {bad!r}"
                    tried.append(where)
                    if not 400 <= resp.status_code < 500:
                        wrong.append(f"{where}: {resp.status_code} {resp.text[:200]}")
        for name in cases.query_strings(doc, operation):
            for bad in BAD_TEXT:
                resp = await gateway.request(method, url, params={name: bad}, headers=headers)
                where = f"{method.upper()} {path} ?{name}= {bad!r}"
                tried.append(where)
                if not 400 <= resp.status_code < 500:
                    wrong.append(f"{where}: {resp.status_code} {resp.text[:200]}")
    assert len(tried) > 100, tried
    for field in (
        "POST /api/v1/auth/signup body name",
        "POST /api/v1/widget/sessions body widget_key",
        "GET /api/v1/widget/settings ?widget_key=",
    ):
        assert any(t.startswith(field) for t in tried), field
    assert wrong == [], "\n".join(wrong)
