"""The shared catalogues: languages, negotiation, plurals, problem titles by Accept-Language,
and the committed .mo files compiled from the current .po files."""

from __future__ import annotations

import uuid

from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po
from fastapi import APIRouter

from parley_common import i18n
from parley_common.app import create_service_app
from parley_common.errors import NotFound
from parley_common.testing import running_app

router = APIRouter()


@router.get("/api/v1/things/{thing_id}")
async def get_thing(thing_id: uuid.UUID) -> dict:
    raise NotFound("No such thing.")


def entries(catalog) -> dict:
    """msgid -> msgstr, plurals as tuples (the .po reader gives tuples, the .mo reader lists)."""

    def key(value):
        return value if isinstance(value, str) else tuple(value)

    return {key(m.id): key(m.string) for m in catalog if m.id}


def test_every_catalogue_translates_every_text_and_its_mo_is_current() -> None:
    for language in ("cs", "de", "fr", "es"):
        folder = i18n.LOCALES_DIR / language / "LC_MESSAGES"
        with (folder / "parley.po").open("rb") as f:
            po = read_po(f, locale=language)
        with (folder / "parley.mo").open("rb") as f:
            mo = read_mo(f)
        texts = entries(po)
        assert len(texts) >= 40, language
        forms = [
            v for value in texts.values() for v in ([value] if isinstance(value, str) else value)
        ]
        assert all(forms), f"{language}: untranslated texts"
        assert entries(mo) == texts, f"{language}: run `make i18n`"


def test_locales_and_accept_language_pick_a_catalogue() -> None:
    assert [i18n.language_of(x) for x in ("cs-CZ", "de_AT", "FR", "ja-JP", None, "")] == [
        "cs",
        "de",
        "fr",
        "en",
        "en",
        "en",
    ]
    assert i18n.negotiate("fr-CH, fr;q=0.9, en;q=0.8") == "fr"
    assert i18n.negotiate("ja, de;q=0.3, es;q=0.4") == "es"
    assert i18n.negotiate("de;q=0, cs;q=0.1") == "cs"
    assert i18n.negotiate("*, xx-YY") == "en" and i18n.negotiate("es;q=nonsense") == "en"


def test_texts_and_plurals_in_every_language() -> None:
    one, many = "{count} new visitor on your website", "{count} new visitors on your website"
    assert i18n.ngettext("cs", one, many, 1) == "1 nový návštěvník na vašem webu"
    assert i18n.ngettext("cs", one, many, 3) == "3 noví návštěvníci na vašem webu"
    assert i18n.ngettext("cs", one, many, 5) == "5 nových návštěvníků na vašem webu"
    assert i18n.ngettext("en", one, many, 5) == "5 new visitors on your website"
    assert i18n.gettext("es", "{name} is on {page}", name="Ana", page="/") == "Ana está en /"
    assert i18n.gettext("de", "a text no catalogue has") == "a text no catalogue has"
    nested = i18n.Phrase.of("{name} is on {page}", name=i18n.Phrase.of("A visitor"), page="/x")
    assert nested.render("fr") == "Un visiteur est sur /x"


async def test_problem_titles_follow_accept_language(database) -> None:
    app = create_service_app("test", [router], uses_database=False)
    url = f"/api/v1/things/{uuid.uuid4()}"
    async with running_app(app) as client:
        czech = await client.get(url, headers={"Accept-Language": "cs-CZ,cs;q=0.9,en;q=0.5"})
        german = await client.get("/api/v1/things/not-a-uuid", headers={"Accept-Language": "de"})
        unknown = await client.get(url, headers={"Accept-Language": "ja"})
        missing = await client.get("/api/v1/nowhere", headers={"Accept-Language": "es"})
        plain = await client.get(url)
    assert czech.status_code == 404 and czech.json()["title"] == "Nenalezeno"
    assert czech.json()["code"] == "not_found" and czech.json()["detail"] == "No such thing."
    assert german.status_code == 422 and german.json()["title"] == "Ungültige Anfrage"
    assert unknown.json()["title"] == "Not found" and plain.json()["title"] == "Not found"
    assert missing.status_code == 404 and missing.json()["title"] == "No encontrado"
