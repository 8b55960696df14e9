"""The contract between the build and the app: the two kinds of file one
writes and the other reads, with their versions and their JSON Schemas.

* **The site index** (``site.json``, ``FEEDBACK_SITE_INDEX``), written by the
  Pelican plugin after every full build, read by the app
  (``site/index.py``): the site's name and settings the app needs, its menu
  pages, what the thread's templates are rendered with (``render``), and
  every published article, each with its thread (the pages that show it:
  its own and its translations') and the output files that show it
  (``outputs``), so the app rewrites exactly those and never works out
  Pelican's URLs itself.
* **A comment file** (``content/comments/<quoted page URL>.json``), written
  by the app (``site/publishing.py``) from the database, read by the plugin:
  the approved comments of one article, public fields only.

A reader of either file refuses a version newer than its own
(``VersionError``); files written before versions existed count as
version 1. Change a schema only with its version, and keep the reader of the
older version working.

Imports without Flask (the plugin uses it on every build).
"""

from __future__ import annotations

import json
import re
from typing import Any

#: The site index's version: 2 added ``version`` and ``outputs``; 3 added
#: ``render`` and each article's ``thread`` (``thread_render.py``).
SITE_INDEX_VERSION = 3
#: A comment file's version: 2 added ``version``; 3 added a comment's
#: ``anchor`` (the fragment of old links to an imported comment).
COMMENT_FILE_VERSION = 3


class VersionError(ValueError):
    """A file written by a newer version of the project than this one."""


def check_version(data: dict[str, Any], newest: int, what: str) -> int:
    """Return the version of ``data`` (1 when it has none).

    :raise VersionError: if it is newer than ``newest``.
    """
    version = data.get("version", 1)
    if not isinstance(version, int) or version < 1:
        raise VersionError(f"{what}: the version {version!r} is not a version.")
    if version > newest:
        raise VersionError(
            f"{what} is of version {version}, newer than this app reads "
            f"({newest}): update the app (git pull) or rebuild with this one."
        )
    return version


#: Between the site index's other fields and its articles, one a line.
ARTICLES_START = ',\n "articles": [\n'
ARTICLES_END = "\n ]\n}\n"
_LINE_START = b'{"page_url": "'
_PAGE_URL = re.compile(rb'\{"page_url": ("(?:[^"\\]|\\.)*")')


def site_index_text(index: dict[str, Any]) -> str:
    """Return the site index as JSON with each article on a line of its own,
    ``page_url`` first: any JSON reader reads it, and the app finds one
    article of 10,000 without parsing the others (``split_site_index``)."""
    articles = index["articles"]
    head = json.dumps(
        {k: v for k, v in index.items() if k != "articles"},
        indent=1,
        ensure_ascii=False,
    )
    if not articles:
        return json.dumps(index, indent=1, ensure_ascii=False) + "\n"
    lines = ",\n".join(
        json.dumps({"page_url": a["page_url"], **a}, ensure_ascii=False)
        for a in articles
    )
    return head.removesuffix("\n}") + ARTICLES_START + lines + ARTICLES_END


def split_site_index(data: bytes) -> tuple[dict[str, Any], dict[str, bytes]] | None:
    """Return the fields of a site index written by ``site_index_text``
    but its articles, and each article's line by its ``page_url``; None if
    it is not laid out so (an index of before, or one written by hand:
    parse it whole).

    JSON strings hold no raw line break, so a line is an article. Bytes,
    not text: only the lines asked for are ever decoded.
    """
    start = data.find(ARTICLES_START.encode())
    end = ARTICLES_END.encode()
    if start < 0 or not data.endswith(end):
        return None
    head = json.loads(data[:start] + b"\n}")
    if not isinstance(head, dict) or "articles" in head:
        return None
    lines: dict[str, bytes] = {}
    body = data[start + len(ARTICLES_START) : -len(end)]
    for line in body.split(b",\n"):
        if not line.startswith(_LINE_START):
            return None
        close = line.find(b'"', len(_LINE_START))
        key = line[len(_LINE_START) : close]
        if b"\\" in key:  # an escape: read the string as JSON
            found = _PAGE_URL.match(line)
            if found is None:
                return None
            lines[json.loads(found.group(1))] = line
        else:
            lines[key.decode("utf-8")] = line
    return head, lines


_TEXT = {"type": "string"}
_TEXTS = {"type": "array", "items": _TEXT}

#: JSON Schema of the site index.
SITE_INDEX_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "site.json: the published site, as the app sees it",
    "type": "object",
    "required": [
        "version",
        "sitename",
        "siteurl",
        "timezone",
        "comments",
        "pages",
        "render",
        "articles",
    ],
    "properties": {
        "version": {"const": SITE_INDEX_VERSION},
        "sitename": _TEXT,
        "siteurl": {"description": "SITEURL, without a trailing slash", **_TEXT},
        "archives_url": _TEXT,
        "timezone": {"description": "an IANA time zone (TIMEZONE)", **_TEXT},
        "comments": {
            "type": "object",
            "required": ["require_email", "max_depth"],
            "properties": {
                "require_email": {"type": "boolean"},
                "max_depth": {"type": "integer", "minimum": 1},
            },
            "additionalProperties": False,
        },
        "pages": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["title", "url"],
                "properties": {"title": _TEXT, "url": _TEXT},
                "additionalProperties": False,
            },
        },
        "render": {
            "description": "what the thread's templates are rendered with, "
            "by the build and by the app alike (thread_render.py)",
            "type": "object",
            "required": ["templates", "jinja", "settings"],
            "properties": {
                "templates": {"description": "the theme's folders", **_TEXTS},
                "jinja": {"description": "JINJA_ENVIRONMENT", "type": "object"},
                "settings": {
                    "description": "every Pelican setting JSON can hold",
                    "type": "object",
                },
            },
            "additionalProperties": False,
        },
        "articles": {
            "type": "array",
            "items": {
                "type": "object",
                "required": [
                    "slug",
                    "title",
                    "url",
                    "page_url",
                    "save_as",
                    "outputs",
                    "thread",
                    "source",
                    "authors",
                    "date",
                    "category",
                    "tags",
                ],
                "properties": {
                    "slug": _TEXT,
                    "title": _TEXT,
                    "url": {"description": "absolute: SITEURL + page_url", **_TEXT},
                    "page_url": {
                        "description": "the article's site-relative URL: the "
                        "app's key for it, sent back by the forms",
                        **_TEXT,
                    },
                    "save_as": {"description": "its page, in the output", **_TEXT},
                    "outputs": {
                        "description": "every output file that shows its "
                        "thread (its page, its comment feed), relative to the "
                        "output folder: what the app rebuilds after a change",
                        **_TEXTS,
                        "minItems": 1,
                    },
                    "thread": {
                        "description": "its thread: the language of its own "
                        "page (its save_as, page_url and title are the first "
                        "page's), the pages of its translations, which show "
                        "the same thread, and the date its feed carries "
                        "while it has no comment",
                        "type": "object",
                        "required": ["lang", "updated", "translations"],
                        "properties": {
                            "lang": _TEXT,
                            "updated": {"description": "ISO 8601", **_TEXT},
                            "translations": {
                                "type": "array",
                                "items": {
                                    "type": "object",
                                    "required": ["save_as", "url", "title", "lang"],
                                    "properties": {
                                        "save_as": _TEXT,
                                        "url": _TEXT,
                                        "title": _TEXT,
                                        "lang": _TEXT,
                                    },
                                    "additionalProperties": False,
                                },
                            },
                        },
                        "additionalProperties": False,
                    },
                    "source": {"description": "relative to the content", **_TEXT},
                    "authors": _TEXTS,
                    "date": {"description": "ISO 8601", **_TEXT},
                    "category": _TEXT,
                    "tags": _TEXTS,
                },
                "additionalProperties": False,
            },
        },
    },
    "additionalProperties": False,
}

#: JSON Schema of a comment file.
COMMENT_FILE_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "An article's published comments",
    "type": "object",
    "required": ["version", "article", "comments"],
    "properties": {
        "version": {"const": COMMENT_FILE_VERSION},
        "article": {"description": "the article's page_url", **_TEXT},
        "comments": {
            "description": "oldest first; a reply after its parent",
            "type": "array",
            "items": {
                "type": "object",
                "required": ["id", "parent", "name", "date", "author", "html"],
                "properties": {
                    "id": {"type": "integer", "minimum": 1},
                    "parent": {
                        "description": "the shown comment it answers, or null",
                        "type": ["integer", "null"],
                    },
                    "name": _TEXT,
                    "website": {"type": ["string", "null"]},
                    "date": {"description": "ISO 8601, UTC", **_TEXT},
                    "author": {
                        "description": "written by an author of the article",
                        "type": "boolean",
                    },
                    "html": {"description": "rendered and cleaned once", **_TEXT},
                    "anchor": {
                        "description": "the fragment old links to it use"
                        " (an imported comment), if not comment-<id>",
                        "type": "string",
                        "pattern": "^[A-Za-z][A-Za-z0-9_-]{0,99}$",
                    },
                },
                "additionalProperties": False,
            },
        },
    },
    "additionalProperties": False,
}
