"""ETag / If-None-Match on every JSON GET of a service app: 200 with a tag, 304 with no body
while the body is the same, 200 with a new tag after a change; other answers are left alone."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import PlainTextResponse

from parley_common.app import create_service_app
from parley_common.errors import NotFound
from parley_common.etag import etag_of, matches
from parley_common.testing import running_app

router = APIRouter()
things: list[str] = []


@router.get("/api/v1/things")
async def list_things() -> dict:
    return {"items": list(things), "next_cursor": None}


@router.post("/api/v1/things", status_code=201)
async def add_thing() -> dict:
    things.append(f"thing {len(things)}")
    return {"items": list(things)}


@router.get("/api/v1/missing")
async def missing() -> dict:
    raise NotFound("No such thing.")


@router.get("/api/v1/text")
async def plain() -> PlainTextResponse:
    return PlainTextResponse("not json")


def app():
    return create_service_app("test", [router], uses_database=False)


async def test_get_304_while_unchanged_then_200_with_a_new_tag(database) -> None:
    things.clear()
    async with running_app(app()) as client:
        first = await client.get("/api/v1/things")
        assert first.status_code == 200 and first.json() == {"items": [], "next_cursor": None}
        etag = first.headers["etag"]
        assert etag == etag_of(first.content) and etag.startswith('"')

        again = await client.get("/api/v1/things", headers={"if-none-match": etag})
        assert again.status_code == 304 and again.content == b""
        assert again.headers["etag"] == etag and again.headers["x-request-id"]
        assert "content-type" not in again.headers
        weak = await client.get("/api/v1/things", headers={"if-none-match": f'"x", W/{etag}'})
        assert weak.status_code == 304

        created = await client.post("/api/v1/things", headers={"if-none-match": etag})
        assert created.status_code == 201 and "etag" not in created.headers

        changed = await client.get("/api/v1/things", headers={"if-none-match": etag})
        assert changed.status_code == 200 and changed.json()["items"] == ["thing 0"]
        assert changed.headers["etag"] not in (etag, None)
        assert int(changed.headers["content-length"]) == len(changed.content)


async def test_errors_and_non_json_have_no_tag(database) -> None:
    async with running_app(app()) as client:
        missing = await client.get("/api/v1/missing", headers={"if-none-match": "*"})
        text = await client.get("/api/v1/text", headers={"if-none-match": "*"})
    assert missing.status_code == 404 and "etag" not in missing.headers
    assert text.status_code == 200 and text.text == "not json" and "etag" not in text.headers


def test_if_none_match_comparison() -> None:
    tag = etag_of(b"{}")
    assert matches(tag, tag) and matches(f"W/{tag}", tag) and matches("*", tag)
    assert matches(f'"a", {tag}', tag)
    assert not matches('"a"', tag) and not matches("", tag)
