"""``GET /health``: is this app host able to serve, for load balancers and probes.

It answers 200 only when the database answers and its schema is the one this
code expects (every migration applied), and 503 otherwise, naming which.
Its detail also names the articles' authors (public names, from the site
index) for whom nobody gets readers' messages by mail: no account, and no
editor either; and, for a monitor, the outbox (mail waiting, the oldest
waiting's time, mail that failed for good), the moderation queue's size
and the last publish (when it ended, and whether it failed, with why).
Counts and times only: it says nothing about readers, and is never cached.
"""

from __future__ import annotations

import re
from functools import cache
from typing import Any

from flask import Blueprint, Response, current_app, jsonify
from sqlalchemy import func, select, text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from .core.db import MIGRATIONS, get_db
from .core.models import Comment, OutboxMessage
from .mail.messages import unheard_author_names
from .site.index import site_index
from .site.lock import last_publish

bp = Blueprint("health", __name__)

_REVISION = re.compile(r'^revision[^=]*=\s*["\']([0-9a-f]+)["\']', re.M)
_DOWN_REVISION = re.compile(r'^down_revision[^=]*=\s*["\']([0-9a-f]+)["\']', re.M)


@cache
def expected_revision() -> str | None:
    """The migration this code was written for: the one no other follows.

    Read from the migration files' ``revision``/``down_revision`` lines,
    not through Alembic, which would cost every worker its memory.
    """
    revisions, followed = set(), set()
    for path in (MIGRATIONS / "versions").glob("*.py"):
        text = path.read_text(encoding="utf-8")
        if found := _REVISION.search(text):
            revisions.add(found.group(1))
        if found := _DOWN_REVISION.search(text):
            followed.add(found.group(1))
    heads = revisions - followed
    return heads.pop() if len(heads) == 1 else None


@bp.get("/health")
def health() -> tuple[Response, int]:
    """Check the database and its schema; 200 if both are right, else 503."""
    unheard: list[str] = []
    work: dict[str, Any] = {}
    try:
        with get_db().read() as session:
            revision = session.scalar(text("SELECT version_num FROM alembic_version"))
            expected = expected_revision()
            if revision == expected:
                unheard = unheard_author_names(session, site_index().current())
                work = _work(session)
    except SQLAlchemyError as exc:
        status, database = 503, f"not ready ({type(exc).__name__})"
    else:
        if revision == expected:
            status, database = 200, "ok"
        else:
            status, database = 503, f"schema at {revision}, code expects {expected}"
    detail = {"authors_without_account": unheard} if unheard else {}
    response = jsonify(
        status="ok" if status == 200 else "unavailable",
        database=database,
        **detail,
        **work,
        last_publish=last_publish(current_app),
    )
    response.headers["Cache-Control"] = "no-store"
    return response, status


def _work(session: Session) -> dict[str, Any]:
    """What waits: the outbox and the moderation queue (indexed counts)."""
    waiting, oldest = session.execute(
        select(func.count(), func.min(OutboxMessage.created_at)).where(
            OutboxMessage.state == "queued"
        )
    ).one()
    failed = session.scalar(select(func.count()).where(OutboxMessage.state == "failed"))
    pending = session.scalar(select(func.count()).where(Comment.state == "pending"))
    return {
        "outbox": {
            "waiting": waiting,
            "oldest_waiting": oldest.isoformat(timespec="seconds") if oldest else None,
            "failed": failed,
        },
        "moderation_queue": pending,
    }
