"""``flask db copy --to URL``: the whole database to the other kind and
back, on a real SQLite file and the machine's PostgreSQL, through the
command an operator runs.

The source holds a row in every table, made by the app's own doors where
there is one (a reader's feedback and its answer, a thread of comments, a
desk session, a failed sign-in, mail in the outbox).
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask

from feedback_app import create_app
from feedback_app.core.db import get_db
from feedback_app.core.models import (
    Base,
    BouncedAddress,
    InboundMessage,
    RateEvent,
    Subscription,
)

from ..conftest import Commenter, Desk, Reader

NOW = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)


def fill_every_table(app: Flask, desk: Desk) -> None:
    reader, commenter = Reader(app.test_client()), Commenter(app.test_client())
    reader.send_and_follow(message="Where do I start?", email="ola@example.org")
    answered = desk.post(
        "/desk/feedback/1/answer", {"answer": "Start small.", "private": "y"}
    )
    assert answered.status_code == 303, answered.text
    first = commenter.post_ok(body="First.")
    approved = desk.post(f"/desk/comments/{first.id}/state", {"action": "approve"})
    assert approved.status_code == 303, approved.text
    commenter.post_ok(body="A reply.", parent=str(first.id))
    newest = commenter.post_ok(body="Deleted before the copy.")
    Desk(app.test_client()).sign_in(password="wrong")  # a sign-in failure
    with get_db(app).write() as session:
        session.execute(sa.text("DELETE FROM comment WHERE id = :i"), {"i": newest.id})
        session.add(Subscription(email="ola@example.org", created_at=NOW))
        # The tests' app counts no posts (its limits are off).
        session.add(RateEvent(bucket="post:address:1f2e", created_at=NOW))
        session.add(BouncedAddress(email="gone@example.org", reason="5.1.1"))
        session.add(
            InboundMessage(
                message_id="<m@example.org>",
                received_via="pipe",
                sender="ola@example.org",
                recipient="blog@example.org",
                subject="Re: your answer",
                body="Thanks!",
                kind="reply",
                state="applied",
                feedback_id=1,
                comment_id=first.id,
            )
        )


def every_row(url: str) -> dict[str, list[dict[str, Any]]]:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as connection:
            return {
                table.name: [
                    dict(row)
                    for row in connection.execute(
                        sa.select(table).order_by(*table.primary_key.columns)
                    ).mappings()
                ]
                for table in Base.metadata.sorted_tables
            }
    finally:
        engine.dispose()


@pytest.fixture
def other_url(app: Flask, request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty database of the other kind than the app's."""
    if get_db(app).engine.dialect.name == "postgresql":
        return f"sqlite:///{tmp_path / 'copy.sqlite3'}"
    return request.getfixturevalue("postgres_url")


def app_on(url: str, app: Flask) -> Flask:
    return create_app({**app.config, "DATABASE_URL": url})


def test_copy_to_the_other_database_and_back(
    app: Flask,
    desk: Desk,
    other_url: str,
    tmp_path: Path,
    request: pytest.FixtureRequest,
) -> None:
    fill_every_table(app, desk)
    source_url = app.config["DATABASE_URL"]
    before = every_row(source_url)
    assert all(before.values()), [t for t, rows in before.items() if not rows]

    result = app.test_cli_runner().invoke(args=["db", "copy", "--to", other_url])

    assert result.exit_code == 0, result.output
    assert "every table's count matches" in result.output
    assert every_row(other_url) == before

    # The copy is a working site: the author signs in with the same
    # password, the reader's comments thread as before, and the next
    # comment gets an id after every id the source gave (a deleted one too).
    copy = app_on(other_url, app)
    assert Desk(copy.test_client()).sign_in().status_code == 303
    highest = max(c["id"] for c in before["comment"]) + 1  # the deleted one
    later = Commenter(copy.test_client()).post_ok(body="On the new database.")
    assert later.id > highest
    get_db(copy).dispose()

    # And back again, into a new database of the first kind.
    back_url = (
        request.getfixturevalue("postgres_url")
        if other_url.startswith("sqlite")
        else f"sqlite:///{tmp_path / 'back.sqlite3'}"
    )
    again = (
        app_on(other_url, app)
        .test_cli_runner()
        .invoke(args=["db", "copy", "--to", back_url])
    )
    assert again.exit_code == 0, again.output
    assert every_row(back_url) == every_row(other_url)


def test_copy_refuses_a_target_with_rows(
    app: Flask, desk: Desk, other_url: str
) -> None:
    fill_every_table(app, desk)
    runner = app.test_cli_runner()
    assert runner.invoke(args=["db", "copy", "--to", other_url]).exit_code == 0
    held = every_row(other_url)

    refused = runner.invoke(args=["db", "copy", "--to", other_url])

    assert refused.exit_code == 1
    assert "holds rows already" in refused.output
    assert "--replace" in refused.output
    assert every_row(other_url) == held

    Reader(app.test_client()).send_and_follow(message="One more.")
    replaced = runner.invoke(args=["db", "copy", "--to", other_url, "--replace"])
    assert replaced.exit_code == 0, replaced.output
    assert every_row(other_url) == every_row(app.config["DATABASE_URL"])


def test_copy_refuses_its_own_database_and_a_bad_url(app: Flask) -> None:
    runner = app.test_cli_runner()
    own = runner.invoke(args=["db", "copy", "--to", app.config["DATABASE_URL"]])
    assert own.exit_code == 1
    assert "the database the app uses" in own.output
    bad = runner.invoke(args=["db", "copy", "--to", "not a url"])
    assert bad.exit_code == 1
    assert "Not a database URL" in bad.output
