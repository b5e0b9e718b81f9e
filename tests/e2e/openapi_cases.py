"""Requests generated from the merged OpenAPI document (for the security tests in tests/e2e).

``operations(doc)``: every (path, method, operation) of the public API; ``sample(doc, schema)``
a value the schema accepts (its examples first); ``string_fields(doc, schema)`` where the text
fields of a body are, as paths into it; ``set_at`` to put a value there.
"""

from __future__ import annotations

import copy
import uuid
from collections.abc import Iterator
from typing import Any

METHODS = ("get", "post", "put", "patch", "delete")
# Not plain HTTP operations: the websocket stream and the web pages.
SKIPPED_PATHS = ("/api/v1/stream", "/api/v1/widget/stream", "/widget.js", "/demo/{widget_key}")


def operations(doc: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in sorted(doc["paths"].items()):
        if path in SKIPPED_PATHS:
            continue
        for method in METHODS:
            if method in item:
                yield path, method, item[method]


def resolve(doc: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = doc["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]]
    return schema


def _variants(doc: dict[str, Any], schema: dict[str, Any]) -> list[dict[str, Any]]:
    schema = resolve(doc, schema)
    for key in ("anyOf", "oneOf"):
        if key in schema:
            options = [resolve(doc, s) for s in schema[key]]
            return [s for s in options if s.get("type") != "null"] or options
    return [schema]


def sample(doc: dict[str, Any], schema: dict[str, Any], depth: int = 0) -> Any:
    schema = _variants(doc, schema)[0]
    if "examples" in schema and isinstance(schema["examples"], list) and schema["examples"]:
        return copy.deepcopy(schema["examples"][0])
    for key in ("example", "default", "const"):
        if key in schema:
            return copy.deepcopy(schema[key])
    if "enum" in schema:
        return schema["enum"][0]
    if "allOf" in schema:
        return sample(doc, schema["allOf"][0], depth)
    kind = schema.get("type", "object")
    if kind == "object" or "properties" in schema:
        props = schema.get("properties", {})
        required = schema.get("required", [])
        return {
            name: sample(doc, prop, depth + 1)
            for name, prop in props.items()
            if name in required and depth < 6
        }
    if kind == "array":
        count = schema.get("minItems", 0)
        return [sample(doc, schema.get("items", {}), depth + 1) for _ in range(count)]
    if kind == "integer":
        return max(schema.get("minimum", 1), 1)
    if kind == "number":
        return max(schema.get("minimum", 1), 1)
    if kind == "boolean":
        return True
    fmt = schema.get("format")
    if fmt == "uuid":
        return str(uuid.uuid4())
    if fmt == "email":
        return f"x-{uuid.uuid4().hex[:8]}@example.com"
    if fmt == "date-time":
        return "2026-01-01T00:00:00Z"
    if fmt == "date":
        return "2026-01-01"
    if fmt in ("uri", "url"):
        return "https://example.com/"
    return "x" * max(schema.get("minLength", 1), 1)


def string_fields(
    doc: dict[str, Any], schema: dict[str, Any], at: tuple[Any, ...] = (), depth: int = 0
) -> Iterator[tuple[Any, ...]]:
    """Paths to every text field of a body (into the first item of arrays), enums left out."""
    if depth > 6:
        return
    for variant in _variants(doc, schema):
        if "enum" in variant or "const" in variant or variant.get("format") in ("uuid", "binary"):
            continue
        kind = variant.get("type")
        if kind == "string":
            yield at
            return
        if kind == "array" and "items" in variant:
            yield from string_fields(doc, variant["items"], (*at, 0), depth + 1)
            return
        if "properties" in variant:
            for name, prop in variant["properties"].items():
                yield from string_fields(doc, prop, (*at, name), depth + 1)
            return


def set_at(
    doc: dict[str, Any], schema: dict[str, Any], body: Any, at: tuple[Any, ...], value: Any
) -> Any:
    """A copy of ``body`` with ``value`` at ``at``, creating the containers on the way."""
    body = copy.deepcopy(body)
    if not at:
        return value
    node, node_schema = body, schema
    for i, key in enumerate(at):
        node_schema = _variants(doc, node_schema)[0]
        child_schema = (
            node_schema.get("items", {})
            if isinstance(key, int)
            else node_schema.get("properties", {}).get(key, {})
        )
        last = i == len(at) - 1
        if isinstance(key, int):
            while len(node) <= key:
                node.append(sample(doc, child_schema))
        elif key not in node:
            node[key] = None if last else sample(doc, child_schema)
            if not last and not isinstance(node[key], (dict, list)):
                node[key] = {} if "properties" in _variants(doc, child_schema)[0] else []
        if last:
            node[key] = value
        else:
            node, node_schema = node[key], child_schema
    return body


def json_body_schema(operation: dict[str, Any]) -> dict[str, Any] | None:
    content = operation.get("requestBody", {}).get("content", {})
    return content.get("application/json", {}).get("schema")


def query_strings(doc: dict[str, Any], operation: dict[str, Any]) -> Iterator[str]:
    """The string query parameters (enums and uuids left out)."""
    for param in operation.get("parameters", []):
        if param.get("in") != "query":
            continue
        if any(True for _ in string_fields(doc, param.get("schema", {}))):
            yield param["name"]


def path_params(operation: dict[str, Any], path: str) -> list[str]:
    names = [p["name"] for p in operation.get("parameters", []) if p.get("in") == "path"]
    return names or [seg[1:-1] for seg in path.split("/") if seg.startswith("{")]
