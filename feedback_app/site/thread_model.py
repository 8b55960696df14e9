"""An article's thread as data: its published comments as the theme shows
them (nested, dated in the site's time zone), the pages that show it as the
build records them in the site index (``ThreadRecord``), its Atom feed, and
its comment file as the build and the app read it.
Rendered by ``thread_render.py``.

Imports without Flask or Pelican.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from xml.sax.saxutils import escape, quoteattr  # nosec B406
from zoneinfo import ZoneInfo

from ..core.translations import translations
from .contract import COMMENT_FILE_VERSION, check_version
from .files import comment_feed_path, comment_file_name

#: Month names for comment dates: the same words whatever the locale of the
#: process (the build's and the app's may differ).
MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)

#: The paging settings and their defaults (as WordPress's: 50 top-level
#: comments a page, the newest page on the article, oldest first on a page).
PAGING_DEFAULTS: dict[str, Any] = {
    "COMMENTS_PER_PAGE": 50,
    "COMMENTS_DEFAULT_PAGE": "newest",
    "COMMENTS_ORDER": "oldest-first",
    "COMMENTS_FEED_SIZE": 20,
}


def check_paging(settings: Mapping[str, Any]) -> None:
    """Refuse paging settings the thread cannot be split by.

    :raise ValueError: naming the setting and what it may be.
    """
    for key in ("COMMENTS_PER_PAGE", "COMMENTS_FEED_SIZE"):
        value = settings[key]
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ValueError(
                f"{key} is {value!r}: it must be a whole number, 0 or more."
            )
    for key, allowed in (
        ("COMMENTS_DEFAULT_PAGE", ("newest", "oldest")),
        ("COMMENTS_ORDER", ("oldest-first", "newest-first")),
    ):
        if settings[key] not in allowed:
            raise ValueError(
                f"{key} is {settings[key]!r}: it must be "
                + " or ".join(f"{a!r}" for a in allowed)
                + "."
            )


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
    anchor: str = ""
    replies: list[PublishedComment] = field(default_factory=list)

    @property
    def date_iso(self) -> str:
        """The date for ``<time datetime>`` (whole seconds, as HTML wants)."""
        return self.date.isoformat(timespec="seconds")

    @property
    def date_text(self) -> str:
        """The date as readers see it: ``6 December 2026 at 09:05``."""
        d = self.date
        return f"{d.day} {MONTHS[d.month - 1]} {d.year} at {d:%H:%M}"


def comments_from_rows(
    rows: Iterable[Mapping[str, Any]], tz: ZoneInfo
) -> list[PublishedComment]:
    """Return the comments of a comment file's ``comments`` (or of
    ``threads.published_comments``), dated in ``tz``, oldest first."""
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
            anchor=row.get("anchor") or "",
        )
        for row in rows
    ]


def thread(
    comments: list[PublishedComment], max_depth: int | None = None
) -> list[PublishedComment]:
    """Nest replies under their parents; return the top-level comments.

    Past ``max_depth`` levels (a thread imported from a site that nested
    deeper) a reply is shown at the deepest level, under its nearest
    ancestor above it, as WordPress shows it.
    """
    by_id = {c.id: c for c in comments}
    children: dict[int | None, list[PublishedComment]] = {}
    for c in comments:
        c.replies = []
        known = c.parent is not None and c.parent in by_id and c.parent != c.id
        children.setdefault(c.parent if known else None, []).append(c)
    # Parents before their replies, each at its shown level; a comment in a
    # cycle (only a broken file has one) is never reached, and shown on top.
    shown: dict[int, tuple[PublishedComment | None, int]] = {}
    stack: list[PublishedComment] = list(reversed(children.get(None, [])))
    while stack:
        c = stack.pop()
        parent = by_id.get(c.parent) if c.parent is not None else None
        parent = parent if parent is not None and parent.id in shown else None
        while (
            parent is not None
            and max_depth is not None
            and shown[parent.id][1] >= max_depth
        ):
            parent = shown[parent.id][0]
        shown[c.id] = (parent, 1 if parent is None else shown[parent.id][1] + 1)
        stack.extend(reversed(children.get(c.id, [])))
    top = []
    for c in comments:
        parent = shown.get(c.id, (None, 1))[0]
        (parent.replies if parent else top).append(c)
    return top


def flatten(comments: list[PublishedComment]) -> list[PublishedComment]:
    """Return ``comments`` and their replies, depth first."""
    into: list[PublishedComment] = []
    stack = list(reversed(comments))
    while stack:
        c = stack.pop()
        into.append(c)
        stack.extend(reversed(c.replies))
    return into


@dataclass(frozen=True)
class ThreadView:
    """One page that shows a thread: the article, or one of its translations."""

    save_as: str
    url: str
    title: str
    lang: str

    def to_json(self) -> dict[str, str]:
        return {
            "save_as": self.save_as,
            "url": self.url,
            "title": self.title,
            "lang": self.lang,
        }


@dataclass(frozen=True)
class ThreadRecord:
    """An article's thread as the build recorded it: its key (the original's
    ``page_url``), the pages that show it (the original first), and the date
    its feed carries when it has no comment."""

    page_url: str
    views: tuple[ThreadView, ...]
    updated: str

    @property
    def feed(self) -> str:
        """The output path of the thread's comment feed."""
        return comment_feed_path(self.views[0].save_as)

    @property
    def feed_url(self) -> str:
        """The site-relative URL of the thread's comment feed."""
        url = self.views[0].url
        return comment_feed_path(url + "index.html" if url.endswith("/") else url)

    def to_json(self) -> dict[str, Any]:
        """Return what the site index records of it beside its article's
        own entry (whose ``save_as``, ``title`` and ``page_url`` are its
        first page's: not repeated, ten thousand times)."""
        return {
            "lang": self.views[0].lang,
            "updated": self.updated,
            "translations": [view.to_json() for view in self.views[1:]],
        }

    @classmethod
    def from_json(cls, page_url: str, entry: Mapping[str, Any]) -> ThreadRecord:
        """Return the thread of the site index's article ``entry``."""
        data = entry["thread"]
        original = ThreadView(
            save_as=entry["save_as"],
            url=page_url,
            title=entry["title"],
            lang=data["lang"],
        )
        return cls(
            page_url=page_url,
            views=(original, *(ThreadView(**v) for v in data["translations"])),
            updated=data["updated"],
        )


def render_settings(settings: Mapping[str, Any]) -> dict[str, Any]:
    """Return what the build records for rendering threads: the template
    folders, the Jinja options and the settings JSON can hold."""
    values = {}
    for key, value in settings.items():
        if not key.isupper():
            continue
        try:
            values[key] = json.loads(json.dumps(value))
        except (TypeError, ValueError):
            continue  # a callable, a module: not for the thread's templates
    for key, default in PAGING_DEFAULTS.items():
        values.setdefault(key, default)
    theme = settings["THEME"]
    folders = [str(p) for p in settings.get("THEME_TEMPLATES_OVERRIDES") or ()]
    folders.append(os.path.join(theme, "templates"))
    return {
        "templates": folders,
        "jinja": values.get("JINJA_ENVIRONMENT") or {},
        "settings": values,
    }


def atom_feed(
    *,
    title: str,
    page_url: str,
    feed_url: str,
    updated: datetime,
    lang: str,
    comments: list[tuple[str, PublishedComment]],
) -> str:
    """Return an Atom 1.0 document of ``comments`` (each with the absolute
    URL of the page that shows it) on the article ``title``.

    Plain string building, every value escaped: a general feed library spent
    more time on a site's thousand comment feeds than all the rest of what
    comments add to a build (bench/README.md).
    """
    _ = translations(lang).gettext
    on = escape(f"“{title}”")
    # Translators: an article's comment feed; {title} is in quotation marks.
    entry = escape(_("{name} on {title}"))
    heading = escape(_("Comments on {title}")).format(title=on)
    parts = [
        '<?xml version="1.0" encoding="utf-8"?>\n',
        f'<feed xmlns="http://www.w3.org/2005/Atom" xml:lang={quoteattr(lang)}>',
        f"<title>{heading}</title>",
        f'<link href={quoteattr(page_url)} rel="alternate"/>',
        f'<link href={quoteattr(feed_url)} rel="self"/>',
        f"<id>{escape(page_url)}</id>",
        f"<updated>{updated.isoformat(timespec='seconds')}</updated>",
    ]
    for url, c in comments:
        link = f"{url}#comment-{c.id}"
        # The id stays the article's URL and the comment: a comment moving
        # to another page is the same entry.
        entry_id = f"{page_url}#comment-{c.id}"
        name = escape(c.name)
        parts += [
            "<entry>",
            f"<title>{entry.format(name=name, title=on)}</title>",
            f'<link href={quoteattr(link)} rel="alternate"/>',
            f"<id>{escape(entry_id)}</id>",
            f"<published>{c.date_iso}</published>",
            f"<updated>{c.date_iso}</updated>",
            f"<author><name>{name}</name></author>",
            f'<content type="html">{escape(c.html)}</content>',
            "</entry>",
        ]
    parts.append("</feed>\n")
    return "".join(parts)


def comment_file(folder: str, page_url: str, legacy_slug: str | None = None) -> bytes:
    """Return the bytes of the comment file of the article at ``page_url``
    (empty if it has none).

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
            with open(os.path.join(folder, name), "rb") as fh:
                return fh.read()
        except FileNotFoundError:
            continue
    return b""


def comment_rows(data: bytes, page_url: str) -> list[dict[str, Any]]:
    """Return the published comments in the bytes of a comment file, oldest
    first.

    :raise VersionError: if the file is of a newer version.
    """
    if not data:
        return []
    parsed = json.loads(data)
    check_version(parsed, COMMENT_FILE_VERSION, f"The comment file of {page_url}")
    rows: list[dict[str, Any]] = parsed["comments"]
    return rows
