"""Push payloads fit APNs' 4,096 bytes, counted as sent (UTF-8 JSON), cut between characters:
the alert body first, then long custom fields, then the title; ids are never cut."""

from __future__ import annotations

import json
import uuid

from parley_common.testing import eventually
from parley_notify import pushes

from .conftest import register

ACCOUNT = uuid.uuid4()
LONG_URL = "https://магазин.example/" + "каталог-товаров/" * 140  # 2,264 characters, most 2 bytes
EMOJI = "😀👍🏽👩‍💻🇨🇿"


def alert(body: str, title: str = "New visitor", **extra: object) -> pushes.Alert:
    return pushes.Alert(
        kind="new_visitor",
        title=title,
        body=body,
        thread_id="visitors",
        conversation_id=uuid.uuid4(),
        extra=tuple(extra.items()),
    )


def sent_size(payload: dict) -> int:
    return len(json.dumps(payload, ensure_ascii=False).encode("utf-8"))


def test_a_short_payload_is_left_alone() -> None:
    payload = pushes.payload(alert("Vera is on /pricing"), account_id=ACCOUNT, badge=1, sound=True)
    assert payload["aps"]["alert"]["body"] == "Vera is on /pricing"


def test_a_2048_character_non_ascii_url_is_cut_to_the_limit() -> None:
    url = LONG_URL[:2048]
    assert len(url) == 2048 and len(url.encode()) == 3826
    body = f"Věra is on {url}"
    payload = pushes.payload(alert(body), account_id=ACCOUNT, badge=3, sound=True)
    size = sent_size(payload)
    assert 4096 - 8 <= size <= 4096  # cut to the limit, not far below it
    cut = payload["aps"]["alert"]["body"]
    assert cut.endswith("…") and body.startswith(cut[:-1])
    assert payload["aps"]["alert"]["title"] == "New visitor"
    assert payload["aps"]["badge"] == 3 and payload["account_id"] == str(ACCOUNT)


def test_emoji_are_never_cut_in_half() -> None:
    for shift in range(12):  # every alignment of the cut against the multi-byte characters
        body = "x" * shift + EMOJI * 400
        payload = pushes.payload(alert(body), account_id=ACCOUNT, badge=1, sound=False)
        assert sent_size(payload) <= 4096
        cut = payload["aps"]["alert"]["body"]
        assert cut.endswith("…") and body.startswith(cut[:-1])
        assert not cut[:-1].endswith(("\u200d", "\ufe0f"))
        cut.encode("utf-8")  # no lone surrogate or broken character


def test_json_escapes_are_counted() -> None:
    body = '"\\\n' * 2000  # each character takes two bytes once escaped
    payload = pushes.payload(alert(body), account_id=ACCOUNT, badge=1, sound=True)
    assert 4096 - 8 <= sent_size(payload) <= 4096
    assert payload["aps"]["alert"]["body"].endswith("…")


def test_long_custom_fields_go_after_the_body_and_ids_stay_whole() -> None:
    page = LONG_URL * 2
    visitor_id = str(uuid.uuid4())
    payload = pushes.payload(
        alert("Anna is on the pricing page", page_url=page, visitor_id=visitor_id),
        account_id=ACCOUNT,
        badge=1,
        sound=True,
    )
    assert sent_size(payload) <= 4096
    assert payload["aps"]["alert"]["body"] == ""  # the body went first, then the field
    assert payload["page_url"].endswith("…") and page.startswith(payload["page_url"][:-1])
    assert payload["visitor_id"] == visitor_id and payload["aps"]["alert"]["title"]


def test_a_huge_emoji_title_is_cut_last() -> None:
    payload = pushes.payload(alert("Hi", title=EMOJI * 600), account_id=ACCOUNT, badge=1, sound=1)
    assert sent_size(payload) <= 4096
    assert payload["aps"]["alert"]["body"] == ""
    assert payload["aps"]["alert"]["title"].endswith("…")


def test_cut_counts_bytes_not_characters() -> None:
    assert pushes.cut("žžžž", 8) == "žžžž"
    assert pushes.cut("žžžž", 7) == "žž…"  # 2 + 2 + 3 bytes
    assert pushes.cut("😀😀", 6) == "…"
    assert pushes.cut("😀😀", 2) == ""
    assert pushes.cut('a"b', 4) == 'a"b' and pushes.cut('a"bc', 4) == "a…"  # an escaped quote: 2


async def test_the_new_visitor_push_with_a_long_url_and_emoji_is_accepted_by_apns(
    api, agent, feed, apns, notify_worker
):
    token = await register(api, agent)
    await feed(
        "visitors.visitor.arrived",
        agent.account_id,
        {"visitor_id": uuid.uuid4(), "name": "Zoë " + EMOJI * 20, "url": LONG_URL[:2048]},
    )
    push = (await eventually(lambda: apns.for_token(token)))[0]
    assert push.status == 200 and 4000 < push.size <= 4096
    body = push.payload["aps"]["alert"]["body"]
    assert body.startswith("Zoë " + EMOJI * 20 + " is on https://магазин.example/каталог")
    assert body.endswith("…")
