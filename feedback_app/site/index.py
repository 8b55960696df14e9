"""What the app knows of the published site.

The Pelican build (``feedback_app.site.plugin``) writes a JSON file with
the site's name, its menu pages and every published article. The app reads
it to refuse feedback for articles that do not exist and to dress its own
pages like the site. The file is re-read when it changes, so a rebuild is
seen without restarting the app.

An article is known by its ``page_url``: Pelican's site-relative
``article.url`` (``2026/inside-sales-without-the-script/``), never by its
slug alone. Pelican lets two articles share a slug (in different years,
with ``ARTICLE_URL = "{date:%Y}/{slug}/"``), and an author who can publish
a post can choose its slug: keyed by slug, the second article would take
the first one's place, and with it whatever the app finds by the key.
The index says who wrote each article *now*; who owns what readers sent is
recorded with each message when it arrives (``ownership.py``).
"""

from __future__ import annotations

import json
import logging
import os
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from flask import Flask

from .contract import SITE_INDEX_VERSION, check_version, split_site_index
from .files import comment_feed_path
from .thread_model import ThreadRecord, ThreadView
from .thread_render import ThreadRenderer

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Article:
    slug: str
    title: str
    url: str  # as the site links it (with SITEURL)
    page_url: str = ""  # Pelican's article.url: what the app knows it by
    authors: tuple[str, ...] = ()
    date: str = ""
    save_as: str = ""
    category: str = ""
    tags: tuple[str, ...] = ()
    source: str = ""  # the Markdown file, under the content folder
    #: The output files that show its thread (``contract.py``): its page first.
    outputs: tuple[str, ...] = ()
    #: Its thread: the pages that show it (None in an index from before).
    thread: ThreadRecord | None = None


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
    #: What threads are rendered with (``thread_render.render_settings``);
    #: None in an index from before.
    render: dict[str, Any] | None = None
    #: Every published article, by its ``page_url``.
    articles: Mapping[str, Article] = field(default_factory=dict)

    @property
    def slugs(self) -> frozenset[str]:
        """Return the slugs the site's articles use (taken for a new post)."""
        return frozenset(a.slug for a in self.articles.values())

    def view(self, article: Article, url: str | None) -> ThreadView | None:
        """Return the page of ``article``'s thread at the site-relative
        ``url`` (the article's own, or a translation's), else its own."""
        if article.thread is None:
            return None
        views = article.thread.views
        return next((v for v in views if v.url == url), views[0])

    def article_with_slug(self, slug: str) -> Article | None:
        """Return the one article with ``slug``; None if none, or several
        (a slug names no article for sure: see the module's docstring)."""
        found = [a for a in self.articles.values() if a.slug == slug]
        return found[0] if len(found) == 1 else None


class SiteIndex:
    """The site as the last build described it, reloaded when the file changes."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._stamp: tuple[int, int] | None = None
        self._site = Site()
        self._lock = threading.Lock()
        self._renderer: tuple[Site, ThreadRenderer] | None = None

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

    def renderer(self) -> ThreadRenderer | None:
        """Return the renderer of threads the current site's build recorded
        (``thread_render.py``), or None for an index from before."""
        site = self.current()
        cached = self._renderer
        if cached is None or cached[0] is not site:
            if site.render is None:
                return None
            cached = (site, ThreadRenderer(site.render, list(site.pages)))
            self._renderer = cached
        return cached[1]

    def article(self, page_url: str) -> Article | None:
        """Return the published article at ``page_url``, or None."""
        return self.current().articles.get(page_url)

    def _load(self) -> Site:
        try:
            with open(self.path, "rb") as fh:
                raw = fh.read()
            split = split_site_index(raw)
            data: dict[str, Any] = split[0] if split else json.loads(raw)
            check_version(data, SITE_INDEX_VERSION, f"The site index {self.path}")
        except (OSError, ValueError) as exc:
            # VersionError is a ValueError: a newer index is not misread.
            logger.error("cannot read site index %s: %s", self.path, exc)
            return Site()
        siteurl = data.get("siteurl", "")
        if split is not None:  # each article parsed when first asked for
            articles = Articles(dict(split[1]))
        else:
            articles = Articles(
                {
                    a.get("page_url") or _page_url(a["url"], siteurl): a
                    for a in data.get("articles", ())
                }
            )
        return Site(
            name=data.get("sitename", "Blog"),
            url=data.get("siteurl", ""),
            archives_url=data.get("archives_url", "archives.html"),
            timezone=data.get("timezone", "UTC"),
            comments=CommentSettings(**data.get("comments", {})),
            pages=tuple(data.get("pages", ())),
            render=data.get("render"),
            articles=articles,
        )


class Articles(Mapping[str, Article]):
    """The site's articles by ``page_url``, each made from the index's JSON
    the first time it is asked for: a command that moderates one comment of
    a 10,000-article site makes one, not 10,000."""

    def __init__(self, entries: Mapping[str, dict[str, Any] | bytes]) -> None:
        """``entries``: each article's entry, or its line of the index."""
        self._entries = entries
        self._made: dict[str, Article] = {}

    def __getitem__(self, page_url: str) -> Article:
        article = self._made.get(page_url)
        if article is None:
            entry = self._entries[page_url]
            if isinstance(entry, bytes):
                entry = json.loads(entry)
            article = _article(page_url, entry)
            self._made[page_url] = article  # a race makes it twice, alike
        return article

    def __iter__(self) -> Iterator[str]:
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, page_url: object) -> bool:
        return page_url in self._entries


def _article(page_url: str, a: dict[str, Any]) -> Article:
    """Make the article at ``page_url`` from its entry in the index."""
    return Article(
        slug=a["slug"],
        title=a["title"],
        url=a["url"],
        page_url=page_url,
        authors=tuple(a.get("authors", ())),
        date=a.get("date", ""),
        save_as=a.get("save_as", ""),
        category=a.get("category", ""),
        tags=tuple(a.get("tags", ())),
        source=a.get("source", ""),
        outputs=tuple(a.get("outputs") or _outputs_of(a.get("save_as", ""))),
        thread=ThreadRecord.from_json(page_url, a) if "thread" in a else None,
    )


def _outputs_of(save_as: str) -> tuple[str, ...]:
    """The outputs of an article in an index of version 1, which had none:
    its page and its comment feed, as that version's plugin wrote them."""
    return (save_as, comment_feed_path(save_as)) if save_as else ()


def _page_url(url: str, siteurl: str) -> str:
    """Return the site-relative URL of an index written before ``page_url``."""
    if siteurl and url.startswith(siteurl + "/"):
        url = url[len(siteurl) + 1 :]
    return url.lstrip("/")


def site_index(app: Flask | None = None) -> SiteIndex:
    """Return the site index of ``app`` (default: the current app)."""
    from flask import current_app

    return (app or current_app).extensions["site_index"]
