"""Every service's OpenAPI document, finished in one place.

FastAPI writes the paths and schemas; this module adds what every operation shares, from the
routes themselves rather than by hand on 95 of them: readable operationIds, the errors an
operation can answer (one ``Problem`` schema, ``application/problem+json``, 422 included),
``Retry-After`` on 429/503, who must be signed in (``security``) and an example for every
request and response body.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator
from types import UnionType
from typing import Any, Union, get_args, get_origin

from fastapi import FastAPI, routing
from fastapi.dependencies.models import Dependant
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute

from parley_common.errors import (
    PROBLEM_JSON,
    PROBLEM_REF,
    PROBLEM_SCHEMAS,
    DomainError,
    dependency_errors,
)
from parley_common.openapi_examples import add_examples, problem_example
from parley_common.security import current_agent, current_visitor

API_PREFIX = "/api/v1"
SCHEMAS_REF = "#/components/schemas/"

# contract-runtime: flip on once every GET of a list or an object answers with an ETag.
DOCUMENT_ETAGS = False

SECURITY_SCHEMES: dict[str, Any] = {
    "bearer": {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
        "description": "An agent's access token from `POST /api/v1/auth/login` or `/signup`.",
    },
    "visitor": {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
        "description": "A visitor's token from `POST /api/v1/widget/sessions`.",
    },
}
_SCHEME_OF: dict[Callable[..., Any], str] = {current_agent: "bearer", current_visitor: "visitor"}

DEFAULT_DESCRIPTIONS = {
    400: "Bad request",
    401: "Not signed in, or the token has expired or was revoked",
    403: "Signed in, but not allowed to do this",
    404: "No such object in this account",
    409: "Conflicts with the object's current state",
    413: "The request body is too large",
    422: "The request is not valid: `errors[]` says where and why",
    429: "Too many requests: retry after `Retry-After` seconds",
    502: "The gateway could not reach the service",
    503: "Overloaded or unavailable: retry after `Retry-After` seconds",
    504: "The service did not answer in time",
}
# Any request through the gateway can meet its rate limit, load shedding or a service away.
EVERY_OPERATION = (429, 502, 503, 504)
RETRY_AFTER = {
    "Retry-After": {
        "description": "Seconds to wait before retrying",
        "schema": {"type": "integer", "minimum": 1},
        "example": 30,
    }
}
ETAG_HEADER = {
    "ETag": {
        "description": "The representation's version; send it as `If-None-Match`",
        "schema": {"type": "string"},
        "example": '"3f2a9c1d"',
    }
}


# --- operationIds ----------------------------------------------------------------------------
def operation_name(path: str, method: str, returns_list: bool = False) -> str:
    """``conversations_list``, ``conversations_messages_create``, ``conversations_resolve``:
    the path's fixed segments, then what the method does to them (nothing for an action)."""
    parts = [p for p in path.removeprefix(API_PREFIX).split("/") if p]
    names = [p.replace("-", "_").replace(".", "_") for p in parts if not p.startswith("{")]
    on_item = bool(parts) and parts[-1].startswith("{")
    method = method.upper()
    if method == "GET":
        verb = "list" if returns_list and not on_item else "get"
    elif method in ("PUT", "PATCH"):
        verb = "update"
    elif method == "DELETE":
        verb = "delete"
    elif method == "POST":  # to a collection it creates; to anything else, the action it names
        verb = "create" if on_item or (names and names[-1].endswith("s")) else ""
    else:
        verb = method.lower()
    return "_".join(filter(None, [*names, verb])) or "root"


def _is_list(model: Any) -> bool:
    if get_origin(model) is list:
        return True
    if isinstance(model, UnionType) or get_origin(model) is Union:
        return all(_is_list(member) for member in get_args(model))
    return "items" in getattr(model, "model_fields", {})


def _returns_list(route: Any) -> bool:
    return _is_list(route.response_model)


def operation_id(route: Any, method: str) -> str:
    """The route's own ``operation_id=`` if it set one, else its readable name."""
    explicit: str | None = route.operation_id
    return explicit or operation_name(route.path_format, method, _returns_list(route))


# --- what each route can answer ---------------------------------------------------------------
def _dependencies(dependant: Dependant) -> Iterator[Callable[..., Any]]:
    for sub in dependant.dependencies:
        if sub.call is not None:
            yield sub.call
        yield from _dependencies(sub)


def _route_facts(route: Any) -> tuple[str | None, set[int]]:
    """The security scheme the route needs (if any) and the error statuses it can answer."""
    scheme = None
    statuses: set[int] = set(EVERY_OPERATION)
    for call in _dependencies(route.dependant):
        scheme = scheme or _SCHEME_OF.get(call)
        statuses |= {err.status for err in dependency_errors(call)}
    if scheme is not None:
        statuses.add(401)
    if route.dependant.path_params:
        statuses.add(404)
    if route.body_field is not None:
        statuses |= {413, 422}
    if route.dependant.query_params or route.dependant.path_params or route.dependant.header_params:
        statuses.add(422)
    return scheme, statuses


def _error_response(status: int, described: dict[str, Any] | None) -> dict[str, Any]:
    description = (described or {}).get("description") or DEFAULT_DESCRIPTIONS.get(status, "Error")
    if status in DEFAULT_DESCRIPTIONS and description != DEFAULT_DESCRIPTIONS[status]:
        # Declared with the domain error codes it can carry: keep them after the general text.
        description = f"{DEFAULT_DESCRIPTIONS[status]} (`code`: {description})"
    response: dict[str, Any] = {
        "description": description,
        "content": {PROBLEM_JSON: {"schema": PROBLEM_REF, "example": problem_example(status)}},
    }
    if status in (429, 503):
        response["headers"] = copy.deepcopy(RETRY_AFTER)
    return response


def _finish_operation(route: Any, method: str, operation: dict[str, Any]) -> dict[str, str]:
    """Complete one operation; returns the body schemas to rename (FastAPI's ``Body_...``)."""
    operation["operationId"] = name = operation_id(route, method)
    scheme, statuses = _route_facts(route)
    responses: dict[str, Any] = operation.setdefault("responses", {})
    declared = {int(s) for s in responses if s.isdigit() and int(s) >= 400}
    for error in sorted(statuses | declared):
        described = responses.get(str(error))
        if described and set(described.get("content", {})) - {"application/json", PROBLEM_JSON}:
            continue  # a web page's own error page (text/html), not a problem
        responses[str(error)] = _error_response(error, described)
    if scheme is not None:
        operation["security"] = [{scheme: []}]
    if DOCUMENT_ETAGS and method == "get":
        for status, response in responses.items():
            if status.startswith("2"):
                response.setdefault("headers", {}).update(copy.deepcopy(ETAG_HEADER))
        responses["304"] = {"description": "Not modified since the `If-None-Match` ETag"}
        operation.setdefault("parameters", []).append(
            {
                "name": "If-None-Match",
                "in": "header",
                "required": False,
                "description": "The ETag of the representation the client holds",
                "schema": {"type": "string"},
            }
        )
    renames = {}
    for content in operation.get("requestBody", {}).get("content", {}).values():
        ref = content.get("schema", {}).get("$ref", "")
        if ref.rsplit("/", 1)[-1].startswith("Body_"):
            pascal = "".join(part.capitalize() for part in name.split("_"))
            renames[ref.rsplit("/", 1)[-1]] = pascal + "Body"
    return renames


# --- the document -----------------------------------------------------------------------------
def finish_document(app: FastAPI, document: dict[str, Any]) -> dict[str, Any]:
    components = document.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    for name in ("HTTPValidationError", "ValidationError"):
        schemas.pop(name, None)
    schemas.update(copy.deepcopy(PROBLEM_SCHEMAS))
    components["securitySchemes"] = copy.deepcopy(SECURITY_SCHEMES)
    paths = document.get("paths", {})
    renames: dict[str, str] = {}
    for route in routing.iter_route_contexts(app.routes):
        if not isinstance(route.original_route, APIRoute) or not route.include_in_schema:
            continue
        for method in route.methods or ():
            operation = paths.get(route.path_format, {}).get(method.lower())
            if operation is not None:
                renames |= _finish_operation(route, method.lower(), operation)
    # FastAPI's separate input/output schemas share a title: name each after its key.
    renames |= {
        name: name.replace("-", "")
        for name in schemas
        if name.endswith("-Input") or name.endswith("-Output")
    }
    document = rename_schemas(document, renames)
    add_examples(document)
    return document


def rename_refs(node: Any, renames: dict[str, str]) -> Any:
    """``node`` with every ``$ref`` to a renamed schema pointing at its new name."""
    if isinstance(node, list):
        return [rename_refs(v, renames) for v in node]
    if not isinstance(node, dict):
        return node
    out = {}
    for key, value in node.items():
        if key == "$ref" and isinstance(value, str) and value.startswith(SCHEMAS_REF):
            name = value.removeprefix(SCHEMAS_REF)
            out[key] = SCHEMAS_REF + renames.get(name, name)
        else:
            out[key] = rename_refs(value, renames)
    return out


def rename_schemas(document: dict[str, Any], renames: dict[str, str]) -> dict[str, Any]:
    """The document with schemas renamed: their keys, titles and every ``$ref`` to them."""
    if not renames:
        return document
    document = rename_refs(document, renames)
    schemas = document["components"]["schemas"]
    document["components"]["schemas"] = {
        renames.get(name, name): {**schema, "title": renames[name]} if name in renames else schema
        for name, schema in schemas.items()
    }
    return document


def install(app: FastAPI) -> None:
    """Serve the finished document as the app's ``/openapi.json``."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = get_openapi(
                title=app.title,
                version=app.version,
                description=app.description,
                routes=app.routes,
            )
            app.openapi_schema = finish_document(app, document)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


__all__ = ["DomainError", "finish_document", "install", "operation_id", "operation_name"]
