"""The language the desk speaks: its author's setting (``Author.lang``)
if the site ships that language, else the site's default language, as the
mail to authors does (``mail.messages.author_language``); the sign-in page
speaks the site's.

Every desk request sets ``g.page_lang`` before its view runs, so the
views' ``gettext``, the forms' ``lazy_gettext``, the templates' ``_()`` and
the dates (``factory._site_time``) all follow it. Also the languages an
author may choose on the settings page (``settings.py``), and the words
for the states of what the desk lists as the template filter
``state_name`` (``words.py``), and why a comment was held, ``reason``
(``core/reasons.py``).
"""

from __future__ import annotations

from flask import g

from ..core.models import Author
from ..core.reasons import moderator_words
from ..core.translations import shipped
from ..mail.messages import author_language
from ..site.index import site_index
from ..site.languages import language_name, site_language
from . import auth
from .access import bp
from .words import state_name

bp.add_app_template_filter(state_name, "state_name")
bp.add_app_template_filter(moderator_words, "reason")


def site_default_language() -> str:
    """The site's default language, as its last build recorded it."""
    return site_language(site_index().current())


def desk_language(author: Author | None) -> str:
    """The language of ``author``'s desk: theirs if the site ships it, else
    the site's (no one signed in: the site's)."""
    return author_language(author.lang if author is not None else None)


def shipped_languages() -> list[tuple[str, str]]:
    """(code, name in its own words) of every language the desk can speak:
    English and each language with a catalogue, English first."""
    return [(code, language_name(code)) for code in shipped()]


@bp.before_request
def speak_the_authors_language() -> None:
    """Speak the signed-in author's language on every desk page."""
    g.page_lang = desk_language(auth.current_author())
