"""Languages as the theme names them: an article's ``lang`` (``fr``,
``pt-BR``) as its speakers write it ("français", "português (Brasil)"),
for the links between translations, and the direction its script runs,
for ``<html dir>``. Both from Babel's copy of the Unicode CLDR, and
registered by the plugin as the Jinja filters ``language_name`` and
``text_direction``. A code CLDR does not know stays as written, left to
right.

Imports without Flask (Pelican loads it on every build).
"""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from babel import Locale


@cache
def _locale(code: str) -> Locale | None:
    # Loaded on first use: the app's commands render no page.
    from babel import Locale, UnknownLocaleError

    try:
        return Locale.parse(code.replace("-", "_"))
    except (UnknownLocaleError, ValueError, TypeError):
        return None


def language_name(code: str) -> str:
    """Return the language ``code`` in its own words ("français" for fr)."""
    locale = _locale(str(code))
    name = locale.get_display_name(locale) if locale else None
    return name or str(code)


def text_direction(code: str) -> str:
    """Return ``rtl`` for a language written right to left, else ``ltr``."""
    locale = _locale(str(code))
    if locale is not None and locale.character_order == "right-to-left":
        return "rtl"
    return "ltr"


JINJA_FILTERS = {"language_name": language_name, "text_direction": text_direction}


def site_language(site: Any) -> str:
    """The site's ``DEFAULT_LANG`` as its last build recorded it (``site``
    is the app's ``site.index.Site``)."""
    settings = (site.render or {}).get("settings") or {}
    return str(settings.get("DEFAULT_LANG") or "en")
