"""Faults of the storage: a read-only database, a full disk. The app answers
503 with a clear page, never a 2xx for something it did not store, and loses
nothing it acknowledged."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask

from feedback_app import create_app
from feedback_app.core.db import get_db
from feedback_app.core.models import Feedback

from ..conftest import ARTICLE, ORIGIN, Reader

# Online backups and file faults are SQLite's own.
pytestmark = pytest.mark.sqlite


def test_a_read_only_database_gives_503_and_stores_nothing(
    app: Flask, reader: Reader, tmp_path: Path
) -> None:
    token, _ = reader.send_and_follow(message="Before the disk went read-only.")
    database = Path(get_db(app).engine.url.database)
    get_db(app).dispose()
    read_only = create_app(
        {**app.config, "DATABASE_URL": f"sqlite:///file:{database}?mode=ro&uri=true"}
    )
    client = read_only.test_client()
    response = client.post(
        "/feedback",
        data={"article": ARTICLE, "message": "Lost?"},
        headers={"Origin": ORIGIN},
    )
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "60"
    assert "nothing you sent was saved" in response.text
    comment = client.post(
        "/comments",
        data={"article": ARTICLE, "name": "Ana", "body": "Lost too?"},
        headers={"Origin": ORIGIN},
    )
    assert comment.status_code == 503
    # Reading still works: the reader's page opens.
    assert client.get(f"/r/{token}").status_code == 200
    get_db(read_only).dispose()
    with get_db(app).read() as session:
        assert list(session.scalars(sa.select(Feedback.message))) == [
            "Before the disk went read-only."
        ]


def test_a_full_disk_gives_503_and_keeps_every_acknowledged_post(
    app: Flask, reader: Reader
) -> None:
    engine = get_db(app).engine
    get_db(app).dispose()

    @sa.event.listens_for(engine, "connect")
    def small_disk(connection, _record) -> None:  # type: ignore[no-untyped-def]
        # SQLite's own limit on the file's size: it answers "database or disk
        # is full" (SQLITE_FULL) exactly as on a full disk.
        pages = connection.execute("PRAGMA page_count").fetchone()[0]
        connection.execute(f"PRAGMA max_page_count={pages + 8}")

    accepted, statuses = [], []
    for n in range(200):
        response = reader.send(message=f"Post {n}: " + "x" * 4000)
        statuses.append(response.status_code)
        if response.status_code == 303:
            accepted.append(f"Post {n}: ")
        else:
            break
    assert statuses[-1] == 503 and set(statuses[:-1]) == {303}
    assert len(accepted) >= 1
    sa.event.remove(engine, "connect", small_disk)
    get_db(app).dispose()
    with get_db(app).read() as session:
        stored = list(
            session.scalars(sa.select(Feedback.message).order_by(Feedback.id))
        )
        check = session.execute(sa.text("PRAGMA integrity_check")).scalar()
    assert check == "ok"
    assert [m[: len(a)] for m, a in zip(stored, accepted, strict=True)] == accepted
