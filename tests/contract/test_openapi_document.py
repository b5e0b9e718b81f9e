"""The merged OpenAPI document (every service, as the gateway serves it) is a contract that
client generators can use: checked here without servers, from the apps themselves."""

from __future__ import annotations

import collections
import re
from typing import Any

import jsonschema
import pytest

from parley_common.e2e import load_test_module

METHODS = {"get", "post", "put", "patch", "delete"}
PUBLIC = {
    "auth_signup",
    "auth_login",
    "auth_refresh",
    "invitations_get",
    "invitations_accept",
    "widget_settings_get",
    "widget_sessions_create",
}


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    built: dict[str, Any] = load_test_module("scripts/openapi_document.py").build()
    return built


def operations(document: dict[str, Any]) -> dict[str, tuple[str, str, dict[str, Any]]]:
    found: dict[str, tuple[str, str, dict[str, Any]]] = {}
    ids = []
    for path, item in document["paths"].items():
        for method, op in item.items():
            if method in METHODS:
                ids.append(op["operationId"])
                found[op["operationId"]] = (method, path, op)
    duplicates = [i for i, n in collections.Counter(ids).items() if n > 1]
    assert duplicates == []
    return found


def validator(document: dict[str, Any], schema: dict[str, Any]) -> jsonschema.Validator:
    return jsonschema.Draft202012Validator({**schema, "components": document["components"]})


def test_readable_unique_operation_ids_with_summaries_and_tags(document) -> None:
    ops = operations(document)
    assert len(ops) >= 95
    for name, (_, _, op) in ops.items():
        assert re.fullmatch(r"[a-z][a-z0-9_]*", name), name
        assert op["summary"], name
        assert op["tags"], name
    assert ops["conversations_list"][1] == "/api/v1/conversations"
    assert (
        ops["conversations_messages_create"][1]
        == "/api/v1/conversations/{conversation_id}/messages"
    )
    declared = {t["name"] for t in document["tags"]}
    used = {op["tags"][0] for _, _, op in ops.values()}
    assert used <= declared


def test_every_error_is_the_one_problem_schema(document) -> None:
    problem_ref = {"$ref": "#/components/schemas/Problem"}
    for name, (_, _, op) in operations(document).items():
        responses = op["responses"]
        for status, response in responses.items():
            if int(status) >= 400 and op["tags"] != ["web"]:  # web pages have error pages
                assert list(response["content"]) == ["application/problem+json"], (name, status)
                assert response["content"]["application/problem+json"]["schema"] == problem_ref
        if name.endswith("_connect"):
            continue  # the websockets: an upgrade is answered 101 or a problem
        for status in ("429", "503"):
            assert "Retry-After" in responses[status]["headers"], name
        if "requestBody" in op or any(p["in"] != "header" for p in op.get("parameters", [])):
            assert "422" in responses, name
        if "{" in op_path(document, name):
            assert "404" in responses, name
    schemas = document["components"]["schemas"]
    assert "HTTPValidationError" not in schemas and "ValidationError" not in schemas
    assert schemas["Problem"]["properties"]["errors"]["items"] == {
        "$ref": "#/components/schemas/ProblemFieldError"
    }


def op_path(document: dict[str, Any], name: str) -> str:
    return operations(document)[name][1]


def test_security_only_where_it_applies(document) -> None:
    assert "security" not in document
    assert set(document["components"]["securitySchemes"]) == {"bearer", "visitor"}
    for name, (_, path, op) in operations(document).items():
        security = op.get("security")
        if name in PUBLIC:
            assert security is None, name
        if security:
            assert "401" in op["responses"], name
            expected = "visitor" if path.startswith("/api/v1/widget/") else "bearer"
            assert security == [{expected: []}], name
    ops = operations(document)
    for name in ("conversations_list", "me_get", "visitors_list", "devices_create"):
        assert ops[name][2]["security"] == [{"bearer": []}]
    for name in ("widget_messages_create", "widget_rating", "widget_heartbeat"):
        assert ops[name][2]["security"] == [{"visitor": []}]


def test_every_body_has_an_example_that_fits(document) -> None:
    for name, (_, _, op) in operations(document).items():
        bodies = [("request", op.get("requestBody", {}))]
        bodies += [(status, r) for status, r in op["responses"].items() if status < "300"]
        for where, body in bodies:
            for media_type, content in body.get("content", {}).items():
                if media_type != "application/json":
                    continue
                assert "example" in content, (name, where)
                validator(document, content["schema"]).validate(content["example"])


def test_schemas_generators_keep(document) -> None:
    schemas = document["components"]["schemas"]
    titles = collections.Counter(s.get("title", n) for n, s in schemas.items())
    assert [t for t, n in titles.items() if n > 1] == []

    def enums(node: Any) -> list[list[Any]]:
        if isinstance(node, dict):
            found = [node["enum"]] if "enum" in node else []
            return found + [e for v in node.values() for e in enums(v)]
        if isinstance(node, list):
            return [e for v in node for e in enums(v)]
        return []

    for values in enums(schemas):
        assert len({type(v) for v in values}) == 1, values
    rating = schemas["RatingIn"]["properties"]["rating"]["anyOf"]
    assert {r["type"] for r in rating} == {"integer", "string"}
