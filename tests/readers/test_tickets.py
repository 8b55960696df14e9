"""Form tickets: a minimum time-to-submit, and no-JavaScript posts held.

The article page's script fetches a signed ticket (``GET /form-ticket``) when
the reader starts writing; the app's own form pages carry one. A form sent
sooner than ``FORM_MIN_SECONDS`` after its ticket is spam that looks
accepted; a comment without a valid ticket is held, never refused (see
``feedback_app/tickets.py``). The browser tests at the end drive the real
script in Chromium, and a page without JavaScript.
"""

from __future__ import annotations

import re
import time

import pytest
from flask import Flask
from flask.testing import FlaskClient
from playwright.sync_api import Browser, Page, expect

from feedback_app.core.db import get_db
from feedback_app.core.models import Comment, Feedback
from feedback_app.readers import tickets
from feedback_app.store import comments as cm

from ..conftest import (
    ARTICLE,
    MAYA,
    Commenter,
    Reader,
    newest_comment,
    outbox,
    typed_ticket,
)
from . import test_browser, test_comments_browser
from .test_browser import new_page
from .test_comments_browser import (
    LiveBlog,
    fill_comment,
    open_article,
    post_comment,
    reply_form,
)

playwright = test_browser.playwright
live = test_comments_browser.live  # a fixture, shared by name
browser = test_browser.browser
page = test_browser.page

OTHER_ARTICLE = "2026/follow-up-emails-that-get-answered/"
NO_TICKET = "sent without a form ticket (no JavaScript?)"
HOUR = 3600


def known_commenter(app: Flask, commenter: Commenter) -> None:
    """Make Ana a commenter whose earlier comment was approved."""
    first = commenter.post_ok(body="My first comment.")
    with get_db(app).write() as session:
        cm.set_state(session, first.id, "approved")


# --- the ticket endpoint ---------------------------------------------------------


def test_the_endpoint_gives_a_fresh_ticket_for_a_published_article(
    app: Flask, client: FlaskClient
) -> None:
    before = int(time.time())
    response = client.get(f"/form-ticket?article={ARTICLE}")
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    ticket = response.json["ticket"]
    assert response.json["wait"] == app.config["FORM_MIN_SECONDS"]
    with app.test_request_context():
        assert before <= tickets.issued_at(ticket, ARTICLE) <= time.time()
        assert tickets.issued_at(ticket, OTHER_ARTICLE) is None


def test_a_ticket_never_says_it_was_issued_later_than_it_was(app: Flask) -> None:
    # Rounding to the nearest millisecond once gave .422 for .4219947.
    now = 1796617711.4219947
    with app.test_request_context():
        ticket = tickets.issue(ARTICLE, now=now)
        assert now - 0.001 < tickets.issued_at(ticket, ARTICLE) <= now


@pytest.mark.parametrize("query", ["?article=no-such-article", "?article=", ""])
def test_no_ticket_for_what_is_not_an_article(client: FlaskClient, query: str) -> None:
    assert client.get(f"/form-ticket{query}").status_code == 404


# --- comments ----------------------------------------------------------------------


def test_a_known_commenter_who_took_their_time_is_published(
    app: Flask, commenter: Commenter
) -> None:
    known_commenter(app, commenter)
    comment = commenter.post_ok(body="Second thoughts.")
    assert (comment.state, comment.reason) == ("approved", None)


def test_without_a_ticket_even_a_known_commenter_is_held_not_refused(
    app: Flask, commenter: Commenter
) -> None:
    known_commenter(app, commenter)
    comment = commenter.post_ok(body="From a browser without JavaScript.", ticket="")
    assert (comment.state, comment.reason) == ("pending", NO_TICKET)


def test_with_tickets_off_a_post_without_one_is_judged_as_usual(
    app: Flask, commenter: Commenter
) -> None:
    app.config["FORM_TICKETS"] = False
    known_commenter(app, commenter)
    comment = commenter.post_ok(body="No ticket, no matter.", ticket="")
    assert comment.state == "approved"


@pytest.mark.parametrize(
    ("make_ticket", "reason"),
    [
        # a forged signature
        (lambda app: typed_ticket(app, seconds=60)[:-4] + "AAAA", "not valid"),
        # another article's ticket
        (lambda app: typed_ticket(app, OTHER_ARTICLE, 60), "not valid"),
        # not a ticket at all
        (lambda app: "x" * 300, "not valid"),
        # one past the age limit
        (
            lambda app: typed_ticket(app, seconds=24 * HOUR + 60),
            "more than 24 hours ago",
        ),
    ],
    ids=["forged", "other-article", "garbage", "expired"],
)
def test_a_bad_ticket_holds_the_comment(
    app: Flask, commenter: Commenter, make_ticket, reason: str
) -> None:
    known_commenter(app, commenter)
    comment = commenter.post_ok(body="Held, please.", ticket=make_ticket(app))
    assert comment.state == "pending"
    assert reason in comment.reason


def test_a_ticket_just_inside_the_age_limit_counts(
    app: Flask, commenter: Commenter
) -> None:
    known_commenter(app, commenter)
    ticket = typed_ticket(app, seconds=24 * HOUR - 60)
    assert commenter.post_ok(body="A day's thought.", ticket=ticket).state == "approved"


def test_a_comment_sent_at_once_is_spam_that_looks_accepted(
    app: Flask, client: FlaskClient, commenter: Commenter
) -> None:
    known_commenter(app, commenter)
    mail_before = len(outbox(app))
    ticket = client.get(f"/form-ticket?article={ARTICLE}").json["ticket"]
    response = commenter.post(body="Fastest fingers.", ticket=ticket)
    assert response.status_code == 303  # the same answer a person gets
    posted = client.get(response.location)
    assert posted.status_code == 200
    assert "awaiting moderation" in posted.text
    comment = newest_comment(app)
    assert comment.state == "spam"
    assert re.fullmatch(r"sent \d\.\d s after the form was shown", comment.reason)
    assert len(outbox(app)) == mail_before  # nobody is told about spam


def test_the_minimum_time_is_exact(app: Flask, commenter: Commenter) -> None:
    known_commenter(app, commenter)
    limit = app.config["FORM_MIN_SECONDS"]
    assert limit == 3
    at = commenter.post_ok(
        body="At the limit.", ticket=typed_ticket(app, seconds=limit)
    )
    assert at.state == "approved"
    under = commenter.post_ok(
        body="Under it.", ticket=typed_ticket(app, seconds=limit - 1)
    )
    assert under.state == "spam"


def test_a_form_shown_again_keeps_its_ticket(
    app: Flask, client: FlaskClient, commenter: Commenter
) -> None:
    ticket = typed_ticket(app, seconds=60)
    response = commenter.post(name="", ticket=ticket)
    assert response.status_code == 422
    assert f'name="ticket" value="{ticket}"' in response.text


def test_a_form_shown_again_without_a_ticket_gets_none(
    app: Flask, commenter: Commenter
) -> None:
    """Sending a broken form first is no way around the hold (or the pace)."""
    known_commenter(app, commenter)
    response = commenter.post(name="", ticket="", body="Where was I?")
    assert response.status_code == 422
    assert 'name="ticket" value=""' in response.text
    fixed = commenter.post_ok(body="Where was I?", ticket="")
    assert (fixed.state, fixed.reason) == ("pending", NO_TICKET)


def test_the_reply_page_carries_a_ticket_of_its_own(
    app: Flask, client: FlaskClient, commenter: Commenter
) -> None:
    known_commenter(app, commenter)
    parent = newest_comment(app)
    page = client.get(f"/comments/reply/{parent.id}")
    ticket = re.search(r'name="ticket" value="([^"]+)"', page.text).group(1)
    with app.test_request_context():
        issued = tickets.issued_at(ticket, ARTICLE)
    assert issued is not None and time.time() - issued < 60


# --- feedback ----------------------------------------------------------------------


@pytest.fixture
def maya(app: Flask) -> None:
    """An author to tell about feedback."""
    result = app.test_cli_runner().invoke(
        args=["authors", "add", MAYA, "maya@example.org"]
    )
    assert result.exit_code == 0, result.output


def stored_feedback(app: Flask) -> list[Feedback]:
    with get_db(app).read() as session:
        return list(session.query(Feedback).order_by(Feedback.id))


def test_feedback_sent_at_once_is_spam_and_nobody_is_told(
    app: Flask, client: FlaskClient, reader: Reader, maya: None
) -> None:
    ticket = client.get(f"/form-ticket?article={ARTICLE}").json["ticket"]
    response = reader.send(ticket=ticket, email="quick@example.org")
    assert response.status_code == 303
    assert client.get(response.location).status_code == 200  # thanks page
    [feedback] = stored_feedback(app)
    assert feedback.state == "spam"
    assert outbox(app) == []


def test_feedback_without_a_ticket_is_stored_as_usual(
    app: Flask, reader: Reader, maya: None
) -> None:
    reader.send_and_follow(ticket="", message="No JavaScript here.")
    [feedback] = stored_feedback(app)
    assert feedback.state == "new"
    assert len(outbox(app, "feedback-to-author")) == 1  # the author is told


def test_feedback_at_a_persons_pace_is_new(app: Flask, reader: Reader) -> None:
    reader.send_and_follow(ticket=typed_ticket(app, seconds=3))
    assert stored_feedback(app)[0].state == "new"


# --- in Chromium -------------------------------------------------------------------


def test_the_page_script_fetches_a_ticket_when_the_reader_starts_writing(
    page: Page,
    live: LiveBlog,
) -> None:
    live.app.config["FORM_MIN_SECONDS"] = 1
    asked: list[str] = []
    page.on(
        "request", lambda r: asked.append(r.url) if "form-ticket" in r.url else None
    )
    open_article(page, live)
    form = reply_form(page)
    ticket = form.locator("input[name=ticket]")
    expect(ticket).to_have_value("")
    assert asked == []  # reading the article asks the app nothing
    fill_comment(form, "Typed by a person, at a person's pace.", "Rae", "rae@ex.org")
    expect(ticket).not_to_have_value("")
    feedback_ticket = page.locator("form[action$='/app/feedback'] input[name=ticket]")
    expect(feedback_ticket).to_have_value("")  # only the form being written
    time.sleep(1.1)
    post_comment(form)
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Your comment is awaiting moderation"
    )
    (comment,) = live.stored()
    assert (comment.state, comment.reason) == (
        "pending",
        "first comment from this address",
    )
    assert len(asked) == 1


def test_a_quick_writer_is_held_back_a_moment_not_taken_for_spam(
    page: Page,
    live: LiveBlog,
) -> None:
    """A short comment sent at once: the script holds the submit until the
    ticket is FORM_MIN_SECONDS old, then sends it."""
    live.app.config["FORM_MIN_SECONDS"] = 2
    open_article(page, live)
    form = reply_form(page)
    # Timed from before the ticket is asked for (when the reader starts
    # writing), so that the steps between its arrival and the click, slow
    # on a busy machine, cannot eat into the hold being measured.
    started = time.monotonic()
    fill_comment(form, "Thanks!", "Quick", "quick@ex.org")
    expect(form.locator("input[name=ticket]")).not_to_have_value("")
    post_comment(form)
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Your comment is awaiting moderation"
    )
    assert time.monotonic() - started >= 2  # held back, not sent at once
    (comment,) = live.stored()
    assert (comment.state, comment.reason) == (
        "pending",
        "first comment from this address",
    )


def test_without_javascript_a_known_commenter_is_held(
    browser: Browser,
    live: LiveBlog,
) -> None:
    earlier = live.seed("Sam Reader", "An earlier, approved comment.")
    with get_db(live.app).write() as session:
        session.get(Comment, earlier).email = "sam@example.org"
    with new_page(browser, java_script_enabled=False) as page:
        open_article(page, live)
        form = reply_form(page)
        fill_comment(
            form, "Sent with no script at all.", "Sam Reader", "sam@example.org"
        )
        post_comment(form)
        expect(page.get_by_role("heading", level=1)).to_have_text(
            "Your comment is awaiting moderation"
        )
    held = live.stored()[-1]
    assert (held.state, held.reason) == ("pending", NO_TICKET)
