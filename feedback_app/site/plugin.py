"""Pelican plugin: connects the static site to the feedback app.

Settings it reads (``pelicanconf.py``):

``FEEDBACK_URL``, ``FEEDBACK_COMMENTS_URL``, ``FEEDBACK_TICKET_URL``
    Where the article pages' feedback and comment forms post, and where
    their script fetches a form ticket. Default: ``/app/feedback``,
    ``/app/comments`` and ``/app/form-ticket`` under the path of ``SITEURL``
    (the app shares the site's origin).
``FEEDBACK_SITE_INDEX``
    Path of the JSON file that tells the app which articles exist (slug,
    title, URL, site-relative ``page_url`` by which the app knows an article,
    output path, authors), the site's name and its menu pages.
    Written atomically after every build; ``None`` writes nothing.
``FEEDBACK_COMMENTS_PATH``
    Folder of the approved comments the app publishes, one file per article
    named after its URL (``files.comment_file_name``), so two articles with
    the same slug in different years each have their own. A site's older
    ``<article-slug>.json`` is still read for an article that has no file
    of its own yet, if no other article has that slug. Default:
    ``comments`` in the content folder.
``FEEDBACK_PRIVATE_PATHS``
    Folders no file of which may ever reach the output, whatever links it.
    Default: the folder of ``FEEDBACK_SITE_INDEX`` (the app's ``instance/``,
    with its database and secret key).
``COMMENTS_REQUIRE_EMAIL``, ``COMMENTS_MAX_DEPTH``
    Whether the comment form requires an address (default False), and how
    deep replies nest (default 5). Passed to the app through the site index.
``FEEDBACK_WRITE_SELECTED``, ``FEEDBACK_SELECTED_URLS``
    A list of output paths, and the articles they belong to (their
    site-relative URLs). When set, only
    those files are written, only those articles' comments are read, and the
    site index is left as the last full build wrote it: the app's selective
    rebuild after a comment is approved or removed.

Template variables it adds: the three ``FEEDBACK_*_URL`` above,
the field limits ``FEEDBACK_MAX_*`` (the app's own defaults, so ``maxlength``
attributes and the app agree), and on each article ``page_url`` (the
site-relative URL its forms send as ``article``: the app's name for it),
``comments`` (the thread:
top-level comments, each with ``replies``), ``comment_count`` and
``comment_feed_url``. Each article also gets an Atom feed of its comments.

Two guards fail the build (``content_guard.py``): a link that would copy a
file from outside the content folder or from a private folder, and an
intrasite link other than to a content file in a post written in the desk.
"""

from __future__ import annotations

import json
import logging
import os
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

# Escaping text to write XML (the comment feeds); nothing here parses XML.
from xml.sax.saxutils import escape, quoteattr  # nosec B406
from zoneinfo import ZoneInfo

from pelican import signals
from pelican.generators import ArticlesGenerator, PagesGenerator
from pelican.writers import Writer

from ..core import config as app_config
from .content_guard import clean_desk_posts, refuse_outside_files
from .files import (
    COMPRESSED,
    comment_feed_path,
    comment_file_name,
    write_atomically,
    write_compressed,
    write_if_changed,
)

logger = logging.getLogger(__name__)

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


def add_defaults(pelican: Any) -> None:
    """Give every setting of this plugin its default."""
    settings = pelican.settings
    site_path = urlsplit(settings.get("SITEURL", "")).path.rstrip("/")
    settings.setdefault("FEEDBACK_URL", f"{site_path}/app/feedback")
    settings.setdefault("FEEDBACK_COMMENTS_URL", f"{site_path}/app/comments")
    settings.setdefault("FEEDBACK_TICKET_URL", f"{site_path}/app/form-ticket")
    settings.setdefault("FEEDBACK_SITE_INDEX", None)
    settings.setdefault(
        "FEEDBACK_COMMENTS_PATH", os.path.join(settings["PATH"], "comments")
    )
    settings.setdefault("FEEDBACK_WRITE_SELECTED", None)
    index = settings.get("FEEDBACK_SITE_INDEX")
    private = list(settings.get("FEEDBACK_PRIVATE_PATHS") or ())
    settings["FEEDBACK_PRIVATE_PATHS"] = private + (
        [os.path.dirname(os.path.abspath(index))] if index else []
    )
    settings.setdefault("COMMENTS_REQUIRE_EMAIL", False)
    settings.setdefault("COMMENTS_MAX_DEPTH", 5)
    for name in ("MESSAGE", "NAME", "EMAIL", "WEBSITE"):
        key = f"MAX_{name}_LENGTH"
        settings.setdefault(f"FEEDBACK_{key}", getattr(app_config, key))


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
                rows = json.load(fh)["comments"]
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


def choose_writer(pelican: Any) -> type[Writer] | None:
    """Use the selective writer when the build names what to write."""
    return SelectiveWriter if pelican.settings.get("FEEDBACK_WRITE_SELECTED") else None


def write_site_index(generators: list[Any]) -> None:
    """Record the site's published articles and menu pages for the app."""
    settings = generators[0].settings
    target = settings.get("FEEDBACK_SITE_INDEX")
    if not target or settings.get("FEEDBACK_WRITE_SELECTED"):
        return  # the app's rebuild of a few pages changes no article
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
                    "page_url": article.url,
                    "save_as": article.save_as,
                    "source": article.relative_source_path,
                    "authors": [author.name for author in article.authors],
                    "date": article.date.isoformat(),
                    "category": str(getattr(article, "category", "") or ""),
                    "tags": [str(tag) for tag in getattr(article, "tags", ())],
                }
                for article in generator.articles
            )
        elif isinstance(generator, PagesGenerator):
            pages.extend({"title": p.title, "url": p.url} for p in generator.pages)
    index = {
        "sitename": settings.get("SITENAME", ""),
        "siteurl": siteurl,
        "archives_url": settings.get("ARCHIVES_URL", "archives.html"),
        "timezone": settings.get("TIMEZONE") or "UTC",
        "comments": {
            "require_email": bool(settings["COMMENTS_REQUIRE_EMAIL"]),
            "max_depth": int(settings["COMMENTS_MAX_DEPTH"]),
        },
        "pages": pages,
        "articles": articles,
    }
    text = json.dumps(index, indent=1, ensure_ascii=False)
    path = Path(target)
    if not path.is_file() or path.read_text(encoding="utf-8") != text:
        write_atomically(path, text)
    logger.info("Site index for the app: %d articles in %s", len(articles), target)


def compress_output(pelican: Any) -> None:
    """Give each text file of the build a ``.gz`` twin (``FEEDBACK_GZIP``,
    on by default): all of them after a full build, only the selected ones
    after the app's rebuild of an article."""
    if not pelican.settings.get("FEEDBACK_GZIP", True):
        return
    output = Path(pelican.output_path)
    selected = pelican.settings.get("FEEDBACK_WRITE_SELECTED")
    if selected:
        paths = [output / name for name in selected]
    else:
        paths = [p for p in output.rglob("*") if p.suffix in COMPRESSED]
        # Twins of pages a build no longer makes go with them.
        for twin in output.rglob("*.gz"):
            if not twin.with_suffix("").exists():
                twin.unlink()
    written = write_compressed(p for p in paths if p.suffix in COMPRESSED)
    logger.info("Compressed %d changed files for gzip_static", written)


def register() -> None:
    """Connect the plugin's handlers (module-level: Pelican holds them weakly)."""
    signals.initialized.connect(add_defaults)
    signals.get_writer.connect(choose_writer)
    signals.article_generator_finalized.connect(clean_desk_posts)
    signals.article_generator_finalized.connect(attach_comments)
    signals.static_generator_finalized.connect(refuse_outside_files)
    signals.article_writer_finalized.connect(write_comment_feeds)
    signals.all_generators_finalized.connect(write_site_index)
    signals.finalized.connect(compress_output)
