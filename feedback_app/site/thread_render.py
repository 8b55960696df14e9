"""Rendering an article's thread: the region of its pages that shows the
comments, its comment pages, and its comment feed.

Both sides use this module, so both write the same bytes: the Pelican
plugin in every full build, and the app when it publishes one thread after
a moderation action (``publishing.py``), without running Pelican. What they
render from is recorded by the build in the site index (``contract.py``):

* the **render settings** (``render``): the theme's template folders, the
  Jinja options (``JINJA_ENVIRONMENT``) and every Pelican setting that JSON
  can hold. The plugin renders from the same JSON copy it records, so a
  setting JSON cannot hold (a callable ``JINJA_FILTERS``) is missing on both
  sides alike: the thread's templates (``comments.html``,
  ``comment_form.html``, ``comments_page.html``) see the settings, the
  menu's ``pages`` and ``article``, not Pelican's other template variables.
* each article's **thread** (``ThreadRecord``): the pages that show it (the
  article and each of its translations: ``ThreadView``), its feed, its date.

Translations share their original's thread: one conversation per article,
one moderation queue, one feed, shown on every language's page (readers
in either language answer each other, and nothing posted in one language
is lost to the others). The forms of every translation send the original's
``page_url``.

A page's region starts with ``REGION_START`` and ends with ``REGION_END``;
comment bodies are sanitised with HTML comments stripped
(``core/rendering.py``), so neither appears inside it.

Long threads are split into **comment pages**, as WordPress does:
``COMMENTS_PER_PAGE`` top-level comments a page (replies stay under their
parent), page 1 the oldest; the article shows the page ``COMMENTS_DEFAULT_PAGE``
names (``newest`` or ``oldest``) and the others are static pages of their
own (``comment-page-2/`` beside the article). ``COMMENTS_ORDER`` puts the
top-level comments of a page oldest or newest first. The comment feed
carries the newest ``COMMENTS_FEED_SIZE`` comments.

Imports without Flask or Pelican.
"""

from __future__ import annotations

import math
import posixpath
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from jinja2 import Environment, FileSystemLoader
from markupsafe import Markup

from . import i18n
from .languages import JINJA_FILTERS
from .thread_model import (
    PublishedComment,
    ThreadRecord,
    ThreadView,
    atom_feed,
    comments_from_rows,
    flatten,
    thread,
)

#: Where the thread's region of a page starts and ends.
REGION_START = "<!-- thread -->"
REGION_END = "<!-- /thread -->"

#: The theme's templates for the region and for a comment page.
REGION_TEMPLATE = "comments.html"
PAGE_TEMPLATE = "comments_page.html"


@dataclass(frozen=True)
class RenderedThread:
    """A thread rendered: the region of each view's article page (by its
    ``save_as``), every other comment page (whole files, by path), the
    feed, and how many pages each view has."""

    regions: dict[str, str]
    files: dict[str, str]
    feed: str
    count: int
    default_page: int
    comment_count: int


@dataclass(frozen=True)
class PageLink:
    """A link to one page of a thread, for the pagination."""

    number: int
    url: str
    current: bool


@dataclass
class ThreadPage:
    """What the thread's templates see as ``article``: one page of one view."""

    title: str
    url: str
    page_url: str  # the thread's key, sent back by the forms
    lang: str
    save_as: str  # this page's own output path
    comment_feed_url: str
    comment_count: int
    comments: list[PublishedComment]  # top-level comments of this page
    comment_page: int
    comment_pages: list[PageLink]
    article_url: str  # the view's article page
    on_article: bool  # the page the article itself shows (not a comment page)
    thread_html: Markup = field(default_factory=Markup)


def _shown(top: list[PublishedComment]) -> list[tuple[Any, ...]]:
    """Return what a page shows of its comments, to compare two."""
    return [
        (c.id, c.parent, c.name, c.website, c.date, c.html, c.author, len(c.replies))
        for c in flatten(top)
    ]


def comment_page_path(path: str, number: int) -> str:
    """Return the output path (or URL) of comment page ``number`` of the
    article at ``path`` (its ``save_as``, or its ``url``)."""
    folder, name = posixpath.split(path)
    if name in ("", "index.html"):
        page = f"comment-page-{number}/"
        return posixpath.join(folder, page + name) if name else f"{path}{page}"
    stem, ext = posixpath.splitext(path)
    return f"{stem}-comment-page-{number}{ext}"


class ThreadRenderer:
    """Renders threads with the render settings a build recorded."""

    def __init__(
        self, render: Mapping[str, Any], pages: list[dict[str, str]] | None = None
    ) -> None:
        """``render``: what ``render_settings`` returned; ``pages``: the
        menu's pages (title and url), for the comment pages."""
        self.settings: dict[str, Any] = dict(render["settings"])
        self.pages = list(pages or ())
        options = {
            k: v
            for k, v in dict(render["jinja"]).items()
            if k not in ("loader", "autoescape")
        }
        # Names and websites are readers' words: escaped whatever the site
        # set (Pelican's own default is not to escape).
        self.env = Environment(
            loader=FileSystemLoader(list(render["templates"])),
            autoescape=True,
            **options,
        )
        self.env.filters.update(JINJA_FILTERS)  # as the plugin gives Pelican
        i18n.install(self.env)
        self.tz = ZoneInfo(self.settings.get("TIMEZONE") or "UTC")
        s = self.settings
        self.per_page = max(0, int(s.get("COMMENTS_PER_PAGE") or 0))
        self.newest_first_page = s.get("COMMENTS_DEFAULT_PAGE") != "oldest"
        self.newest_first = s.get("COMMENTS_ORDER") == "newest-first"
        self.feed_size = max(0, int(s.get("COMMENTS_FEED_SIZE") or 0))
        self.max_depth = int(s.get("COMMENTS_MAX_DEPTH") or 5)

    # Paging ------------------------------------------------------------------

    def split(self, top: list[PublishedComment]) -> list[list[PublishedComment]]:
        """Return the top-level comments of each page, page 1 the oldest."""
        if not self.per_page or len(top) <= self.per_page:
            return [top]
        count = math.ceil(len(top) / self.per_page)
        return [top[i * self.per_page : (i + 1) * self.per_page] for i in range(count)]

    def default_page(self, count: int) -> int:
        """Return the number of the page the article itself shows."""
        return count if self.newest_first_page else 1

    def page_url(self, view: ThreadView, number: int, count: int) -> str:
        """Return the site-relative URL of page ``number`` of ``view``."""
        if number == self.default_page(count):
            return view.url
        return comment_page_path(view.url, number)

    def location(
        self, view: ThreadView, rows: list[Mapping[str, Any]], cid: int
    ) -> str:
        """Return the site-relative URL, with its ``#comment-N``, of the page
        of ``view`` that shows the comment ``cid`` of the thread ``rows``
        (its view's article page if the comment is not shown)."""
        comments = comments_from_rows(rows, self.tz)
        pages = self.split(thread(comments, self.max_depth))
        for number, top in enumerate(pages, 1):
            if any(c.id == cid for c in flatten(top)):
                return f"{self.page_url(view, number, len(pages))}#comment-{cid}"
        return f"{view.url}#comment-{cid}"

    # Rendering -------------------------------------------------------------------

    def siteurl(self, save_as: str) -> str:
        """Return ``SITEURL`` as Pelican gives it to the page at ``save_as``."""
        if not self.settings.get("RELATIVE_URLS"):
            return self.settings.get("SITEURL", "")
        depth = len([part for part in save_as.split("/") if part]) - 1
        return "/".join([".."] * depth) if depth > 0 else "."

    def render(
        self,
        record: ThreadRecord,
        rows: list[Mapping[str, Any]],
        previous: list[Mapping[str, Any]] | None = None,
    ) -> RenderedThread:
        """Render the thread of ``record`` with its published ``rows``
        (``threads.published_comments``, or a comment file's).

        With the ``previous`` rows (the thread as its pages show it now),
        a comment page whose own comments did not change, in a thread of
        as many pages, is left out of ``files``: its file is right.
        """
        comments = comments_from_rows(rows, self.tz)
        pages = self.split(thread(comments, self.max_depth))
        count = len(pages)
        default = self.default_page(count)
        same = self._unchanged_pages(pages, previous)
        regions: dict[str, str] = {}
        files: dict[str, str] = {}
        for view in record.views:
            for number, top in enumerate(pages, 1):
                if number != default and number in same:
                    continue
                page = self._page(record, view, top, len(comments), number, count)
                if number == default:
                    regions[view.save_as] = str(page.thread_html)
                else:
                    files[page.save_as] = self._whole_page(page)
        return RenderedThread(
            regions=regions,
            files=files,
            feed=self._feed(record, comments, pages),
            count=count,
            default_page=default,
            comment_count=len(comments),
        )

    def _unchanged_pages(
        self,
        pages: list[list[PublishedComment]],
        previous: list[Mapping[str, Any]] | None,
    ) -> set[int]:
        """Return the numbers of the pages that show the same comments as
        with the ``previous`` rows (none if the number of pages changed)."""
        if previous is None:
            return set()
        before = self.split(
            thread(comments_from_rows(previous, self.tz), self.max_depth)
        )
        if len(before) != len(pages):
            return set()
        return {
            number
            for number, (old, new) in enumerate(zip(before, pages, strict=True), 1)
            if _shown(old) == _shown(new)
        }

    def _feed(
        self,
        record: ThreadRecord,
        comments: list[PublishedComment],
        pages: list[list[PublishedComment]],
    ) -> str:
        """Return the thread's Atom feed: its newest comments, each linked to
        the page of the original that shows it."""
        original = record.views[0]
        siteurl = self.settings.get("SITEURL", "")
        where = {}
        for number, top in enumerate(pages, 1):
            url = self.page_url(original, number, len(pages))
            for c in flatten(top):
                where[c.id] = f"{siteurl}/{url}"
        newest = sorted(comments, key=lambda c: (c.date, c.id), reverse=True)
        newest = newest[: self.feed_size] if self.feed_size else newest
        updated = newest[0].date if newest else datetime.fromisoformat(record.updated)
        return atom_feed(
            title=original.title,
            page_url=f"{siteurl}/{original.url}",
            feed_url=f"{siteurl}/{record.feed_url}",
            updated=updated,
            lang=original.lang,
            comments=[(where[c.id], c) for c in newest],
        )

    def _page(
        self,
        record: ThreadRecord,
        view: ThreadView,
        top: list[PublishedComment],
        total: int,
        number: int,
        count: int,
    ) -> ThreadPage:
        shown = list(reversed(top)) if self.newest_first else top
        save_as = (
            view.save_as
            if number == self.default_page(count)
            else comment_page_path(view.save_as, number)
        )
        page = ThreadPage(
            title=view.title,
            url=self.page_url(view, number, count),
            page_url=record.page_url,
            lang=view.lang,
            save_as=save_as,
            comment_feed_url=record.feed_url,
            comment_count=total,
            comments=shown,
            comment_page=number,
            comment_pages=[
                PageLink(n, self.page_url(view, n, count), n == number)
                for n in range(1, count + 1)
            ]
            if count > 1
            else [],
            article_url=view.url,
            on_article=number == self.default_page(count),
        )
        html = self.env.get_template(REGION_TEMPLATE).render(
            self._context(save_as, article=page)
        )
        # The template's output, escaped by it: the region as it is.
        region = f"{REGION_START}{html}{REGION_END}"
        page.thread_html = Markup(region)  # noqa: S704  # nosec B704
        return page

    def _whole_page(self, page: ThreadPage) -> str:
        return self.env.get_template(PAGE_TEMPLATE).render(
            self._context(page.save_as, article=page, pages=self.pages)
        )

    def _context(self, save_as: str, **values: Any) -> dict[str, Any]:
        return {
            **self.settings,
            "SITEURL": self.siteurl(save_as),
            "output_file": save_as,
            **values,
        }


def replace_region(page: str, region: str) -> str | None:
    """Return ``page`` with its thread's region replaced by ``region``, or
    None if it has no region (built by a theme without one)."""
    start = page.rfind(REGION_START)
    if start < 0:
        return None
    end = page.find(REGION_END, start)
    if end < 0:
        return None
    return page[:start] + str(region) + page[end + len(REGION_END) :]
