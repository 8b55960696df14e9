"""Storing imported threads: each comment once (its source and its id there,
``comment.origin``/``origin_id``), under its parent, in its state, on the
article it was attached to; the commenters' addresses in the database only.

A WordPress comment keeps its id where no comment ever had it, so
``#comment-123`` links land on it; otherwise (and for Disqus and Isso) the
fragment of old links is kept as the comment's ``anchor``, unless another
comment of the same article already answers to it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from flask import Flask
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from ..core import reasons
from ..core.addresses import HeaderError, checked_address
from ..core.db import get_db
from ..core.models import Comment, utcnow
from ..core.rendering import render_comment
from ..site.comment_sync import highest_id_given
from ..site.index import Article
from ..site.ownership import encode_authors
from ..site.publishing import write_comment_file
from ..site.threads import published_comments
from ..store.comments import fingerprint
from .records import ImportedComment, ImportedThread
from .report import Report
from .wp_content import convert_comment

#: The largest id a comment column holds on every database (PostgreSQL's
#: integer).
MAX_ID = 2**31 - 1
ANONYMOUS = "Anonymous"
#: What an anchor may be (``contract.COMMENT_FILE_SCHEMA``): one word of
#: an id, never markup, never the theme's ``comment-N-by``.
_ANCHOR = re.compile(r"[A-Za-z][A-Za-z0-9_]*-[0-9]{1,20}")
_ID_LENGTH = 100  # comment.origin_id


@dataclass
class Stored:
    """What storing some threads did, for the report."""

    added: dict[str, int] = field(default_factory=dict)  # by state
    already: int = 0
    link_notices: int = 0  # pingbacks and trackbacks, not imported
    bad_ids: int = 0  # ids longer than a column holds: not imported
    kept_ids: int = 0
    anchors_lost: list[str] = field(default_factory=list)
    page_urls: set[str] = field(default_factory=set)  # articles with new ones

    @property
    def total(self) -> int:
        return sum(self.added.values())


def _address(email: str | None) -> str | None:
    """Return a commenter's address as the site stores one, or None for
    what is not one (it could never be written to anyway)."""
    if not email:
        return None
    try:
        return checked_address(email.strip())
    except HeaderError:
        return None


def _own_anchor(anchor: str, ids_below: int) -> bool:
    """Whether ``anchor`` can be an imported comment's: a word and a
    number, and not ``comment-N`` for an id this database has given or
    will give in this import (below ``ids_below``)."""
    if not _ANCHOR.fullmatch(anchor):
        return False
    word, _, number = anchor.rpartition("-")
    return word != "comment" or int(number) >= ids_below


def new_comments(
    session: Session, threads: Iterable[ImportedThread], origin: str
) -> int:
    """Return how many comments of ``threads`` an import would add."""
    known = set(
        session.scalars(select(Comment.origin_id).where(Comment.origin == origin))
    )
    return sum(
        1
        for t in threads
        for c in t.comments
        if c.kind == "comment" and c.source_id not in known
    )


def _parents_first(comments: list[ImportedComment]) -> list[ImportedComment]:
    """Return ``comments`` with every parent before its replies (oldest
    first among siblings); a reply to a comment the thread lacks is a
    top-level comment."""
    ids = {c.source_id for c in comments}
    children: dict[str | None, list[ImportedComment]] = {}
    for c in sorted(comments, key=lambda c: (c.created_at, c.source_id)):
        parent = (
            c.parent_id if c.parent_id in ids and c.parent_id != c.source_id else None
        )
        children.setdefault(parent, []).append(c)
    ordered: list[ImportedComment] = []
    stack = list(reversed(children.get(None, [])))
    seen: set[str] = set()
    while stack:
        c = stack.pop()
        if c.source_id in seen:
            continue
        seen.add(c.source_id)
        ordered.append(c)
        stack.extend(reversed(children.get(c.source_id, [])))
    # A cycle (a broken source) is never reached from the top: its comments
    # come last, on top of the thread.
    ordered.extend(c for c in comments if c.source_id not in seen)
    return ordered


def store_threads(
    session: Session,
    attached: Iterable[tuple[Article, ImportedThread]],
    *,
    origin: str,
    source_name: str,
    keep_ids: bool = False,
) -> Stored:
    """Store the comments of each thread on its article, in the caller's
    transaction; return what was done.

    ``origin`` names the source ("wordpress http://old.example.org");
    ``keep_ids``: the source's ids are numbers old links use as
    ``#comment-<id>`` (WordPress's), kept as the comments' own where free.
    """
    stored = Stored()
    attached = list(attached)
    now = utcnow()
    known = dict(
        session.execute(
            select(Comment.origin_id, Comment.id).where(Comment.origin == origin)
        ).all()
    )
    highest = highest_id_given(session)
    free_above = highest if keep_ids else MAX_ID
    depth_of = dict(
        session.execute(
            select(Comment.id, Comment.depth).where(Comment.origin == origin)
        ).all()
    )
    # Ids kept, and (so that no id the database gives meanwhile takes one
    # a later comment keeps) the others given from above the highest.
    kept = {
        int(c.source_id)
        for _, thread in attached
        for c in thread.comments
        if keep_ids
        and c.kind == "comment"
        and c.source_id not in known
        and c.source_id.isdigit()
        and free_above < int(c.source_id) <= MAX_ID
    }
    next_id = max(kept | {free_above}) + 1
    # Every id this import can give is below this: an old anchor
    # "comment-N" under it would be some comment's own id.
    ids_below = (next_id if keep_ids else highest + 1) + sum(
        len(t.comments) for _, t in attached
    )
    for article, thread in attached:
        authors = encode_authors(article.authors)
        taken_here: set[str] | None = None
        # A parent is one of the thread's own: never a comment of another
        # article, whatever the source says.
        own = {c.source_id for c in thread.comments}
        for c in _parents_first(thread.comments):
            if c.kind != "comment":
                stored.link_notices += 1
                continue
            if c.source_id in known:
                stored.already += 1
                continue
            if not c.source_id or len(c.source_id) > _ID_LENGTH:
                stored.bad_ids += 1
                continue
            parent_id = (
                known.get(c.parent_id)
                if c.parent_id in own and c.parent_id != c.source_id
                else None
            )
            name = " ".join(c.name.split())[:100] or ANONYMOUS
            body = convert_comment(c.body) if c.body_format == "html" else c.body
            body = body.strip() or "…"
            values = {
                "article_slug": article.slug,
                "article_page_url": article.page_url,
                "article_authors": authors,
                "parent_id": parent_id,
                "depth": depth_of.get(parent_id, 0) + 1 if parent_id else 1,
                "name": name,
                "email": _address(c.email),
                "website": (c.website or "")[:500] or None,
                "body": body,
                "html": render_comment(body),
                "state": c.state,
                "reason": reasons.IMPORTED_HELD.say(source=source_name)
                if c.state == "pending"
                else None,
                "is_author": c.by_author,
                "fingerprint": fingerprint(
                    article.page_url, parent_id, name, c.email, body
                ),
                "created_at": c.created_at,
                # Changed here when imported: the purge of old spam and
                # trash counts from the import, not from the old site.
                "updated_at": now,
                "origin": origin,
                "origin_id": c.source_id,
            }
            wanted = int(c.source_id) if c.source_id.isdigit() else None
            if wanted in kept:
                values["id"] = wanted
                stored.kept_ids += 1
            elif keep_ids:
                values["id"] = next_id
                next_id += 1
            # WordPress's ids not kept are ids given already, to comments
            # of other articles (checked below); another source's anchor
            # must be no id at all.
            usable = (
                bool(_ANCHOR.fullmatch(c.anchor))
                if keep_ids
                else _own_anchor(c.anchor, ids_below)
            )
            if wanted not in kept and usable:
                if taken_here is None:
                    # Each comment's own id on the page, and the old anchors
                    # already there (another source's).
                    taken_here = set()
                    for i, anchor in session.execute(
                        select(Comment.id, Comment.anchor).where(
                            Comment.article_page_url == article.page_url
                        )
                    ):
                        taken_here |= {f"comment-{i}", anchor or ""}
                if c.anchor in taken_here:
                    stored.anchors_lost.append(f"#{c.anchor} ({thread.url})")
                else:
                    values["anchor"] = c.anchor
            comment = Comment(**values)
            session.add(comment)
            session.flush()
            known[c.source_id] = comment.id
            depth_of[comment.id] = values["depth"]
            if taken_here is not None:
                taken_here |= {f"comment-{comment.id}", comment.anchor or ""}
            stored.added[c.state] = stored.added.get(c.state, 0) + 1
            if c.state == "approved":
                stored.page_urls.add(article.page_url)
    if keep_ids and stored.total and session.get_bind().dialect.name == "postgresql":
        # Ids given by hand: the sequence goes on after the highest.
        session.execute(
            text(
                "SELECT setval(pg_get_serial_sequence('comment', 'id'),"
                " (SELECT max(id) FROM comment))"
            )
        )
    return stored


def store_and_publish_files(
    app: Flask,
    attached: list[tuple[Article, ImportedThread]],
    report: Report,
    *,
    origin: str,
    source_name: str,
    keep_ids: bool = False,
) -> bool:
    """Store ``attached`` in one transaction (``store_threads``), say what
    was done in ``report``, and write the comment file of each article that
    gained a published comment; tell whether any did (the site is then
    built again to show them)."""
    with get_db(app).write() as session:
        stored = store_threads(
            session,
            attached,
            origin=origin,
            source_name=source_name,
            keep_ids=keep_ids,
        )
        rows = {url: published_comments(session, url) for url in stored.page_urls}
    for state, n in stored.added.items():
        report.count(f"comments imported: {state}", n, wrote=True)
    report.count("comments already imported", stored.already)
    report.count("comments skipped: an id longer than 100 characters", stored.bad_ids)
    report.count("pingbacks and trackbacks skipped", stored.link_notices)
    for anchor in stored.anchors_lost:
        report.note(f"{anchor}: another comment of the article has that anchor")
    folder = Path(app.config["COMMENTS_PATH"])
    folder.mkdir(parents=True, exist_ok=True)
    for url, comments in rows.items():
        write_comment_file(folder, url, comments)
    return bool(rows)
