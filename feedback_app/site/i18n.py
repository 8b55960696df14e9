"""The theme's words in the page's language: gettext for every Jinja
environment that renders the theme (Pelican's, the thread renderer's in the
build and in the app, Flask's), and dates as each language writes them.

A page speaks the language of what it shows: the article's or page's
``lang`` (a translation speaks its own), else ``DEFAULT_LANG``. So the
gettext callables installed here look that up in the template's context on
each call (``jinja2.pass_context``); one environment serves every language.

The catalogues and their loading are ``core/translations.py``'s (one set
for the theme and the app). A language without a catalogue (or a word
without a translation) shows the English the templates are written in.

Imports without Flask (Pelican loads it on every build).
"""

from __future__ import annotations

from datetime import date, datetime
from functools import cache
from typing import Any

from jinja2 import Environment, pass_context
from jinja2.runtime import Context
from markupsafe import Markup

from ..core import translations as translations_module

CATALOGUES = translations_module.CATALOGUES
translations = translations_module.translations
_candidates = translations_module.candidates


def page_language(context: Context | dict[str, Any]) -> str:
    """Return the language of the page a template renders: its article's or
    page's ``lang``, a ``lang`` variable, or ``DEFAULT_LANG``. Worked out
    once per render: a Jinja context is one template's rendering of one
    page, and a page's forms ask for their words seventy times."""
    known = getattr(context, "page_lang", None)
    if known is not None:
        return str(known)
    lang = None
    for name in ("article", "page"):
        lang = getattr(context.get(name), "lang", None)
        if lang:
            break
    lang = str(lang or context.get("lang") or context.get("DEFAULT_LANG") or "en")
    if isinstance(context, Context):
        context.page_lang = lang  # type: ignore[attr-defined]
    return lang


@pass_context
def gettext(context: Context, message: str) -> str:
    """Jinja's ``_()`` and ``gettext()``, in the page's language."""
    return translations(page_language(context)).gettext(message)


@pass_context
def ngettext(context: Context, singular: str, plural: str, n: int) -> str:
    """Jinja's ``ngettext()`` and ``{% trans count=… %}``."""
    return translations(page_language(context)).ngettext(singular, plural, n)


@pass_context
def current_lang(context: Context) -> str:
    """The template global ``current_lang()``: the page's language."""
    return page_language(context)


def install(env: Environment) -> None:
    """Give ``env`` the i18n extension (``{% trans %}`` blocks trimmed, as
    ``babel.cfg`` extracts them), these callables, ``current_lang()`` and
    the date filters."""
    if "jinja2.ext.InternationalizationExtension" not in env.extensions:
        env.add_extension("jinja2.ext.i18n")
    env.policies["ext.i18n.trimmed"] = True
    # Old-style callables: Jinja's newstyle wrappers (Markup, then % on
    # every call) cost twice these on a thousand forms a build. {% trans %}
    # blocks stay markup-safe either way; {{ _("...") }} is escaped text.
    env.install_gettext_callables(  # type: ignore[attr-defined]
        gettext, ngettext, newstyle=False
    )
    env.globals["_"] = gettext  # not Jinja's alias, which looks it up again
    env.globals["current_lang"] = current_lang
    env.filters.update(long_date=long_date, comment_date=comment_date)


@cache
def _locale(lang: str) -> Any:
    from babel import Locale, UnknownLocaleError

    for code in _candidates(lang):
        try:
            return Locale.parse(code)
        except (UnknownLocaleError, ValueError):
            continue
    return Locale.parse("en")


def long_date(moment: date | datetime, lang: str) -> str:
    """``6 December 2026``, ``6 décembre 2026``, ``6. Dezember 2026``."""
    from babel.dates import format_date

    return format_date(moment, format="long", locale=_locale(str(lang or "en")))


@cache
def _comment_date_parts(lang: str) -> tuple[tuple[str, ...], str]:
    months = _locale(lang).months["format"]["wide"]
    # Translators: a comment's date and time; keep the four {names}.
    pattern = translations(lang).gettext("{day} {month} {year} at {time}")
    return tuple(months[m] for m in range(1, 13)), pattern


def comment_date(moment: datetime, lang: str) -> Markup:
    """A comment's date and time, ``6 December 2026 at 09:05 CET``, in
    ``lang``, its zone named (a reader elsewhere would read a bare time as
    their own): the month names come from CLDR once per language and the
    order from the catalogue, so ten thousand comments cost no more than in
    English."""
    return Markup.escape(date_and_time(moment, lang, zone_label(moment)))


def zone_label(moment: datetime) -> str:
    """Return the name of the zone of ``moment`` as readers know it:
    ``CET``, ``UTC``, else its offset, ``UTC+05:30`` (the time zone database
    has only a number, ``-03``, for some zones); "" if ``moment`` is naive."""
    if moment.tzinfo is None:
        return ""
    abbreviation = moment.tzname() or ""
    if abbreviation[:1].isalpha():
        return abbreviation
    offset = moment.utcoffset()
    minutes = round(offset.total_seconds() / 60) if offset is not None else 0
    if not minutes:
        return "UTC"
    sign = "+" if minutes > 0 else "-"
    hours, minutes = divmod(abs(minutes), 60)
    return f"UTC{sign}{hours:02d}:{minutes:02d}"


def date_and_time(moment: datetime, lang: str, zone: str = "") -> str:
    """``comment_date``'s text; with ``zone``, named after the time:
    ``6 December 2026 at 09:05 CET``."""
    months, pattern = _comment_date_parts(str(lang or "en"))
    return pattern.format(
        day=moment.day,
        month=months[moment.month - 1],
        year=moment.year,
        time=f"{moment.hour:02d}:{moment.minute:02d}" + (f" {zone}" if zone else ""),
    )
