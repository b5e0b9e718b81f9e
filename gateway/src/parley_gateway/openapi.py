"""The merged OpenAPI document: every service's /api/v1 paths once, with their schemas."""

from __future__ import annotations

import asyncio
import inspect
import json
import time
from typing import Any

import aiohttp
from fastapi import APIRouter, FastAPI, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.routing import APIWebSocketRoute

from parley_common.errors import PROBLEM_SCHEMA
from parley_common.events.catalogue import openapi_webhooks
from parley_common.openapi import SECURITY_SCHEMES, operation_name, rename_refs
from parley_gateway.config import SERVICES, GatewaySettings
from parley_gateway.stream.asyncapi import stream_document

CACHE_SECONDS = 30.0


def merge_documents(own: dict[str, Any], services: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Merge service documents; a schema name two services define differently gets the
    service's name in front (``VisitorsDeviceOut``), as its key and its title."""
    merged: dict[str, Any] = {
        "openapi": own.get("openapi", "3.1.0"),
        "info": {
            "title": "Parley API",
            "version": "1.0.0",
            "description": "The one public API of Parley. Errors are "
            "application/problem+json with a stable `code`.",
        },
        "paths": dict(own.get("paths", {})),
        "components": {
            "schemas": dict(own.get("components", {}).get("schemas", {})),
            "securitySchemes": SECURITY_SCHEMES,
        },
        "tags": [],
    }
    schemas: dict[str, Any] = merged["components"]["schemas"]
    areas: dict[str, str] = {"stream": "gateway", "web": "gateway", "boot": "gateway"}
    for service, doc in services.items():
        renames: dict[str, str] = {}
        own_schemas = doc.get("components", {}).get("schemas", {})
        for name, schema in own_schemas.items():
            if name in schemas and json.dumps(schemas[name], sort_keys=True) != json.dumps(
                rename_refs(schema, {}), sort_keys=True
            ):
                renames[name] = service.capitalize() + name
        for name, schema in own_schemas.items():
            schemas[renames.get(name, name)] = rename_refs(schema, renames)
            if name in renames:
                schemas[renames[name]]["title"] = renames[name]
        for path, item in doc.get("paths", {}).items():
            if not path.startswith("/api/v1/"):
                continue
            item = rename_refs(item, renames)
            for operation in item.values():
                if isinstance(operation, dict):
                    operation.setdefault("tags", [service])
            merged["paths"].setdefault(path, {}).update(item)
            for operation in item.values():
                if isinstance(operation, dict):
                    areas.setdefault(operation["tags"][0], service)
    merged["tags"] = [
        {"name": area, "description": f"Served by the {service} service"}
        for area, service in sorted(areas.items())
    ]
    return merged


async def fetch_documents(
    client: aiohttp.ClientSession, settings: GatewaySettings
) -> dict[str, dict[str, Any]]:
    async def one(service: str) -> tuple[str, dict[str, Any] | None]:
        try:
            async with client.get(
                settings.service_url(service) + "/openapi.json",
                timeout=aiohttp.ClientTimeout(total=5),
            ) as resp:
                if resp.status == 200:
                    return service, await resp.json()
        except (aiohttp.ClientError, TimeoutError):
            pass
        return service, None

    results = await asyncio.gather(*(one(s) for s in SERVICES))
    return {name: doc for name, doc in results if doc is not None}


def _routes(routes: list[Any]) -> list[Any]:
    """Every route, including those of included routers."""
    found: list[Any] = []
    for route in routes:
        included = getattr(route, "original_router", None)
        found += _routes(included.routes) if included is not None else [route]
    return found


def websocket_paths(app: FastAPI) -> dict[str, Any]:
    """The gateway's websockets, described as the GET upgrade requests they are."""
    paths: dict[str, Any] = {}
    for route in _routes(app.routes):
        if isinstance(route, APIWebSocketRoute):
            doc = inspect.getdoc(route.endpoint) or ""
            widget = route.path.startswith("/api/v1/widget/")
            errors = {
                "401": {"description": "Not authenticated", **PROBLEM_SCHEMA},
                "422": {"description": "Bad `since`/`epoch`", **PROBLEM_SCHEMA},
                "429": {"description": "Too many upgrade attempts", **PROBLEM_SCHEMA},
            }
            if widget:
                errors["403"] = {"description": "Origin not allowed", **PROBLEM_SCHEMA}
            paths[route.path] = {
                "get": {
                    "tags": ["stream"],
                    "operationId": operation_name(route.path, "CONNECT"),
                    "summary": doc.split("\n", 1)[0],
                    "description": doc,
                    "responses": {
                        "101": {"description": "Switching Protocols: the websocket is open"},
                        **errors,
                    },
                    "security": [{"visitor" if widget else "bearer": []}],
                }
            }
    return paths


router = APIRouter(include_in_schema=False)


@router.get("/openapi.json")
async def openapi_document(request: Request) -> JSONResponse:
    app: FastAPI = request.app
    cached = getattr(app.state, "openapi_cache", None)
    if cached is None or time.monotonic() - cached[0] > CACHE_SECONDS:
        documents = await fetch_documents(app.state.http, app.state.settings)
        document = merge_documents(app.openapi(), documents)
        document["paths"].update(websocket_paths(app))
        document["webhooks"] = openapi_webhooks()
        document["x-services-missing"] = [s for s in SERVICES if s not in documents]
        cached = (time.monotonic(), document)
        if not document["x-services-missing"]:
            app.state.openapi_cache = cached
    return JSONResponse(cached[1])


@router.get("/asyncapi.json")
async def asyncapi_document(request: Request) -> JSONResponse:
    """The stream protocol (AsyncAPI 3): every frame both ways and every event's data."""
    return JSONResponse(stream_document(request.app.state.settings.public_url))


@router.get("/docs")
async def docs() -> HTMLResponse:
    return get_swagger_ui_html(openapi_url="/openapi.json", title="Parley API")
