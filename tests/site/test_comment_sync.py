"""Comment files and the database, reconciled both ways on a real site:
``flask comments check``, ``comments export`` and ``comments import``, and
publishing that refuses to drop what only the files know.

A new or restored database is made as it is on a host: the comment table
empty and its ids given from 1 again (a new SQLite file's sequence, a new
PostgreSQL sequence).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import select, text

from feedback_app.core.db import get_db
from feedback_app.core.models import Comment
from feedback_app.core.rendering import render_comment
from feedback_app.services import moderation
from feedback_app.site.files import comment_file_name

pytestmark = pytest.mark.build

ARTICLE = "2026/inside-sales-without-the-script/"
START = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def add_comment(
    app: Flask,
    body: str,
    *,
    parent: int | None = None,
    minutes: int = 0,
    name: str = "Sam",
) -> int:
    """Store a held comment as the form would; return its id."""
    with get_db(app).write() as session:
        depth = session.get(Comment, parent).depth + 1 if parent else 1
        comment = Comment(
            article_slug=ARTICLE.split("/")[1],
            article_page_url=ARTICLE,
            article_authors='["Maya Lindqvist"]',
            parent_id=parent,
            depth=depth,
            name=name,
            email="sam@example.org",
            body=body,
            html=render_comment(body),
            state="pending",
            fingerprint=f"{body}-{minutes}",
            created_at=START + timedelta(minutes=minutes),
        )
        session.add(comment)
        session.flush()
        return comment.id


def comment_file(app: Flask, page_url: str = ARTICLE) -> Path:
    return Path(app.config["COMMENTS_PATH"]) / comment_file_name(page_url)


def article_page(app: Flask) -> str:
    return (Path(app.config["OUTPUT_PATH"]) / ARTICLE / "index.html").read_text()


def new_database(app: Flask) -> None:
    """Make the app's database as a new one is: no comments, and the next
    comment gets id 1."""
    with get_db(app).write() as session:
        if session.get_bind().dialect.name == "postgresql":
            session.execute(text("TRUNCATE comment RESTART IDENTITY CASCADE"))
        else:
            session.execute(text("DELETE FROM comment"))
            session.execute(text("DELETE FROM sqlite_sequence WHERE name = 'comment'"))


@pytest.fixture
def published(publishing_app: Flask) -> Flask:
    """Three published comments (one a reply) on ARTICLE, live on its page."""
    app = publishing_app
    first = add_comment(app, "A *good* point about scripts.", name="Ola")
    reply = add_comment(
        app, "Agreed, and [here](https://example.org/) is why.", parent=first, minutes=5
    )
    other = add_comment(app, "Third & last <b>word</b>.", minutes=9, name="Kim")
    with app.app_context():
        moderation.moderate([first, reply, other], "approved", wait=True)
    assert "A <em>good</em> point" in article_page(app)
    return app


def test_an_approval_never_drops_comments_only_the_file_has(published: Flask) -> None:
    app = published
    before, page = comment_file(app).read_bytes(), article_page(app)
    new_database(app)
    newcomer = add_comment(app, "Posted after the move.", minutes=60, name="Lou")
    assert newcomer == 1  # the id of a comment the file shows, given again

    result = app.test_cli_runner().invoke(args=["comments", "approve", str(newcomer)])

    assert result.exit_code == 1, result.output
    assert "comments import" in result.output
    assert "#1, #2, #3" in result.output
    # Nothing published is lost: the file and the page are as they were.
    assert comment_file(app).read_bytes() == before
    assert article_page(app) == page


def test_check_import_and_export_bring_a_new_database_back(published: Flask) -> None:
    app = published
    runner = app.test_cli_runner()
    before, page = comment_file(app).read_bytes(), article_page(app)
    new_database(app)

    check = runner.invoke(args=["comments", "check"])
    assert check.exit_code == 1
    assert check.output.count("in the file, unknown to the database") == 3

    loaded = runner.invoke(args=["comments", "import"])
    assert loaded.exit_code == 0, loaded.output
    assert "Loaded 3 comment(s) on 1 article(s)" in loaded.output
    again = runner.invoke(args=["comments", "import"])
    assert "Loaded 0 comment(s) on 0 article(s); 3 already" in again.output

    with get_db(app).read() as session:
        rows = session.scalars(select(Comment).order_by(Comment.id)).all()
        assert [(c.id, c.parent_id, c.state, c.email) for c in rows] == [
            (1, None, "approved", None),
            (2, 1, "approved", None),
            (3, None, "approved", None),
        ]
        assert rows[1].depth == 2
        assert "*good*" in rows[0].body  # Markdown again, for the editor
    assert runner.invoke(args=["comments", "check"]).exit_code == 0

    # Writing the files from the loaded database changes nothing.
    exported = runner.invoke(args=["comments", "export"])
    assert exported.exit_code == 0, exported.output
    assert comment_file(app).read_bytes() == before
    assert article_page(app) == page

    # The next comment gets the next id, and every comment stays published.
    newcomer = add_comment(app, "Posted after the move.", minutes=60, name="Lou")
    assert newcomer == 4
    assert runner.invoke(args=["comments", "approve", "4"]).exit_code == 0
    shown = json.loads(comment_file(app).read_text())["comments"]
    assert [c["id"] for c in shown] == [1, 2, 3, 4]
    assert "Posted after the move." in article_page(app)


def test_export_writes_files_that_went_missing(published: Flask) -> None:
    app = published
    runner = app.test_cli_runner()
    before = comment_file(app).read_bytes()
    comment_file(app).unlink()

    check = runner.invoke(args=["comments", "check"])
    assert check.exit_code == 1
    assert check.output.count("published in the database, not in the file") == 3

    assert runner.invoke(args=["comments", "export"]).exit_code == 0
    assert comment_file(app).read_bytes() == before
    assert runner.invoke(args=["comments", "check"]).exit_code == 0


def test_a_comment_this_database_deleted_stays_deleted(published: Flask) -> None:
    app = published
    runner = app.test_cli_runner()
    stale = comment_file(app).read_bytes()
    deleted = runner.invoke(args=["comments", "delete", "3"])
    assert deleted.exit_code == 0, deleted.output
    comment_file(app).write_bytes(stale)  # an older copy, from a checkout

    check = runner.invoke(args=["comments", "check"])
    assert "#3: in the file, not published in the database" in check.output
    loaded = runner.invoke(args=["comments", "import"])
    assert "Loaded 0 comment(s)" in loaded.output
    assert "1 comment(s) this database deleted were left out" in loaded.output

    # Publishing may drop it: the database knew it and deleted it.
    later = add_comment(app, "Still here.", minutes=30)
    assert runner.invoke(args=["comments", "approve", str(later)]).exit_code == 0
    assert [c["id"] for c in json.loads(comment_file(app).read_text())["comments"]] == [
        1,
        2,
        later,
    ]


def test_import_reports_an_id_given_to_another_comment(published: Flask) -> None:
    app = published
    new_database(app)
    add_comment(app, "Not the file's #1.", minutes=99)

    result = app.test_cli_runner().invoke(args=["comments", "import"])

    assert result.exit_code == 1
    assert f"{ARTICLE} #1: this database gave that id to another comment" in (
        result.output
    )
    with get_db(app).read() as session:
        assert session.get(Comment, 1).body == "Not the file's #1."
        assert session.get(Comment, 2).parent_id is None  # its parent is not the file's


def test_import_cleans_what_a_file_should_never_hold(published: Flask) -> None:
    app = published
    path = comment_file(app)
    data = json.loads(path.read_text())
    data["comments"][2]["html"] = (
        '<p>Hi<script>alert(1)</script><img src=x onerror="alert(2)">'
        '<a href="javascript:alert(3)">x</a></p>'
    )
    data["comments"].append({"id": 40, "parent": None, "name": "", "date": "x"})
    path.write_text(json.dumps(data))
    new_database(app)

    result = app.test_cli_runner().invoke(args=["comments", "import"])

    assert result.exit_code == 1  # the broken row is reported
    assert f"Not loaded: {ARTICLE} #40: no name" in result.output
    with get_db(app).read() as session:
        html = session.get(Comment, 3).html
    assert "script" not in html and "onerror" not in html and "javascript" not in html
