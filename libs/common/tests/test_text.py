"""The safe string types and the NUL guard every service app has at its edge."""

from __future__ import annotations

import pytest
from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from parley_common.app import create_service_app
from parley_common.testing import running_app
from parley_common.text import MultilineText, Text, json_has_nul


class Note(BaseModel):
    model_config = ConfigDict(extra="forbid")
    title: Text = Field(max_length=20)
    body: MultilineText = Field(max_length=100)


router = APIRouter()
received: list[dict] = []


@router.post("/api/v1/notes")
async def create_note(note: Note) -> dict:
    received.append(note.model_dump())
    return note.model_dump()


@router.post("/api/v1/anything")
async def anything(payload: dict) -> dict:
    received.append(payload)
    return payload


@router.get("/api/v1/search")
async def search(q: str = "") -> dict:
    received.append({"q": q})
    return {"q": q}


@pytest.mark.parametrize("bad", ["a\x00b", "a\x01b", "a\nb", "tab\there", "\x7f", "\u0085"])
def test_text_is_one_line_without_control_characters(bad: str) -> None:
    with pytest.raises(ValidationError):
        Note(title=bad, body="ok")


def test_multiline_text_allows_line_breaks_and_tab_only() -> None:
    assert Note(title="Hi", body="line one\r\nline\ttwo").body == "line one\r\nline\ttwo"
    for bad in ("a\x00b", "bell\x07", "esc\x1b[31m"):
        with pytest.raises(ValidationError):
            Note(title="Hi", body=bad)
    with pytest.raises(ValidationError):
        Note(title="x" * 21, body="")


def test_json_has_nul_tells_an_escape_from_an_escaped_backslash() -> None:
    assert json_has_nul(b'{"a": "x\\u0000y"}')
    assert json_has_nul(b'{"a": "x\\\\\\u0000y"}')
    assert json_has_nul(b'{"a": "\x00"}')
    assert not json_has_nul(b'{"a": "x\\\\u0000y"}')  # the six characters \u0000, no NUL
    assert not json_has_nul(b'{"a": "plain"}')


async def test_nul_anywhere_is_422_before_any_route(database) -> None:
    received.clear()
    app = create_service_app("test", [router], uses_database=False)
    async with running_app(app) as client:
        nested = await client.post("/api/v1/anything", json={"a": [{"b": "x\x00"}]})
        in_key = await client.post("/api/v1/anything", json={"k\x00": 1})
        query = await client.get("/api/v1/search", params={"q": "a\x00b"})
        typed = await client.post("/api/v1/notes", json={"title": "a\x01", "body": ""})
        fine = await client.post("/api/v1/anything", json={"a": "x\\u0000y", "b": "é\n"})
    for resp in (nested, in_key, query, typed):
        assert resp.status_code == 422, resp.text
        assert resp.headers["content-type"] == "application/problem+json"
        assert resp.json()["code"] == "validation_error"
    assert fine.status_code == 200 and fine.json() == {"a": "x\\u0000y", "b": "é\n"}
    assert received == [{"a": "x\\u0000y", "b": "é\n"}]
