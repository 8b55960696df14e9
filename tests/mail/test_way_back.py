"""The reader's way back by mail, nobody's message lost, and the words in
the mail (issue 20): reply-page links in every mail to a feedback's reader,
Markdown answers as clean text with an HTML alternative, editors told of
what no author with an account would hear of, and the site owner told who
has no account."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner
from sqlalchemy import select, update

import tasks
from feedback_app.core.db import get_db
from feedback_app.core.models import Author, Comment, Feedback, utcnow
from feedback_app.mail import messages as notify
from feedback_app.mail import subscriptions
from feedback_app.mail.digests import send_digests
from feedback_app.mail.formats import answer_as_text
from feedback_app.mail.messages import title_in_quotes
from feedback_app.site.index import Article
from feedback_app.store import comments as cm
from feedback_app.store import feedback as fb

from ..conftest import (
    MAYA,
    TOMAS,
    Commenter,
    Desk,
    Reader,
    add_author,
    csrf_token,
    newest_comment,
    outbox,
)

RITA = "rita@example.org"
EDITOR = "Eda Editor"


def flat(text: str) -> str:
    """Mail's plain text on one line: what it says, however it is wrapped."""
    return " ".join(text.split())


def newest_feedback(app: Flask) -> Feedback:
    with get_db(app).read() as session:
        return session.scalars(select(Feedback).order_by(Feedback.id.desc())).first()


#: The app's address in links: the test client's in a request, APP_URL
#: (the app mounted under /app) outside one (the command line).
APP = r"(?:http://localhost|https://blog\.example\.org/app)"


def reply_link(body: str) -> str:
    """The reply page's link in a mail's text, as a path of the test client."""
    [link] = re.findall(APP + r"(/r/[A-Za-z0-9_-]{43})\b", body)
    return link


def answer(runner: FlaskCliRunner, feedback_id: int, text: str) -> None:
    result = runner.invoke(
        args=["feedback", "reply", str(feedback_id), "-m", text, "--as", MAYA]
    )
    assert result.exit_code == 0, result.output


# --- 1. the reader's way back ---


def test_the_reply_token_is_made_again_from_its_nonce_only_with_the_key(
    app: Flask, reader: Reader
) -> None:
    """The token is an HMAC of the stored nonce under the secret key: the
    app can put it in later mail; the database alone (nonce and hash) does
    not give it; and feedback stored before nonces has no link to give."""
    token, _ = reader.send_and_follow(message="Hello")
    feedback = newest_feedback(app)
    assert feedback.reply_token_nonce
    assert token not in (feedback.reply_token_nonce, feedback.reply_token_hash)
    assert fb.reply_token(feedback, app.secret_key) == token
    assert fb.token_for_nonce(feedback.reply_token_nonce, "another key") != token
    assert fb.reply_token(feedback, "another key") is None
    assert fb.TOKEN_PATTERN.fullmatch(token)
    assert fb.hash_token(token) == feedback.reply_token_hash  # old links work

    with get_db(app).write() as session:
        session.execute(update(Feedback).values(reply_token_nonce=None))
    assert fb.reply_token(newest_feedback(app), app.secret_key) is None
    assert reader.client.get(f"/r/{token}").status_code == 200  # still opens


def test_a_reader_who_left_an_address_gets_one_acknowledgement_with_the_link(
    app: Flask, reader: Reader, client: FlaskClient
) -> None:
    token, thanks = reader.send_and_follow(
        message="Kind words", name="Rita", email=RITA
    )
    assert "We have sent you its link by e-mail too" in thanks.text
    feedback = newest_feedback(app)
    [ack] = outbox(app, "feedback-ack")
    assert ack.recipient == RITA
    assert ack.thread_key == f"feedback-{feedback.id}"
    assert ack.subject == "Your feedback on “Inside sales without the script”"
    # Anyone can type any address: nothing the sender typed is mailed to it.
    assert "Rita" not in ack.body and "Kind words" not in ack.body
    assert "If you sent nothing, someone typed your address" in flat(ack.body)
    link = reply_link(ack.body)
    assert link == f"/r/{token}"
    page = client.get(link)  # the link in the mail opens the reply page
    assert page.status_code == 200
    assert "This is your private reply page" in page.text
    assert "Kind words" in page.text

    reader.send_and_follow(message="No address")  # none without an address
    reader.send_and_follow(message="Spam", email=RITA, homepage="x")  # nor spam
    assert len(outbox(app, "feedback-ack")) == 1


ANSWER = (
    "Thanks for **this**: see [the guide](https://example.org/guide?a=1&b=2).\n\n"
    "- first\n- second\n\n<script>alert(1)</script> *and* `code`"
)


def test_a_markdown_answer_is_rendered_on_the_page_and_clean_in_the_mail(
    app: Flask, reader: Reader, client: FlaskClient, runner: FlaskCliRunner
) -> None:
    add_author(app)
    token, _ = reader.send_and_follow(message="Question?", email=RITA)
    answer(runner, newest_feedback(app).id, ANSWER)
    [mail] = outbox(app, "reply-to-reader")
    assert mail.thread_key == f"feedback-{newest_feedback(app).id}"
    # Clean text: no Markdown markup, links as "text <url>".
    assert "**" not in mail.body and "](" not in mail.body
    assert "Thanks for this: see the guide <https://example.org/guide?a=1&b=2>." in (
        mail.body
    )
    assert "- first\n- second" in mail.body
    assert "and code" in mail.body
    # The HTML alternative, from the sanitising renderer.
    html = mail.html_body
    assert "<strong>this</strong>" in html
    assert '<a href="https://example.org/guide?a=1&amp;b=2" rel="nofollow ugc' in html
    assert "<li>first</li>" in html
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert "> Question?" in mail.body and "Question?" in html
    # Its reply-page link opens the page, which shows the answer rendered.
    link = reply_link(mail.body)
    assert link == f"/r/{token}"
    assert re.search(f'href="{APP}{link}"', html)
    page = client.get(link).text
    assert "<strong>this</strong>" in page
    assert "<script>alert" not in page
    assert "**this**" not in page


def test_an_answer_to_feedback_from_before_nonces_says_where_the_link_was(
    app: Flask, reader: Reader, runner: FlaskCliRunner
) -> None:
    add_author(app)
    reader.send_and_follow(message="Old one", email=RITA)
    with get_db(app).write() as session:
        session.execute(update(Feedback).values(reply_token_nonce=None))
    answer(runner, newest_feedback(app).id, "Late, sorry.")
    [mail] = outbox(app, "reply-to-reader")
    assert "/r/" not in mail.body and "/r/" not in mail.html_body
    assert "the link you were given when you sent the feedback" in flat(mail.body)


def test_answer_as_text_keeps_the_shape_and_drops_the_markup() -> None:
    text = answer_as_text(
        "> quoted *words*\n\n1. one\n2. two\n\n<https://x.example/> and "
        "[mail](mailto:a@b.example)\n\n    code  kept"
    )
    assert text == (
        "> quoted words\n\n1. one\n2. two\n\n<https://x.example/> and "
        "mail <mailto:a@b.example>\n\ncode  kept"
    )


def test_a_public_answer_is_mailed_to_the_reader_once_it_is_published(
    publishing_app: Flask,
) -> None:
    app = publishing_app
    add_author(app)
    desk = Desk(app.test_client())
    assert desk.sign_in().status_code == 303
    reader = Reader(app.test_client())
    token, _ = reader.send_and_follow(
        message="Worth a post?", email=RITA, may_quote="y"
    )
    feedback = newest_feedback(app)
    drafted = desk.post(
        f"/desk/feedback/{feedback.id}/answer",
        {
            "answer": "Here is my answer to everyone.",
            "send_to": "post",
            "title": "Reader mail: on quotas",
            "category": "Reader mail",
        },
    )
    assert drafted.status_code == 303, drafted.text
    assert outbox(app, "post-answer-to-reader") == []  # a draft: not yet

    published = desk.post(f"/desk/feedback/{feedback.id}/post/publish")
    assert published.status_code == 303
    [mail] = outbox(app, "post-answer-to-reader")
    assert mail.recipient == RITA
    assert mail.thread_key == f"feedback-{feedback.id}"
    [post_url] = re.findall(
        r"https://blog\.example\.org/(\d{4}/reader-mail-on-quotas/)", mail.body
    )
    built = Path(app.config["OUTPUT_PATH"]) / post_url / "index.html"
    assert "Here is my answer to everyone." in built.read_text(encoding="utf-8")
    link = reply_link(mail.body)
    assert link == f"/r/{token}"
    page = reader.client.get(link)
    assert page.status_code == 200
    assert "Reader mail: on quotas</a>" in page.text

    again = desk.post(f"/desk/feedback/{feedback.id}/post/publish")
    assert again.status_code == 303
    assert len(outbox(app, "post-answer-to-reader")) == 1  # told once


# --- 2. nobody's message lost ---


def test_editors_hear_of_what_no_author_with_an_account_would(
    app: Flask, reader: Reader, client: FlaskClient
) -> None:
    """Maya, the article's author, has no account: the editor who wants mail
    at once is told of feedback, follow-ups and comments; the one who chose
    the digest is not; once Maya has an account, only she is."""
    add_author(app, EDITOR, "eda@example.org", role="editor")
    add_author(app, "Dig Editor", "dig@example.org", role="editor")
    add_author(app, TOMAS, "tomas@example.org")  # of another article
    with get_db(app).write() as session:
        session.execute(
            update(Author).where(Author.name == "Dig Editor").values(notify="digest")
        )
    token, _ = reader.send_and_follow(message="Anyone there?", email=RITA)
    page = client.get(f"/r/{token}")
    client.post(
        f"/r/{token}/follow-up",
        data={"csrf_token": csrf_token(page.text), "message": "Hello?"},
    )
    Commenter(client).post_ok(body="A comment nobody owns")
    for kind in ("feedback-to-author", "follow-up-to-author", "comment-to-author"):
        assert [m.recipient for m in outbox(app, kind)] == ["eda@example.org"], kind

    add_author(app, MAYA, "maya@example.org")
    reader.send_and_follow(message="Now with an author")
    told = [m.recipient for m in outbox(app, "feedback-to-author")]
    assert told == ["eda@example.org", "maya@example.org"]


def test_a_post_about_an_article_without_authors_reaches_the_editor(
    app: Flask,
) -> None:
    add_author(app, EDITOR, "eda@example.org", role="editor")
    article = Article(slug="nobodys", title="Nobody's", url="/nobodys/", authors=())
    with app.test_request_context(), get_db(app).write() as session:
        feedback, _ = fb.submit_feedback(session, article, message="Hi")
        notify.feedback_received(session, feedback, article, app.config)
    [mail] = outbox(app, "feedback-to-author")
    assert mail.recipient == "eda@example.org"


def test_an_editors_digest_lists_what_no_author_with_an_account_would_hear_of(
    app: Flask, reader: Reader, client: FlaskClient
) -> None:
    add_author(app, EDITOR, "eda@example.org", role="editor")
    add_author(app, TOMAS, "tomas@example.org")
    with get_db(app).write() as session:
        session.execute(
            update(Author).values(
                notify="digest", created_at=utcnow() - timedelta(days=2)
            )
        )
    reader.send_and_follow(message="For nobody in particular")
    Commenter(client).post_ok(body="Comment for nobody")
    reader.send_and_follow(
        article="2026/follow-up-emails-that-get-answered/", message="For Tomás"
    )
    with app.app_context(), get_db(app).write() as session:
        assert send_digests(session, app.config) == 2
    digests = {m.recipient: m.body for m in outbox(app, "digest")}
    assert "For nobody in particular" in digests["eda@example.org"]
    assert "Comment for nobody" in digests["eda@example.org"]
    assert "For Tomás" not in digests["eda@example.org"]  # Tomás hears of it
    assert "For Tomás" in digests["tomas@example.org"]
    assert "For nobody" not in digests["tomas@example.org"]


def test_the_site_owner_is_told_which_authors_have_no_account(
    app: Flask,
    client: FlaskClient,
    reader: Reader,
    runner: FlaskCliRunner,
    capsys: pytest.CaptureFixture[str],
) -> None:
    add_author(app, TOMAS, "tomas@example.org")
    reader.send_and_follow(message="Private words", name="Rita", email=RITA)

    listing = runner.invoke(args=["authors", "list"]).output
    assert "no account" in listing and MAYA in listing
    assert f"{TOMAS} <tomas@example.org>" in listing
    health = client.get("/health")
    assert health.status_code == 200
    assert health.json["authors_without_account"] == [MAYA]
    assert RITA not in health.text and "Rita" not in health.text
    tasks._warn_of_unheard_authors(app)  # what `make serve` prints at start
    printed = capsys.readouterr().out
    assert "no account" in printed and MAYA in printed and TOMAS not in printed

    add_author(app, EDITOR, "eda@example.org", role="editor")  # hears for all
    assert "no account" not in runner.invoke(args=["authors", "list"]).output
    assert "authors_without_account" not in client.get("/health").json
    tasks._warn_of_unheard_authors(app)
    assert capsys.readouterr().out == ""


# --- 3. the words in the mail ---


def test_the_confirmation_names_the_site_and_the_article_and_the_page_says_so(
    app: Flask, client: FlaskClient
) -> None:
    response = Commenter(client).post(body="Tell me", notify_replies="y")
    assert response.status_code == 303
    [mail] = outbox(app, "confirm-subscription")
    site_name = app.extensions["site_index"].current().name
    assert site_name and site_name in mail.subject
    assert site_name in mail.body
    assert "“Inside sales without the script”" in mail.body
    page = client.get(response.location).text
    assert "Look in your mailbox for a message asking you to confirm" in page

    quiet = Commenter(client).post(body="No mail, thanks")
    assert "Look in your mailbox" not in client.get(quiet.location).text


@pytest.mark.parametrize(
    "title", ["He said “no”", 'A "quoted" word', "«Bonjour»", "Plain"]
)
def test_subjects_never_nest_quotation_marks(app: Flask, title: str) -> None:
    add_author(app, "Ana Bell", "ana@example.org")
    article = Article(slug="q", title=title, url="/q/", authors=("Ana Bell",))
    with app.test_request_context(), get_db(app).write() as session:
        feedback, _ = fb.submit_feedback(session, article, message="Hi", email=RITA)
        notify.feedback_received(session, feedback, article, app.config)
        notify.feedback_acknowledged(session, feedback, "x" * 43, app.config)
        author = session.scalars(select(Author)).one()
        notify.answer_to_reader(session, feedback, author, "Yes.", app.config)
    named = title_in_quotes(title)
    assert named == (f"“{title}”" if title == "Plain" else title)
    for mail in outbox(app):
        assert named in mail.subject
        assert "““" not in mail.subject and "””" not in mail.subject
        assert f"“{title}”" not in mail.subject or title == "Plain"


def test_a_moderation_link_opened_after_moderation_says_how_it_stands(
    app: Flask, client: FlaskClient, runner: FlaskCliRunner
) -> None:
    add_author(app)
    comment = Commenter(client).post_ok(body="Held for now")
    assert comment.state == "pending"
    [mail] = outbox(app, "comment-to-author")
    links = re.findall(r"http://localhost(/moderate/\S+)", mail.body)
    spam = next(link for link in links if ".spam." in link)
    page = client.get(spam)
    assert "Mark this comment as spam?" in page.text
    token = csrf_token(page.text)

    result = runner.invoke(args=["comments", "approve", str(comment.id)])
    assert result.exit_code == 0, result.output
    later = client.get(spam)
    assert later.status_code == 200
    assert "This comment was moderated already" in later.text
    assert "approved: it is published" in later.text
    assert "<button" not in later.text
    # A form sent from the page opened before does nothing either.
    posted = client.post(spam, data={"csrf_token": token})
    assert "moderated already" in posted.text
    assert newest_comment(app).state == "approved"


def test_held_comments_link_the_desk_and_published_ones_their_anchor(
    app: Flask, client: FlaskClient, runner: FlaskCliRunner
) -> None:
    add_author(app)
    held = Commenter(client).post_ok(body="First")
    runner.invoke(args=["comments", "approve", str(held.id)])
    published = Commenter(client).post_ok(body="Second, trusted now")
    assert published.state == "approved"
    held_mail, published_mail = outbox(app, "comment-to-author")
    assert "#comment-" not in held_mail.body
    assert f"http://localhost/desk/comments/{held.id}" in held_mail.body
    # Through the app, which knows the page that holds it when it is clicked.
    link = f"http://localhost/comments/{published.id}>"
    assert link in published_mail.body
    landed = client.get(link.removeprefix("http://localhost").removesuffix(">"))
    assert landed.status_code == 302
    assert landed.location.endswith(f"/#comment-{published.id}")
    assert client.get(f"/comments/{held.id + 1000}").status_code == 404


def test_a_reply_notification_quotes_the_comment_it_answers(
    app: Flask, client: FlaskClient, runner: FlaskCliRunner
) -> None:
    long_text = "My first point about cold calls. " * 10
    parent = Commenter(client).post_ok(body=long_text, notify_replies="y")
    with get_db(app).write() as session:
        cm.set_state(session, parent.id, "approved")
        subscriptions.confirm(session, "ana@example.org")
        # Noon UTC: 4 March wherever the site's time zone is.
        noon = datetime(2025, 3, 4, 12, 0, tzinfo=UTC)
        session.execute(
            update(Comment).where(Comment.id == parent.id).values(created_at=noon)
        )
    result = runner.invoke(
        args=["comments", "reply", str(parent.id), "--as", MAYA, "-m", "Agreed!"]
    )
    assert result.exit_code == 0, result.output
    [notice] = outbox(app, "reply-notification")
    assert "your comment of 4 March 2025" in notice.body
    assert "> My first point about cold calls. My first point" in notice.body
    assert long_text.strip() not in notice.body  # a short quote, not all of it
    assert "> Agreed!" in notice.body
