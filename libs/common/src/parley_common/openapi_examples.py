"""Examples for the OpenAPI document: every request and response body gets one, taken from its
schema's own ``examples`` or built from its properties (what a reader would write by hand)."""

from __future__ import annotations

import copy
from typing import Any

from parley_common.errors import HTTP_CODES, PROBLEM_TYPE_BASE


def problem_example(status: int) -> dict[str, Any]:
    code, title = HTTP_CODES.get(status, ("error", "Error"))
    example: dict[str, Any] = {
        "type": PROBLEM_TYPE_BASE + code,
        "title": title,
        "status": status,
        "detail": title,
        "code": code,
        "request_id": "9f1c2b7e4d3a4b6f8e0d1c2b3a4f5e6d",
    }
    if status == 422:
        example["detail"] = "text: String should have at least 1 character"
        example["errors"] = [
            {
                "loc": ["body", "text"],
                "msg": "String should have at least 1 character",
                "code": "string_too_short",
            }
        ]
    return example


def _resolve(schema: dict[str, Any], schemas: dict[str, Any]) -> dict[str, Any]:
    ref = schema.get("$ref")
    if isinstance(ref, str):
        return _resolve(schemas.get(ref.rsplit("/", 1)[-1], {}), schemas)
    return schema


FORMAT_EXAMPLES: dict[str, Any] = {
    "uuid": "2b1f6c1e-8f4e-4d2a-9a53-3f0c5e7d9a10",
    "date-time": "2026-05-04T09:30:00Z",
    "date": "2026-05-04",
    "email": "olivia@example.com",
    "uri": "https://example.com/pricing",
    "binary": "…",
}
# Plain strings, by property name: what a reader would write by hand.
NAME_EXAMPLES: dict[str, str] = {
    "access_token": "eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiI…",
    "refresh_token": "r1_Zq3J0c1ZxbWJrYzRn",
    "visitor_token": "eyJhbGciOiJFZERTQSJ9.eyJ2aXMiOiI…",
    "ticket": "q3J0c1ZxbWJrYzRnT2xpdmlh",
    "account_name": "Olivia's shop",
    "name": "Olivia Owner",
    "display_name": "Olivia",
    "author_name": "Olivia",
    "page_name": "Olivia's shop",
    "email": "olivia@example.com",
    "password": "correct horse battery",
    "current_password": "correct horse battery",
    "new_password": "staple battery horse",
    "text": "Hello! How can I help?",
    "message": "Hello! How can I help?",
    "welcome": "Hi there! Ask us anything.",
    "offline_text": "We are away; leave us a message.",
    "handover_message": "Let me connect you with a colleague.",
    "input_placeholder": "Write a message…",
    "button_label": "Chat with us",
    "comment": "Quick help, thanks!",
    "rating_comment": "Quick help, thanks!",
    "note": "Asked about the annual plan.",
    "snippet": "Hello! How can I help?",
    "title": "Pricing - Olivia's shop",
    "description": "The chat box does not open on iPad.",
    "label": "VIP",
    "url": "https://example.com/pricing",
    "referrer": "https://www.google.com/",
    "avatar_url": "https://example.com/avatars/olivia.png",
    "invite_url": "https://app.example.com/invitations/inv_3J0c1Zx",
    "gdpr_url": "https://example.com/privacy",
    "privacy_url": "https://example.com/privacy",
    "terms_url": "https://example.com/terms",
    "help_center_url": "https://example.com/help",
    "url_contains": "/pricing",
    "phone": "+420 601 234 567",
    "country": "CZ",
    "timezone": "Europe/Prague",
    "browser": "Safari 18",
    "os": "iOS 18",
    "device": "mobile",
    "app_version": "3.2.0",
    "bundle_id": "dev.parley.app",
    "content_type": "image/png",
    "request_id": "9f1c2b7e4d3a4b6f8e0d1c2b3a4f5e6d",
    "next_cursor": "WyIyMDI2LTA1LTA0VDA5OjMwOjAwWiJd",
    "next": "WyIyMDI2LTA1LTA0VDA5OjMwOjAwWiJd",
    "client_message_id": "c-1714815000-1",
    "plan": "pro",
    "channel": "chat",
    "started_by": "visitor",
}
TYPE_EXAMPLES: dict[str, Any] = {
    "string": "text",
    "integer": 1,
    "number": 1.5,
    "boolean": True,
    "null": None,
}


def example_of(
    schema: dict[str, Any], schemas: dict[str, Any], depth: int = 0, name: str = ""
) -> Any:
    """The schema's own example if it has one, else one built from its properties' examples,
    defaults, enums and formats (what a reader of the document would write by hand)."""
    schema = _resolve(schema, schemas)
    if schema.get("examples"):
        return copy.deepcopy(schema["examples"][0])
    if "example" in schema:
        return copy.deepcopy(schema["example"])
    if "const" in schema:
        return schema["const"]
    if schema.get("enum"):
        return schema["enum"][0]
    if "default" in schema and schema["default"] is not None:
        return copy.deepcopy(schema["default"])
    if depth > 6:
        return None
    for key in ("anyOf", "oneOf", "allOf"):
        options = [o for o in schema.get(key, []) if o.get("type") != "null"]
        if options:
            return example_of(options[0], schemas, depth + 1, name)
    kind = schema.get("type")
    if kind == "object" or "properties" in schema:
        return {
            prop_name: example_of(prop, schemas, depth + 1, prop_name)
            for prop_name, prop in schema.get("properties", {}).items()
        }
    if kind == "array":
        return [example_of(schema.get("items", {}), schemas, depth + 1)]
    if kind == "string" and schema.get("format") in FORMAT_EXAMPLES:
        return FORMAT_EXAMPLES[schema["format"]]
    by_name = NAME_EXAMPLES.get(name)
    if kind == "string" and by_name is not None and "pattern" not in schema:
        if schema.get("minLength", 0) <= len(by_name) <= schema.get("maxLength", len(by_name)):
            return by_name
    if kind == "integer" and "minimum" in schema:
        return schema["minimum"]
    if isinstance(kind, str):
        return TYPE_EXAMPLES.get(kind)
    return None


def add_examples(document: dict[str, Any]) -> None:
    schemas = document.get("components", {}).get("schemas", {})
    for item in document.get("paths", {}).values():
        for operation in item.values():
            bodies = [operation.get("requestBody", {})]
            bodies += list(operation.get("responses", {}).values())
            for body in bodies:
                for media_type, content in body.get("content", {}).items():
                    schema = content.get("schema")
                    if schema is None or "example" in content or "examples" in content:
                        continue
                    if media_type == "application/json":
                        content["example"] = example_of(schema, schemas)
