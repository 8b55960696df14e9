"""The language of the pages a reader reaches from an article: that of the
article page they posted from (the original or a translation, named by the
form's ``page`` field or a ``via`` query argument), else the site's
``DEFAULT_LANG``. Set on ``g.page_lang``, which the app's templates
(``site/i18n.py``) and messages (``core/translations.py``) read."""

from __future__ import annotations

from flask import g

from ..site.index import Article, Site
from ..site.languages import site_language


def use_page_language(site: Site, article: Article | None, url: str | None) -> str:
    """Speak the language of ``article``'s page at ``url`` (its own page if
    ``url`` names none of its pages) for the rest of this request."""
    view = site.view(article, url) if article is not None else None
    g.page_lang = view.lang if view is not None and view.lang else site_language(site)
    return str(g.page_lang)
