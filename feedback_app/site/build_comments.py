"""The comments in the build, for the Pelican plugin: each article's thread,
read from its comment file (``contract.py``) and nested for the theme, and
its Atom feed of comments; the writer that writes only the pages the app
asked for after a change.

Imports without Flask (Pelican loads it on every build).
"""

from __future__ import annotations

import json
import os
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape, quoteattr  # nosec B406
from zoneinfo import ZoneInfo

from pelican.generators import ArticlesGenerator
from pelican.writers import Writer

from .contract import COMMENT_FILE_VERSION, check_version
from .files import (
    comment_feed_path,
    comment_file_name,
    write_if_changed,
)

COMMENT_DATE_FORMAT = "%-d %B %Y at %H:%M"


@dataclass
class PublishedComment:
    """One comment as the theme shows it."""

    id: int
    name: str
    website: str | None
    date: datetime
    html: str
    author: bool = False
    parent: int | None = None
    replies: list[PublishedComment] = field(default_factory=list)

    @property
    def date_iso(self) -> str:
        """The date for ``<time datetime>`` (whole seconds, as HTML wants)."""
        return self.date.isoformat(timespec="seconds")

    @property
    def date_text(self) -> str:
        """The date as readers see it."""
        return self.date.strftime(COMMENT_DATE_FORMAT)


def load_comments(
    folder: str, page_url: str, tz: ZoneInfo, legacy_slug: str | None = None
) -> list[PublishedComment]:
    """Read the published comments of the article at ``page_url``, oldest first.

    Without a file of its own, the article gets ``<legacy_slug>.json``, a
    file of a site from before comment files were named by URL (the app
    names them so from its next publish of that article on). The caller
    passes ``legacy_slug`` only when no other article has that slug: a
    shared slug's old file cannot say which article it was for.
    """
    names = [comment_file_name(page_url)]
    if legacy_slug:
        names.append(f"{legacy_slug}.json")
    for name in names:
        try:
            with open(os.path.join(folder, name), encoding="utf-8") as fh:
                data = json.load(fh)
            check_version(data, COMMENT_FILE_VERSION, f"The comment file {name}")
            rows = data["comments"]
            break
        except FileNotFoundError:
            continue
    else:
        return []
    return [
        PublishedComment(
            id=row["id"],
            parent=row["parent"],
            name=row["name"],
            website=row.get("website"),
            date=datetime.fromisoformat(row["date"])
            .astimezone(tz)
            .replace(microsecond=0),
            html=row["html"],
            author=bool(row.get("author")),
        )
        for row in rows
    ]


def thread(comments: list[PublishedComment]) -> list[PublishedComment]:
    """Nest replies under their parents; return the top-level comments."""
    by_id = {c.id: c for c in comments}
    top = []
    for c in comments:
        c.replies = []
    for c in comments:
        parent = by_id.get(c.parent) if c.parent is not None else None
        (parent.replies if parent else top).append(c)
    return top


def attach_comments(generator: ArticlesGenerator) -> None:
    """Give every article its published comments and their feed's URL.

    Runs after the generator has its articles, so articles restored from the
    content cache get fresh comments too.
    """
    settings = generator.settings
    folder = settings["FEEDBACK_COMMENTS_PATH"]
    tz = ZoneInfo(settings.get("TIMEZONE") or "UTC")
    # The app's rebuild after an approval writes only these articles' pages:
    # the others' comments are not read (nor their URLs worked out).
    only = set(settings.get("FEEDBACK_SELECTED_URLS") or ())
    everything = [*generator.articles, *generator.translations, *generator.drafts]
    # A translation shares its original's slug, as the old files did.
    per_slug = Counter(article.slug for article in generator.articles)
    for article in everything:
        # What the forms send back to name the article (the app's key).
        article.page_url = article.url
        if only and article.url not in only:
            article.comments, article.comment_count = [], 0
            article.comment_feed_url = ""
            continue
        legacy = article.slug if per_slug[article.slug] <= 1 else None
        comments = load_comments(folder, article.url, tz, legacy)
        article.comments = thread(comments)
        article.comment_count = len(comments)
        url = article.url
        article.comment_feed_url = comment_feed_path(
            url + "index.html" if url.endswith("/") else url
        )


def write_comment_feeds(generator: ArticlesGenerator, writer: Writer) -> None:
    """Write each published article's Atom feed of comments, newest first."""
    settings = generator.settings
    siteurl = settings.get("SITEURL", "")
    lang = settings.get("DEFAULT_LANG", "en")
    for article in generator.articles:
        path = comment_feed_path(article.save_as)
        if isinstance(writer, SelectiveWriter) and path not in writer.selected:
            continue
        flat: list[PublishedComment] = []
        _flatten(article.comments, flat)
        flat.sort(key=lambda c: (c.date, c.id), reverse=True)
        # The newest comment's date; with none, the article's, never the
        # moment of the build, so every build writes the same bytes.
        updated = (
            flat[0].date if flat else getattr(article, "modified", None) or article.date
        )
        text = atom_feed(
            title=article.title,
            page_url=f"{siteurl}/{article.url}",  # Pelican computes url per read
            feed_url=f"{siteurl}/{article.comment_feed_url}",
            updated=updated,
            lang=lang,
            comments=flat,
        )
        write_if_changed(Path(writer.output_path) / path, text)


def atom_feed(
    *,
    title: str,
    page_url: str,
    feed_url: str,
    updated: datetime,
    lang: str,
    comments: list[PublishedComment],
) -> str:
    """Return an Atom 1.0 document of ``comments`` on the article ``title``.

    Plain string building, every value escaped: a general feed library spent
    more time on a site's thousand comment feeds than all the rest of what
    comments add to a build (bench/README.md).
    """
    on = escape(f"“{title}”")
    parts = [
        '<?xml version="1.0" encoding="utf-8"?>\n',
        f'<feed xmlns="http://www.w3.org/2005/Atom" xml:lang={quoteattr(lang)}>',
        f"<title>Comments on {on}</title>",
        f'<link href={quoteattr(page_url)} rel="alternate"/>',
        f'<link href={quoteattr(feed_url)} rel="self"/>',
        f"<id>{escape(page_url)}</id>",
        f"<updated>{updated.isoformat(timespec='seconds')}</updated>",
    ]
    for c in comments:
        link = f"{page_url}#comment-{c.id}"
        name = escape(c.name)
        parts += [
            "<entry>",
            f"<title>{name} on {on}</title>",
            f'<link href={quoteattr(link)} rel="alternate"/>',
            f"<id>{escape(link)}</id>",
            f"<published>{c.date_iso}</published>",
            f"<updated>{c.date_iso}</updated>",
            f"<author><name>{name}</name></author>",
            f'<content type="html">{escape(c.html)}</content>',
            "</entry>",
        ]
    parts.append("</feed>\n")
    return "".join(parts)


def _flatten(comments: list[PublishedComment], into: list[PublishedComment]) -> None:
    for c in comments:
        into.append(c)
        _flatten(c.replies, into)


class SelectiveWriter(Writer):
    """A writer that writes only the output paths it was asked for.

    Pelican 4.9 removed ``--write-selected``; the app's rebuild after a
    comment changes needs just the article's page and its comment feed.
    """

    def __init__(self, output_path: str, settings: dict[str, Any] | None = None):
        super().__init__(output_path, settings=settings)
        self.selected = set((settings or {}).get("FEEDBACK_WRITE_SELECTED") or ())

    def write_file(self, name: str, *args: Any, **kwargs: Any) -> Any:
        if name in self.selected:
            return super().write_file(name, *args, **kwargs)
        return None

    def write_feed(self, elements: Any, context: Any, path: Any = None, *args, **kw):  # type: ignore[no-untyped-def]
        if path in self.selected:
            return super().write_feed(elements, context, path, *args, **kw)
        return None
