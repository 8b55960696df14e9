"""What the app knows of the published site.

The Pelican build (``feedback_app.pelican_plugin``) writes a JSON file with
the site's name, its menu pages and every published article. The app reads
it to refuse feedback for articles that do not exist and to dress its own
pages like the site. The file is re-read when it changes, so a rebuild is
seen without restarting the app.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from dataclasses import dataclass, field
from typing import Any

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Article:
    slug: str
    title: str
    url: str
    authors: tuple[str, ...] = ()
    date: str = ""
    save_as: str = ""
    category: str = ""
    tags: tuple[str, ...] = ()
    source: str = ""  # the Markdown file, under the content folder


@dataclass(frozen=True)
class CommentSettings:
    """How the comment form is built (set in pelicanconf.py)."""

    require_email: bool = False
    max_depth: int = 5


@dataclass(frozen=True)
class Site:
    name: str = "Blog"
    url: str = ""
    archives_url: str = "archives.html"
    timezone: str = "UTC"
    comments: CommentSettings = CommentSettings()
    pages: tuple[dict[str, str], ...] = ()
    articles: dict[str, Article] = field(default_factory=dict)


class SiteIndex:
    """The site as the last build described it, reloaded when the file changes."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._stamp: tuple[int, int] | None = None
        self._site = Site()
        self._lock = threading.Lock()

    def current(self) -> Site:
        """Return the site, re-reading the file if it changed since last time."""
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            return Site()
        stamp = (st.st_mtime_ns, st.st_size)
        if stamp != self._stamp:
            with self._lock:
                if stamp != self._stamp:
                    self._site = self._load()
                    self._stamp = stamp
        return self._site

    def article(self, slug: str) -> Article | None:
        """Return the published article called ``slug``, or None."""
        return self.current().articles.get(slug)

    def _load(self) -> Site:
        try:
            with open(self.path, encoding="utf-8") as fh:
                data: dict[str, Any] = json.load(fh)
        except (OSError, ValueError) as exc:
            logger.error("cannot read site index %s: %s", self.path, exc)
            return Site()
        articles = {
            a["slug"]: Article(
                slug=a["slug"],
                title=a["title"],
                url=a["url"],
                authors=tuple(a.get("authors", ())),
                date=a.get("date", ""),
                save_as=a.get("save_as", ""),
                category=a.get("category", ""),
                tags=tuple(a.get("tags", ())),
                source=a.get("source", ""),
            )
            for a in data.get("articles", ())
        }
        return Site(
            name=data.get("sitename", "Blog"),
            url=data.get("siteurl", ""),
            archives_url=data.get("archives_url", "archives.html"),
            timezone=data.get("timezone", "UTC"),
            comments=CommentSettings(**data.get("comments", {})),
            pages=tuple(data.get("pages", ())),
            articles=articles,
        )
