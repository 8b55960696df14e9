"""Loading the site's own comment files into the database
(``flask comments import``): a new or restored database, or a fresh host,
gets back every published comment the files in ``COMMENTS_PATH`` show.

Each comment keeps its id (``#comment-N`` links and feed ids stay), its
parent, time, name, website, badge and anchor, and its HTML as the page
shows it (cleaned once more with the comments' allow-list: a file is
content anyone with the repository can change). Its Markdown source is not
in the file: it is made from the HTML, for the desk's editor. The address
is not in the file either, so a loaded comment has none.

A comment the database already has (same id, same time) is left alone; an
id the database gave to another comment is a conflict, reported and not
loaded; an id the database gave and deleted since stays deleted.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from flask import Flask
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from ..core.db import get_db
from ..core.models import Comment
from ..core.rendering import clean_comment_html
from ..site.comment_sync import highest_id_given, read_files
from ..site.index import site_index
from ..site.ownership import encode_authors
from ..store.comments import fingerprint
from .wp_content import convert_comment

_ANCHOR = re.compile(r"[A-Za-z][A-Za-z0-9_-]{0,99}")
_MAX_ID = 2**31 - 1


@dataclass
class Loaded:
    """What ``load_files`` did."""

    added: int = 0
    already: int = 0
    deleted_here: int = 0  # ids this database gave and deleted: not loaded
    conflicts: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # files or rows unread
    page_urls: set[str] = field(default_factory=set)


def _checked(row: Any) -> dict[str, Any]:
    """Return a file's comment as the database stores it.

    :raise ValueError: if it is not one the app could have written.
    """
    if not isinstance(row, dict):
        raise ValueError("not a comment")
    cid, parent = row.get("id"), row.get("parent")
    if not isinstance(cid, int) or isinstance(cid, bool) or not 0 < cid <= _MAX_ID:
        raise ValueError("no id")
    if parent is not None and (not isinstance(parent, int) or isinstance(parent, bool)):
        raise ValueError("a parent that is no id")
    name, html, website = row.get("name"), row.get("html"), row.get("website")
    if not isinstance(name, str) or not name.strip() or len(name) > 100:
        raise ValueError("no name, or a name longer than 100 characters")
    if not isinstance(html, str) or not html.strip():
        raise ValueError("no text")
    if website is not None and (not isinstance(website, str) or len(website) > 500):
        raise ValueError("a website that is not one")
    created = datetime.fromisoformat(str(row.get("date")))
    if created.tzinfo is None:
        created = created.replace(tzinfo=UTC)
    anchor = row.get("anchor")
    if anchor is not None and not (
        isinstance(anchor, str) and _ANCHOR.fullmatch(anchor)
    ):
        raise ValueError("an anchor that is not one")
    html = clean_comment_html(html)
    return {
        "id": cid,
        "parent": parent,
        "name": " ".join(name.split()),
        "website": website or None,
        "created_at": created.astimezone(UTC),
        "author": row.get("author") is True,
        "html": html,
        "anchor": anchor,
    }


def load_files(app: Flask, folder: Path | None = None) -> Loaded:
    """Load the published comments of every file in ``folder`` (default:
    ``COMMENTS_PATH``) that the database lacks, in one transaction."""
    folder = Path(folder or app.config["COMMENTS_PATH"])
    files, broken = read_files(folder)
    loaded = Loaded(problems=broken)
    site = site_index(app).current()
    with get_db(app).write() as session:
        highest = highest_id_given(session)
        for page_url, rows in files.items():
            _load_thread(
                session, site.articles.get(page_url), page_url, rows, highest, loaded
            )
        if loaded.added and session.get_bind().dialect.name == "postgresql":
            # Ids given by hand: the sequence goes on after the highest.
            session.execute(
                text(
                    "SELECT setval(pg_get_serial_sequence('comment', 'id'),"
                    " (SELECT max(id) FROM comment))"
                )
            )
    return loaded


def _load_thread(
    session: Session,
    article: Any,
    page_url: str,
    rows: list[Any],
    highest: int,
    loaded: Loaded,
) -> None:
    """Load one article's comments (a file lists a parent before its
    replies)."""
    checked = []
    for row in rows:
        try:
            checked.append(_checked(row))
        except (ValueError, TypeError) as exc:
            cid = row.get("id") if isinstance(row, dict) else None
            loaded.problems.append(f"{page_url} #{cid}: {exc}")
    ids = [c["id"] for c in checked]
    have = dict(
        session.execute(
            select(Comment.id, Comment.created_at).where(Comment.id.in_(ids))
        ).all()
    )
    depth_of = dict(
        session.execute(
            select(Comment.id, Comment.depth).where(
                Comment.article_page_url == page_url
            )
        ).all()
    )
    slug = article.slug if article else page_url.rstrip("/").rsplit("/", 1)[-1]
    authors = encode_authors(article.authors if article else ())
    # The file's comments the database has or now gets: a parent is one of
    # them, never another comment that has its id here.
    ours: set[int] = set()
    for c in checked:
        cid = c["id"]
        if cid in have:
            if have[cid].isoformat(timespec="seconds") == c["created_at"].isoformat(
                timespec="seconds"
            ):
                loaded.already += 1
                ours.add(cid)
            else:
                loaded.conflicts.append(
                    f"{page_url} #{cid}: this database gave that id to another comment"
                )
            continue
        if cid <= highest:
            loaded.deleted_here += 1
            continue
        parent = c["parent"] if c["parent"] in ours & depth_of.keys() else None
        body = convert_comment(c["html"]).strip() or "…"
        session.add(
            Comment(
                id=cid,
                article_slug=slug[:200],
                article_page_url=page_url,
                article_authors=authors,
                parent_id=parent,
                depth=depth_of[parent] + 1 if parent else 1,
                name=c["name"],
                email=None,
                website=c["website"],
                body=body,
                html=c["html"],
                state="approved",
                is_author=c["author"],
                anchor=c["anchor"],
                fingerprint=fingerprint(page_url, parent, c["name"], None, body),
                created_at=c["created_at"],
                updated_at=c["created_at"],
            )
        )
        session.flush()
        depth_of[cid] = depth_of[parent] + 1 if parent else 1
        ours.add(cid)
        loaded.added += 1
        loaded.page_urls.add(page_url)
