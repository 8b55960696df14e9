"""Every time the app shows names its zone: the desk, the reader's reply
page and the commands say "01:42 CET" where they once said "01:42" (the
pages, in the site's zone) and "00:42" (the commands, in UTC), and a page's
``<time datetime>`` carries the moment in UTC.

The site's zone is the project's ``TIMEZONE``, Europe/Stockholm, which the
build writes into the site index; the pages are read as the app renders
them, through its HTTP interface.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner
from sqlalchemy import update

from feedback_app.core.db import get_db
from feedback_app.core.models import Author, Comment, Feedback, OutboxMessage
from feedback_app.mail.outbox import queue_mail
from feedback_app.site import clock

from ..conftest import MAYA, Commenter, Desk, Reader, add_author

#: 00:42 UTC, 01:42 in Stockholm in winter; and a summer afternoon.
WINTER = datetime(2026, 12, 7, 0, 42, tzinfo=UTC)
SUMMER = datetime(2026, 7, 1, 12, 5, tzinfo=UTC)
WINTER_TIME = (
    '<time datetime="2026-12-07T00:42:00Z">7 December 2026 at 01:42 CET</time>'
)
SUMMER_TIME = '<time datetime="2026-07-01T12:05:00Z">1 July 2026 at 14:05 CEST</time>'


def sent_at(app: Flask, moment: datetime) -> None:
    """Date every feedback and comment ``moment``."""
    with get_db(app).write() as session:
        session.execute(update(Feedback).values(created_at=moment))
        session.execute(update(Comment).values(created_at=moment))


def times_in(html: str) -> list[str]:
    return re.findall(r"<time\b.*?</time>", html)


@pytest.fixture
def feedback_token(app: Flask, reader: Reader) -> str:
    token, _ = reader.send_and_follow(message="Thanks for the article.", name="Léa")
    sent_at(app, WINTER)
    return token


def test_the_desk_shows_times_in_the_sites_zone_named(
    app: Flask, desk: Desk, feedback_token: str
) -> None:
    for path in ("/desk/", "/desk/feedback/1"):
        page = desk.get(path).text
        assert WINTER_TIME in page, path
        # One element, not one inside another, nothing escaped twice.
        assert "&lt;time" not in page
        for found in times_in(page):
            assert found.count("<time") == 1, found
            assert re.fullmatch(
                r'<time datetime="\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ">'
                r"[^<]* \d\d:\d\d (CET|CEST)</time>",
                found,
            ), found


def test_summer_time_is_named_too(app: Flask, desk: Desk, feedback_token: str) -> None:
    sent_at(app, SUMMER)
    assert SUMMER_TIME in desk.get("/desk/feedback/1").text


def test_the_reply_page_names_the_zone(
    client: FlaskClient, feedback_token: str
) -> None:
    page = client.get(f"/r/{feedback_token}").text
    assert f"You (Léa) wrote on {WINTER_TIME}:" in page


def test_the_zone_is_named_in_every_language(app: Flask, feedback_token: str) -> None:
    add_author(app)
    with get_db(app).write() as session:
        session.execute(update(Author).where(Author.name == MAYA).values(lang="fr"))
    desk = Desk(app.test_client())
    assert desk.sign_in().status_code == 303
    page = desk.get("/desk/feedback/1").text
    assert (
        '<time datetime="2026-12-07T00:42:00Z">7 décembre 2026 à 01:42 CET</time>'
        in page
    )


def test_a_comment_on_the_desk_names_the_zone(
    app: Flask, desk: Desk, commenter: Commenter
) -> None:
    commenter.post_ok(name="Léa", body="A considered comment.")
    sent_at(app, WINTER)
    assert WINTER_TIME in desk.get("/desk/comments").text


def test_a_name_the_user_can_type_cannot_reach_the_markup(
    app: Flask, desk: Desk, reader: Reader
) -> None:
    """The filter's value is escaped; only its own element is markup."""
    reader.send_and_follow(message="Hi", name='<time datetime="x">evil</time>')
    sent_at(app, WINTER)
    page = desk.get("/desk/feedback/1").text
    assert '<time datetime="x">' not in page
    assert "&lt;time datetime=&#34;x&#34;&gt;evil&lt;/time&gt;" in page


# --- the zone's name ------------------------------------------------------------


@pytest.mark.parametrize(
    ("zone", "shown"),
    [
        ("Europe/Stockholm", "2026-12-07 01:42 CET"),
        ("UTC", "2026-12-07 00:42 UTC"),
        ("America/New_York", "2026-12-06 19:42 EST"),
        # The time zone database has only numbers for these: the offset.
        ("America/Sao_Paulo", "2026-12-06 21:42 UTC-03:00"),
        ("Asia/Kathmandu", "2026-12-07 06:27 UTC+05:45"),
        ("Nowhere/Atlantis", "2026-12-07 00:42 UTC"),  # unknown: UTC, named
    ],
)
def test_the_zone_is_named_by_its_abbreviation_or_offset(zone: str, shown: str) -> None:
    assert clock.short_time(WINTER, zone) == shown


# --- the commands ---------------------------------------------------------------


def test_the_commands_show_the_sites_time_named(
    app: Flask, runner: FlaskCliRunner, reader: Reader, commenter: Commenter
) -> None:
    reader.send_and_follow(message="Thanks for the article.")
    commenter.post_ok(name="Léa", body="A considered comment.")
    sent_at(app, WINTER)
    for args in (
        ["feedback", "list"],
        ["feedback", "show", "1"],
        ["comments", "list"],
        ["comments", "show", "1"],
    ):
        output = runner.invoke(args=args).output
        assert "2026-12-07 01:42 CET" in output, (args, output)
        assert "00:42" not in output, args

    with get_db(app).write() as session:
        queue_mail(
            session,
            kind="test",
            to="lea@example.org",
            subject="Hello",
            body="Hello\n",
            site_url=app.config["SITE_URL"],
        )
        session.execute(
            update(OutboxMessage).values(created_at=WINTER, next_attempt_at=WINTER)
        )
    output = runner.invoke(args=["outbox", "list"]).output
    assert "Times are the site's (Europe/Stockholm)." in output
    assert "2026-12-07 01:42 CET  to" in output
    assert "(next try 2026-12-07 01:42 CET, now" in output
    assert "00:42" not in output
