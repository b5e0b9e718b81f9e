"""Texts people read, in their language: pushes (the device's locale), e-mails (the account's
language), the chat box's default texts, problem titles (``Accept-Language``).

One gettext domain, ``parley``, with Babel's catalogues in ``locales/<lang>/LC_MESSAGES``: the
``.po`` files are the source, the compiled ``.mo`` files are committed next to them (``make i18n``
recompiles; a test fails when one is stale). English is the source language (the msgids), so
it needs no catalogue; a text a catalogue lacks stays English. Placeholders are
``str.format`` fields (``{name}``), filled after translation.
"""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from babel.support import NullTranslations, Translations

DOMAIN = "parley"
LOCALES_DIR = Path(__file__).parent / "locales"
SOURCE_LANGUAGE = "en"
LANGUAGES = ("en", "cs", "de", "fr", "es")

# The chat box's default texts (the account settings' defaults, kept in English): the chat box
# is served them in the account's language, while a text the account wrote is served as written.
WIDGET_TEXTS = {
    "title": "Chat with us",
    "welcome": "Hi! How can we help you?",
    "offline": "We are offline right now. Leave us a message.",
    "input_placeholder": "Type your message…",
    "button_label": "Chat",
}
CONTACT_FORM_OFFLINE_TEXT = "Leave us a message and we will reply by e-mail."

# The request's Accept-Language header (set by the service app's request middleware).
accept_language_var: ContextVar[str | None] = ContextVar("accept_language", default=None)


@lru_cache(maxsize=len(LANGUAGES))
def translations(language: str) -> NullTranslations:
    if language == SOURCE_LANGUAGE:
        return NullTranslations()
    return Translations.load(LOCALES_DIR, [language], DOMAIN)


def language_of(locale: str | None) -> str:
    """A language with a catalogue for a locale (``cs-CZ``, ``de_AT``, ``fr``), else English."""
    if not locale:
        return SOURCE_LANGUAGE
    primary = locale.replace("_", "-").split("-", 1)[0].strip().lower()
    return primary if primary in LANGUAGES else SOURCE_LANGUAGE


@lru_cache(maxsize=256)
def negotiate(accept_language: str | None) -> str:
    """The best language with a catalogue for an ``Accept-Language`` header (q-values
    honoured, ``*`` and unknown languages skipped), else English."""
    if not accept_language:
        return SOURCE_LANGUAGE
    ranked: list[tuple[float, int, str]] = []
    for position, item in enumerate(accept_language.split(",")[:20]):
        tag, _, params = item.strip().partition(";")
        quality = 1.0
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        language = tag.replace("_", "-").split("-", 1)[0].strip().lower()
        if quality > 0 and language in LANGUAGES:
            ranked.append((-quality, position, language))
    return min(ranked)[2] if ranked else SOURCE_LANGUAGE


def gettext(language: str, message: str, **fields: object) -> str:
    text = translations(language).gettext(message)
    return text.format(**fields) if fields else text


def ngettext(language: str, singular: str, plural: str, count: int, **fields: object) -> str:
    text = translations(language).ngettext(singular, plural, count)
    return text.format(count=count, **fields)


def request_gettext(message: str) -> str:
    """``message`` in the current request's Accept-Language (English outside a request)."""
    header = accept_language_var.get()
    return gettext(negotiate(header), message) if header else message


@dataclass(frozen=True)
class Phrase:
    """A catalogue text rendered later, in each reader's language (a push per device).
    Field values may be Phrases themselves; ``plural`` and ``count`` pick a plural form."""

    message: str
    fields: tuple[tuple[str, object], ...] = ()
    plural: str | None = None
    count: int = 0

    @classmethod
    def of(cls, message: str, **fields: object) -> Phrase:
        return cls(message, tuple(fields.items()))

    def render(self, language: str) -> str:
        fields = {k: render(v, language) for k, v in self.fields}
        if self.plural is not None:
            return ngettext(language, self.message, self.plural, self.count, **fields)
        return gettext(language, self.message, **fields)


def render(value: object, language: str) -> object:
    """A Phrase in ``language``; anything else (a visitor's name, a number) as it is."""
    return value.render(language) if isinstance(value, Phrase) else value
