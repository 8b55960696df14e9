"""The language the desk speaks: its author's setting (``Author.lang``),
else the site's default language; the sign-in page speaks the site's.

Every desk request sets ``g.page_lang`` before its view runs, so the
views' ``gettext``, the forms' ``lazy_gettext``, the templates' ``_()`` and
the dates (``factory._site_time``) all follow it. Also the languages an
author may choose on the settings page (``settings.py``), and the words
for the states of what the desk lists as the template filter
``state_name`` (``words.py``).
"""

from __future__ import annotations

from flask import g

from ..core.models import Author
from ..core.translations import CATALOGUES
from ..site.index import site_index
from ..site.languages import language_name, site_language
from . import auth
from .access import bp
from .words import state_name

bp.add_app_template_filter(state_name, "state_name")

#: The language the code and templates are written in.
SOURCE_LANGUAGE = "en"


def site_default_language() -> str:
    """The site's default language, as its last build recorded it."""
    return site_language(site_index().current())


def desk_language(author: Author | None) -> str:
    """The language of ``author``'s desk: theirs, else the site's."""
    if author is not None and author.lang:
        return author.lang
    return site_default_language()


def shipped_languages() -> list[tuple[str, str]]:
    """(code, name in its own words) of every language the desk can speak:
    English and each language with a catalogue, English first."""
    codes = sorted(
        folder.name
        for folder in CATALOGUES.iterdir()
        if (folder / "LC_MESSAGES" / "messages.po").is_file()
    )
    return [(code, language_name(code)) for code in [SOURCE_LANGUAGE, *codes]]


@bp.before_request
def speak_the_authors_language() -> None:
    """Speak the signed-in author's language on every desk page."""
    g.page_lang = desk_language(auth.current_author())
