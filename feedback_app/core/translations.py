"""The translations' catalogues, and the words of the app in the language
of the page a reader came from.

The catalogues are ``feedback_app/translations/<lang>/LC_MESSAGES/
messages.po``, one set for the theme and the app (``make messages``
extracts and updates them, ``make translations`` compiles and checks
them). A ``messages.mo`` newer than its ``.po`` is read as it is; otherwise
the ``.po`` is compiled in memory, so a checkout needs no build step. A
language without a catalogue (or a word without a translation) shows the
English the code is written in.

A request's language is ``g.page_lang``: a reader's view sets it from
the article page the reader posted from or from their recorded feedback
(``readers/page_language.py``), a desk page from its author's setting
(``desk/language.py``), a link from mail from its ``?lang=``
(``use_named_language``: shipped languages only); before any of them, the
site's ``DEFAULT_LANG`` (``request_language``). ``gettext`` reads it, and
``lazy_gettext`` reads it when the text is shown (a form's messages are
made once, with the form class). Also ``shipped()``, the languages with a
catalogue, and ``number()``, a number as the language writes it.
"""

from __future__ import annotations

import gettext as gettext_module
import io
import re
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from typing import Any

from markupsafe import escape

CATALOGUES = Path(__file__).resolve().parent.parent / "translations"
DOMAIN = "messages"


#: A language code as BCP 47 and gettext write them (``fr``, ``pt-BR``,
#: ``sr_Latn``): nothing else names a folder of catalogues.
LANGUAGE_CODE = re.compile(r"[A-Za-z]{2,3}(?:[-_][A-Za-z0-9]{2,8})*")


def candidates(lang: str) -> list[str]:
    """``pt-BR`` → ``pt_BR``, then ``pt``; nothing for what is no code."""
    if not LANGUAGE_CODE.fullmatch(lang):
        return []
    code = lang.replace("-", "_")
    return [code, code.split("_")[0]] if "_" in code else [code]


@cache
def translations(lang: str) -> gettext_module.NullTranslations:
    """Return the catalogue of ``lang`` (of its base language if it has
    none of its own), or English's identity."""
    for code in candidates(str(lang or "en")):
        folder = CATALOGUES / code / "LC_MESSAGES"
        po, mo = folder / f"{DOMAIN}.po", folder / f"{DOMAIN}.mo"
        if mo.is_file() and (
            not po.is_file() or mo.stat().st_mtime >= po.stat().st_mtime
        ):
            with mo.open("rb") as fh:
                return gettext_module.GNUTranslations(fh)
        if po.is_file():
            return gettext_module.GNUTranslations(io.BytesIO(_compiled(po)))
    return gettext_module.NullTranslations()


def _compiled(po: Path) -> bytes:
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    with po.open("rb") as fh:
        catalog = read_po(fh)
    out = io.BytesIO()
    write_mo(out, catalog, use_fuzzy=False)
    return out.getvalue()


@cache
def shipped() -> tuple[str, ...]:
    """English, then every language with a catalogue (``fr``, ``de``)."""
    found = sorted(
        po.parent.parent.name for po in CATALOGUES.glob(f"*/LC_MESSAGES/{DOMAIN}.po")
    )
    return ("en", *(code for code in found if code != "en"))


#: Where the app keeps the callable that names the site's language
#: (``factory.py``: the ``DEFAULT_LANG`` of the site's last build).
SITE_LANGUAGE = "site_language"


def request_language() -> str:
    """The language of this request's pages: ``g.page_lang``, else the
    site's (as the templates fall back to it), else English."""
    from flask import current_app, g, has_app_context

    if not has_app_context():
        return "en"
    lang = g.get("page_lang")
    if not lang:
        site = current_app.extensions.get(SITE_LANGUAGE)
        lang = site() if site is not None else None
    return str(lang or "en")


def use_named_language(code: str | None) -> None:
    """Speak ``code``, the ``?lang=`` of a link that came by mail, if the
    site ships it or its base language (``fr-CA`` speaks ``fr``); else
    leave the site's. Only those: every language asked for is kept in
    memory (its catalogue, its CLDR data), and a stranger could ask for
    millions."""
    from flask import g

    for candidate in candidates(code or ""):
        shipped_code = candidate.replace("_", "-")
        if shipped_code in shipped():
            g.page_lang = shipped_code
            return


def number(n: int) -> str:
    """``n`` as the request's language writes it (5,000; 5 000; 5.000)."""
    from babel import Locale, UnknownLocaleError
    from babel.numbers import format_decimal

    for code in candidates(request_language()):
        try:
            return str(format_decimal(n, locale=Locale.parse(code)))
        except (UnknownLocaleError, ValueError):
            continue
    return f"{n:,}"


@contextmanager
def speaking(lang: str | None) -> Iterator[None]:
    """Speak ``lang`` inside the block (a mail to a reader, in the language
    they wrote in, sent from a request in another), then what was spoken
    before. ``None`` leaves the language as it is."""
    from flask import g

    if lang is None:
        yield
        return
    before = g.get("page_lang")
    g.page_lang = lang
    try:
        yield
    finally:
        if before is None:
            g.pop("page_lang", None)
        else:
            g.page_lang = before


def N_(message: str) -> str:
    """Mark ``message`` for the catalogue, to be translated later."""
    return message


def gettext(message: str) -> str:
    """``message`` in this request's language."""
    return translations(request_language()).gettext(message)


class LazyText:
    """A message translated when it is shown, in that request's language."""

    __slots__ = ("message",)

    def __init__(self, message: str) -> None:
        self.message = message

    def __str__(self) -> str:
        return gettext(self.message)

    def __html__(self) -> str:
        return str(escape(str(self)))


def lazy_gettext(message: str) -> Any:
    """``message``, translated each time it is shown."""
    return LazyText(message)
