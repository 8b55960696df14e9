"""Pelican plugin: connects the static site to the feedback app.

Settings it reads (``pelicanconf.py``):

``FEEDBACK_URL``
    Where the article pages' feedback form posts. Default: ``/app/feedback``
    under the path of ``SITEURL`` (the app shares the site's origin).
``FEEDBACK_SITE_INDEX``
    Path of the JSON file that tells the app which articles exist (their
    slug, title, URL and authors), the site's name and its menu pages.
    Written atomically after every build; ``None`` writes nothing.

Template variables it adds: ``FEEDBACK_URL`` and the field limits
``FEEDBACK_MAX_MESSAGE_LENGTH``, ``FEEDBACK_MAX_NAME_LENGTH`` and
``FEEDBACK_MAX_EMAIL_LENGTH`` (the app's own defaults, so the form's
``maxlength`` attributes and the app agree).
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from pelican import signals
from pelican.generators import ArticlesGenerator, PagesGenerator

from . import config as app_config

logger = logging.getLogger(__name__)


def add_defaults(pelican: Any) -> None:
    """Give every setting of this plugin its default."""
    settings = pelican.settings
    site_path = urlsplit(settings.get("SITEURL", "")).path.rstrip("/")
    settings.setdefault("FEEDBACK_URL", f"{site_path}/app/feedback")
    settings.setdefault("FEEDBACK_SITE_INDEX", None)
    settings.setdefault("FEEDBACK_MAX_MESSAGE_LENGTH", app_config.MAX_MESSAGE_LENGTH)
    settings.setdefault("FEEDBACK_MAX_NAME_LENGTH", app_config.MAX_NAME_LENGTH)
    settings.setdefault("FEEDBACK_MAX_EMAIL_LENGTH", app_config.MAX_EMAIL_LENGTH)


def write_site_index(generators: list[Any]) -> None:
    """Record the site's published articles and menu pages for the app."""
    settings = generators[0].settings
    target = settings.get("FEEDBACK_SITE_INDEX")
    if not target:
        return
    siteurl = settings.get("SITEURL", "")
    articles: list[dict[str, Any]] = []
    pages: list[dict[str, str]] = []
    for generator in generators:
        if isinstance(generator, ArticlesGenerator):
            articles.extend(
                {
                    "slug": article.slug,
                    "title": article.title,
                    "url": f"{siteurl}/{article.url}",
                    "authors": [author.name for author in article.authors],
                    "date": article.date.isoformat(),
                }
                for article in generator.articles
            )
        elif isinstance(generator, PagesGenerator):
            pages.extend({"title": p.title, "url": p.url} for p in generator.pages)
    index = {
        "sitename": settings.get("SITENAME", ""),
        "siteurl": siteurl,
        "archives_url": settings.get("ARCHIVES_URL", "archives.html"),
        "pages": pages,
        "articles": articles,
    }
    write_atomically(Path(target), json.dumps(index, indent=1, ensure_ascii=False))
    logger.info("Site index for the app: %d articles in %s", len(articles), target)


def write_atomically(path: Path, text: str) -> None:
    """Replace ``path`` with ``text`` so that readers see old or new, never half."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


def register() -> None:
    """Connect the plugin's handlers (module-level: Pelican holds them weakly)."""
    signals.initialized.connect(add_defaults)
    signals.all_generators_finalized.connect(write_site_index)
