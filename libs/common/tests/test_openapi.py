"""The finished OpenAPI document: operationIds, security, one Problem schema that matches what
the error handlers send, examples."""

from __future__ import annotations

import uuid
from typing import Any

import jsonschema
from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from parley_common.app import create_service_app
from parley_common.errors import NotFound, responses
from parley_common.openapi import operation_name
from parley_common.openapi_examples import example_of
from parley_common.pagination import Page
from parley_common.security import CurrentAdmin, CurrentAgent, CurrentVisitor
from parley_common.testing import make_agent, running_app


class ThingNotFound(NotFound):
    code = "thing_not_found"


class ThingIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=10)


class ThingOut(BaseModel):
    id: uuid.UUID
    name: str


router = APIRouter(tags=["things"])


@router.get("/api/v1/things", response_model=Page[ThingOut])
async def list_things(agent: CurrentAgent) -> Page[ThingOut]:
    return Page(items=[], next_cursor=None)


@router.get("/api/v1/things/{thing_id}", responses=responses(ThingNotFound))
async def get_thing(thing_id: uuid.UUID, agent: CurrentAgent) -> ThingOut:
    raise ThingNotFound(f"No thing {thing_id}.")


@router.post("/api/v1/things", status_code=201)
async def create_thing(body: ThingIn, agent: CurrentAdmin) -> ThingOut:
    return ThingOut(id=uuid.uuid4(), name=body.name)


@router.post("/api/v1/things/{thing_id}/polish", status_code=204)
async def polish(thing_id: uuid.UUID, visitor: CurrentVisitor) -> None:
    return None


@router.post("/api/v1/auth/login")
async def login(body: ThingIn) -> dict[str, str]:
    return {"token": "t"}


def app():
    return create_service_app("test", [router], uses_database=False)


def problem_validator(document: dict[str, Any]) -> jsonschema.Validator:
    schema = {"$ref": "#/components/schemas/Problem", "components": document["components"]}
    return jsonschema.Draft202012Validator(schema)


async def test_operation_ids_security_and_errors() -> None:
    document = app().openapi()
    paths = document["paths"]
    ops = {op["operationId"]: op for item in paths.values() for op in item.values()}
    assert set(ops) == {"things_list", "things_get", "things_create", "things_polish", "auth_login"}
    assert ops["things_list"]["security"] == [{"bearer": []}]
    assert ops["things_polish"]["security"] == [{"visitor": []}]
    assert "security" not in ops["auth_login"] and "security" not in document
    statuses = {name: set(op["responses"]) for name, op in ops.items()}
    assert statuses["things_get"] >= {"401", "404", "422", "429", "503"}
    assert "403" in statuses["things_create"] and "413" in statuses["things_create"]
    assert "403" not in statuses["things_get"]
    assert "401" not in statuses["auth_login"]
    assert "thing_not_found" in ops["things_get"]["responses"]["404"]["description"]
    for op in ops.values():
        for status, response in op["responses"].items():
            if int(status) >= 400:
                assert response["content"] == {
                    "application/problem+json": {
                        "schema": {"$ref": "#/components/schemas/Problem"},
                        "example": response["content"]["application/problem+json"]["example"],
                    }
                }
                problem_validator(document).validate(
                    response["content"]["application/problem+json"]["example"]
                )
        assert op["summary"]
    assert "Retry-After" in ops["things_get"]["responses"]["429"]["headers"]
    assert "Retry-After" in ops["things_get"]["responses"]["503"]["headers"]
    assert "HTTPValidationError" not in document["components"]["schemas"]


async def test_problems_sent_match_the_schema(database) -> None:
    document = app().openapi()
    validator = problem_validator(document)
    headers = make_agent(role="admin").headers
    async with running_app(app()) as client:
        invalid = await client.post("/api/v1/things", json={"name": ""}, headers=headers)
        missing = await client.get(f"/api/v1/things/{uuid.uuid4()}", headers=headers)
        anonymous = await client.get("/api/v1/things")
    assert invalid.status_code == 422 and missing.status_code == 404
    assert anonymous.status_code == 401
    for resp in (invalid, missing, anonymous):
        assert resp.headers["content-type"] == "application/problem+json"
        validator.validate(resp.json())
    assert invalid.json()["errors"] == [
        {
            "loc": ["body", "name"],
            "msg": "String should have at least 1 character",
            "code": "string_too_short",
        }
    ]


def test_operation_names() -> None:
    assert operation_name("/api/v1/conversations", "GET", returns_list=True) == (
        "conversations_list"
    )
    assert operation_name("/api/v1/conversations/{id}", "GET") == "conversations_get"
    assert operation_name("/api/v1/conversations/{id}/messages", "POST") == (
        "conversations_messages_create"
    )
    assert operation_name("/api/v1/conversations/{id}/resolve", "POST") == ("conversations_resolve")
    assert operation_name("/api/v1/account/settings/contact-form", "PATCH") == (
        "account_settings_contact_form_update"
    )
    assert operation_name("/api/v1/stream", "CONNECT") == "stream_connect"


def test_every_body_has_an_example_that_fits_its_schema() -> None:
    document = app().openapi()
    for item in document["paths"].values():
        for op in item.values():
            bodies = [op.get("requestBody", {}), *op["responses"].values()]
            for body in bodies:
                for content in body.get("content", {}).values():
                    schema = {**content["schema"], "components": document["components"]}
                    jsonschema.Draft202012Validator(schema).validate(content["example"])
    schemas = document["components"]["schemas"]
    assert example_of({"$ref": "#/components/schemas/ThingIn"}, schemas) == {"name": "text"}


def test_etag_documentation_switch(monkeypatch) -> None:
    """contract-runtime flips DOCUMENT_ETAGS once every GET answers with an ETag."""
    from parley_common import openapi

    monkeypatch.setattr(openapi, "DOCUMENT_ETAGS", True)
    operation = app().openapi()["paths"]["/api/v1/things/{thing_id}"]["get"]
    assert "ETag" in operation["responses"]["200"]["headers"]
    assert "304" in operation["responses"]
    assert "If-None-Match" in {p["name"] for p in operation["parameters"]}
