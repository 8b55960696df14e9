"""The comment files and the database, side by side.

The database holds every comment; each article's file in ``COMMENTS_PATH``
holds what the site shows of its published ones (``threads.published_comments``).
They drift when a database is restored from a backup, replaced by a new
one, or a checkout brings files from elsewhere. This module says how they
differ (``differences``, for ``flask comments check``) and which comments
of a file the database has never known (``unknown_rows``): publishing
refuses to write a file that would drop one of those, since only
``flask comments import`` can bring them back.

A comment is the database's own when the database has it with the same
time, or when its id is one the database gave and deleted since (ids are
never given twice: SQLite's ``AUTOINCREMENT``, PostgreSQL's sequence).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from ..core.models import Comment
from .contract import COMMENT_FILE_VERSION, check_version
from .lock import PublishError
from .threads import published_comments


@dataclass(frozen=True)
class Difference:
    """One way a comment file and the database disagree."""

    page_url: str
    comment_id: int | None
    problem: str

    def __str__(self) -> str:
        where = f"#{self.comment_id}" if self.comment_id is not None else "file"
        return f"{self.page_url} {where}: {self.problem}"


class UnknownComments(PublishError):
    """A comment file holds published comments the database never knew."""

    def __init__(self, unknown: dict[str, list[int]]) -> None:
        self.unknown = unknown
        listed = "; ".join(
            f"{url}: " + ", ".join(f"#{i}" for i in ids)
            for url, ids in sorted(unknown.items())
        )
        super().__init__(
            "The comment files hold published comments this database does not"
            f" know ({listed}). Nothing was written for those articles: run"
            " `flask --app feedback_app comments import` to load them first"
            " (`comments check` lists every difference)."
        )


def highest_id_given(session: Session) -> int:
    """Return the highest comment id this database ever gave (deleted
    comments' ids included, where the database remembers them)."""
    highest = session.scalar(select(func.max(Comment.id))) or 0
    dialect = session.get_bind().dialect.name
    if dialect == "sqlite":
        seq = session.execute(
            text("SELECT seq FROM sqlite_sequence WHERE name = 'comment'")
        ).scalar()
    elif dialect == "postgresql":
        seq = session.execute(
            text(
                "SELECT pg_sequence_last_value("
                "pg_get_serial_sequence('comment', 'id')::regclass)"
            )
        ).scalar()
    else:  # pragma: no cover - the two databases the project runs on
        seq = 0
    return max(highest, seq or 0)


def file_date(comment: Comment) -> str:
    """Return a comment's time as its file writes it."""
    return comment.created_at.isoformat(timespec="seconds")


def unknown_rows(
    session: Session, rows: list[dict[str, Any]], highest: int | None = None
) -> list[dict[str, Any]]:
    """Return the rows of a comment file the database never knew: an id
    it never gave, or one it gave to another comment (another time)."""
    if not rows:
        return []
    ids = [r["id"] for r in rows if isinstance(r.get("id"), int)]
    known = dict(
        session.execute(
            select(Comment.id, Comment.created_at).where(Comment.id.in_(ids))
        ).all()
    )
    if highest is None:
        highest = highest_id_given(session)
    unknown = []
    for row in rows:
        cid = row.get("id")
        if not isinstance(cid, int):
            continue
        created = known.get(cid)
        if created is None:
            if cid > highest:
                unknown.append(row)
        elif created.isoformat(timespec="seconds") != row.get("date"):
            unknown.append(row)
    return unknown


def unknown_ids(
    session: Session, threads: dict[str, list[dict[str, Any]] | None]
) -> dict[str, list[int]]:
    """Return, by article, the ids of the comments of its file (``threads``:
    each file's rows, or None) that the database never knew."""
    if not any(threads.values()):
        return {}
    highest = highest_id_given(session)
    unknown = {
        url: [row["id"] for row in unknown_rows(session, rows or [], highest)]
        for url, rows in threads.items()
    }
    return {url: ids for url, ids in unknown.items() if ids}


def read_files(folder: Path) -> tuple[dict[str, list[dict[str, Any]]], list[str]]:
    """Return the comments of every file in ``folder`` by the article each
    names, and the files that cannot be read (with why)."""
    threads: dict[str, list[dict[str, Any]]] = {}
    broken: list[str] = []
    if not folder.is_dir():
        return threads, broken
    for path in sorted(folder.glob("*.json")):
        try:
            data = json.loads(path.read_bytes())
            check_version(data, COMMENT_FILE_VERSION, f"The comment file {path.name}")
            article, rows = data["article"], data["comments"]
            if not isinstance(article, str) or not isinstance(rows, list):
                raise ValueError("no article or no comments")
        except (OSError, ValueError, KeyError, TypeError) as exc:
            broken.append(f"{path.name}: {exc}")
            continue
        threads.setdefault(article, []).extend(rows)
    return threads, broken


def published_page_urls(session: Session) -> set[str]:
    """Return the articles with a published comment in the database."""
    return set(
        session.scalars(
            select(Comment.article_page_url)
            .where(Comment.state == "approved")
            .distinct()
        )
    )


def differences(session: Session, folder: Path) -> list[Difference]:
    """Return every difference between the files in ``folder`` and what the
    database would write into them, article by article."""
    files, broken = read_files(folder)
    found = [Difference(b.split(":", 1)[0], None, "cannot be read") for b in broken]
    highest = highest_id_given(session)
    for page_url in sorted(set(files) | published_page_urls(session)):
        on_file = {r.get("id"): r for r in files.get(page_url, [])}
        in_db = {r["id"]: r for r in published_comments(session, page_url)}
        unknown = {
            r["id"] for r in unknown_rows(session, list(on_file.values()), highest)
        }
        for cid, row in on_file.items():
            if cid in unknown:
                found.append(
                    Difference(page_url, cid, "in the file, unknown to the database")
                )
            elif cid not in in_db:
                found.append(
                    Difference(
                        page_url, cid, "in the file, not published in the database"
                    )
                )
            elif row != in_db[cid]:
                fields = sorted(
                    k
                    for k in row.keys() | in_db[cid].keys()
                    if row.get(k) != in_db[cid].get(k)
                )
                found.append(Difference(page_url, cid, "differs: " + ", ".join(fields)))
        for cid in in_db.keys() - on_file.keys():
            found.append(
                Difference(page_url, cid, "published in the database, not in the file")
            )
    return found
