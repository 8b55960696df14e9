"""Isso's SQLite database (``comments.db``) read into the neutral records.

Isso's schema (``isso/db/threads.py`` and ``isso/db/comments.py`` in
isso-comments/isso): ``threads(id, uri, title)``, one row per page, its
``uri`` a path such as ``/2019/hello/``; ``comments(tid, id, parent,
created, modified, mode, remote_addr, text, author, email, website, likes,
dislikes, voters, notification)``, ``created`` in Unix time, ``text`` in
Markdown, ``mode`` 1 accepted, 2 waiting for moderation, 4 deleted (a
placeholder Isso keeps, text and author cleared, while it has replies).

What this reader decides:

- The database is opened read-only (an Isso still running beside it is
  not disturbed, and nothing is ever written). A file that is not SQLite,
  or lacks Isso's tables or columns, is refused with a SourceError saying
  so; databases of every Isso schema version (0 to 5) are read.
- States: mode 1 approved, 2 pending, 4 trash (the placeholder keeps its
  replies' parent links); a mode Isso never writes becomes pending, so
  nothing unknown is published unseen.
- ``parent`` is the real parent, also when it is a reply (Isso shows one
  level; this project shows more). A parent missing from the thread, or a
  loop, leaves the comment at the top (``comment_tree``).
- Isso stores ``author``, ``email`` and ``website`` HTML-escaped (its
  ``views/comments.py`` escapes them on the way in); they are unescaped
  here. A website other than ``http(s)://host…`` becomes None.
- The thread's ``url`` is Isso's ``uri``, a path: the importer joins it to
  the site's address. Anchors are ``isso-<id>``, the fragment Isso's links
  use. A thread without comments is left out; comments whose ``tid`` names
  no thread are kept in a thread with no URL, listed as matching nothing.
"""

from __future__ import annotations

import html
import sqlite3
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

from .comment_tree import in_tree_order
from .records import ImportedComment, ImportedThread, SourceError

#: The columns read, as every Isso since its first schema has them.
COLUMNS = {
    "threads": ("id", "uri", "title"),
    "comments": (
        "tid",
        "id",
        "parent",
        "created",
        "mode",
        "text",
        "author",
        "email",
        "website",
    ),
}
STATES = {1: "approved", 2: "pending", 4: "trash"}


def read_isso(path: Path) -> list[ImportedThread]:
    """Read the Isso database at ``path``: one thread per page that has
    comments (in Isso's order of threads), each thread's comments with
    parents before replies. Raises SourceError for a file that is not an
    Isso database, or a comment without a readable date."""
    if not Path(path).is_file():
        reason = "not a file" if Path(path).exists() else "no such file"
        raise SourceError(f"cannot read {path}: {reason}")
    uri = Path(path).resolve().as_uri() + "?mode=ro"
    try:
        connection = sqlite3.connect(uri, uri=True)
    except sqlite3.Error as error:
        raise SourceError(f"cannot open {path}: {error}") from None
    # Isso writes UTF-8; a byte that is not becomes U+FFFD, not a refusal.
    connection.text_factory = lambda data: data.decode("utf-8", "replace")
    try:
        _check_schema(connection, path)
        threads = connection.execute(
            "SELECT id, uri, title FROM threads ORDER BY id"
        ).fetchall()
        rows = connection.execute(
            "SELECT tid, id, parent, created, mode, text, author, email, website"
            " FROM comments ORDER BY id"
        ).fetchall()
    except sqlite3.DatabaseError as error:
        raise SourceError(f"not an Isso database ({path}): {error}") from None
    finally:
        connection.close()

    comments: dict[object, list[ImportedComment]] = defaultdict(list)
    for tid, *row in rows:
        comments[tid].append(_comment(*row))
    result: list[ImportedThread] = []
    for tid, thread_uri, title in threads:
        if tid in comments:
            result.append(
                ImportedThread(
                    url=str(thread_uri or ""),
                    title=str(title or "").strip(),
                    comments=in_tree_order(comments.pop(tid)),
                )
            )
    for tid, orphans in comments.items():  # threads the database lacks
        title = f"Isso thread {tid} (not in the database)"
        result.append(
            ImportedThread(url="", title=title, comments=in_tree_order(orphans))
        )
    return result


def _check_schema(connection: sqlite3.Connection, path: Path) -> None:
    for table, needed in COLUMNS.items():
        rows = connection.execute("SELECT name FROM pragma_table_info(?)", (table,))
        have = {name for (name,) in rows}
        if not have:
            raise SourceError(f"not an Isso database ({path}): it has no {table} table")
        missing = [column for column in needed if column not in have]
        if missing:
            raise SourceError(
                f"not an Isso database ({path}): its {table} table has no "
                + ", ".join(missing)
            )


def _comment(
    id: object,
    parent: object,
    created: object,
    mode: object,
    text: object,
    author: object,
    email: object,
    website: object,
) -> ImportedComment:
    # The column is FLOAT: SQLite stores a number given as text as a number.
    if not isinstance(created, int | float) or isinstance(created, bool):
        raise SourceError(f"comment {id}: created is {created!r}, not a Unix time")
    try:
        when = datetime.fromtimestamp(created, UTC)
    except (OverflowError, OSError, ValueError):
        raise SourceError(
            f"comment {id}: created {created!r} is out of range"
        ) from None
    return ImportedComment(
        source_id=str(id),
        parent_id=None if parent in (None, 0, "", "0") else str(parent),
        name=_unescaped(author),
        email=_unescaped(email) or None,
        website=_website(_unescaped(website)),
        created_at=when,
        body=str(text or ""),
        body_format="markdown",
        state=STATES.get(mode, "pending") if isinstance(mode, int) else "pending",
        anchor=f"isso-{id}",
    )


def _unescaped(value: object) -> str:
    return html.unescape(str(value)).strip() if value is not None else ""


def _website(value: str) -> str | None:
    """``value`` if it is an http(s) address with a host, else None."""
    if not value or any(ch.isspace() or ord(ch) < 32 or ord(ch) == 127 for ch in value):
        return None
    try:
        parts = urlsplit(value)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return None
    return value
