"""Links in mail, reply notifications with double opt-in, and digests."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner
from sqlalchemy import exc as sa_exc
from sqlalchemy import update

from feedback_app.core.db import get_db
from feedback_app.core.models import Author, FeedbackMessage, utcnow
from feedback_app.mail import messages as notify
from feedback_app.mail.outbox import build_email
from feedback_app.readers import comment_rules
from feedback_app.site.index import Article
from feedback_app.store import comments as cm
from feedback_app.store.feedback import submit_feedback

from ..conftest import Commenter, Reader, csrf_token, newest_comment, outbox

MAYA = "Maya Lindqvist"


def links(text: str) -> list[str]:
    return re.findall(r"http://localhost/\S+", text)


@pytest.fixture
def maya(runner: FlaskCliRunner) -> None:
    result = runner.invoke(args=["authors", "add", MAYA, "maya@example.org"])
    assert result.exit_code == 0, result.output


# --- one-action moderation links ---


def test_held_comment_mail_has_links_that_ask_before_acting(
    app: Flask, client: FlaskClient, maya: None
) -> None:
    Commenter(client).post_ok(body="Please *approve* me")
    comment = newest_comment(app)
    assert comment.state == "pending"
    [mail] = outbox(app, "comment-to-author")
    approve, spam, trash = [link for link in links(mail.body) if "/moderate/" in link]
    assert len({approve, spam, trash}) == 3
    # And the comment on the desk, where it can also be edited or answered.
    assert f"http://localhost/desk/comments/{comment.id}" in links(mail.body)
    for link, question in (
        (spam, "Mark this comment as spam?"),
        (trash, "Move this comment to the trash?"),
    ):
        assert question in client.get(link.removeprefix("http://localhost")).text

    page = client.get(approve.removeprefix("http://localhost"))
    assert page.status_code == 200
    assert "Approve this comment?" in page.text
    assert "Please <em>approve</em> me" in page.text
    assert newest_comment(app).state == "pending"  # opening the link changed nothing

    no_token = client.post(approve.removeprefix("http://localhost"))
    assert no_token.status_code == 400
    assert newest_comment(app).state == "pending"

    done = client.post(
        approve.removeprefix("http://localhost"),
        data={"csrf_token": csrf_token(page.text)},
    )
    assert "Done: the comment is approved" in done.text
    assert newest_comment(app).state == "approved"


def test_moderation_links_are_bound_to_purpose_and_expire(
    app: Flask, client: FlaskClient, maya: None
) -> None:
    Commenter(client).post_ok()
    [mail] = outbox(app, "comment-to-author")
    approve = next(link for link in links(mail.body) if "/moderate/" in link)
    approve = approve.removeprefix("http://localhost")
    path, _, query = approve.partition("?")
    assert query == "lang=en"  # the page speaks the mail's language
    token = path.rsplit("/", 1)[1]
    # The same token under another purpose's address is refused.
    assert client.get(f"/subscriptions/confirm/{token}").status_code == 404
    assert client.get(path[:-3] + "xyz").status_code == 404
    app.config["MAIL_LINK_DAYS"] = -1  # every link is now past its age
    assert client.get(approve).status_code == 404


# --- reply notifications, double opt-in ---


def test_reply_notifications_need_confirmation_and_can_be_stopped(
    app: Flask, client: FlaskClient, runner: FlaskCliRunner
) -> None:
    Commenter(client).post_ok(notify_replies="y")
    parent = newest_comment(app)
    assert parent.notify_replies is True
    [confirm] = outbox(app, "confirm-subscription")
    assert confirm.recipient == "ana@example.org"
    Commenter(client).post_ok(notify_replies="y", body="Another")  # no second message
    assert len(outbox(app, "confirm-subscription")) == 1
    runner.invoke(args=["comments", "approve", str(parent.id)])

    # A reply before confirming: no notification.
    Commenter(client).post_ok(name="Bo", email="bo@example.org", parent=str(parent.id))
    runner.invoke(args=["comments", "approve", str(newest_comment(app).id)])
    assert outbox(app, "reply-notification") == []

    confirm_path = links(confirm.body)[0].removeprefix("http://localhost")
    page = client.get(confirm_path)
    assert "Confirm e-mail about replies" in page.text
    done = client.post(confirm_path, data={"csrf_token": csrf_token(page.text)})
    assert "Confirmed" in done.text

    Commenter(client).post_ok(
        name="Cy",
        email="cy@example.org",
        parent=str(parent.id),
        body="Hi *Ana*",
    )
    reply = newest_comment(app)
    runner.invoke(args=["comments", "approve", str(reply.id)])
    runner.invoke(args=["comments", "unapprove", str(reply.id)])
    runner.invoke(args=["comments", "approve", str(reply.id)])  # notifies once
    [notice] = outbox(app, "reply-notification")
    assert notice.recipient == "ana@example.org"
    assert "Hi *Ana*" in notice.body  # quoted as plain text
    email = build_email(notice, app.config, site_name="Talking Shop")
    unsubscribe = email["List-Unsubscribe"].strip("<>")
    assert email["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert unsubscribe in notice.body  # and a visible link

    # RFC 8058: one POST, no page, no CSRF token.
    one_click = client.post(
        unsubscribe.removeprefix(app.config["APP_URL"]),
        data={"List-Unsubscribe": "One-Click"},
    )
    assert one_click.status_code == 200
    Commenter(client).post_ok(name="Di", email="di@example.org", parent=str(parent.id))
    runner.invoke(args=["comments", "approve", str(newest_comment(app).id)])
    assert len(outbox(app, "reply-notification")) == 1


def test_own_replies_and_unticked_comments_send_nothing(
    app: Flask, client: FlaskClient, runner: FlaskCliRunner
) -> None:
    Commenter(client).post_ok()  # did not ask
    parent = newest_comment(app)
    runner.invoke(args=["comments", "approve", str(parent.id)])
    Commenter(client).post_ok(parent=str(parent.id), body="Talking to myself")
    runner.invoke(args=["comments", "approve", str(newest_comment(app).id)])
    assert outbox(app) == []


# --- notifications to authors, and digests ---


def test_authors_are_told_unless_they_chose_otherwise(
    app: Flask, reader: Reader, runner: FlaskCliRunner, maya: None
) -> None:
    reader.send_and_follow(message="First")
    assert len(outbox(app, "feedback-to-author")) == 1
    runner.invoke(args=["authors", "set", MAYA, "--notify", "off"])
    reader.send_and_follow(message="Second")
    assert len(outbox(app, "feedback-to-author")) == 1
    reader.send_and_follow(message="Spam", homepage="x")  # never for spam
    assert len(outbox(app, "feedback-to-author")) == 1


def test_each_author_of_an_article_who_wants_mail_is_told_once(
    app: Flask, runner: FlaskCliRunner
) -> None:
    """One INSERT … SELECT queues the mail: one message for each of the
    article's authors who wants mail at once, each with its own Message-ID;
    nothing for an author who chose the digest or for other articles'."""
    for name, email in (
        (MAYA, "maya@example.org"),
        ("Ana Bell", "ana@example.org"),
        ("Tomás Ferreira", "tomas@example.org"),
        ("Lee Other", "lee@example.org"),
    ):
        result = runner.invoke(args=["authors", "add", name, email])
        assert result.exit_code == 0, result.output
    runner.invoke(args=["authors", "set", "Tomás Ferreira", "--notify", "digest"])
    article = Article(
        slug="two-voices",
        title="Two voices",
        url="/2026/two-voices/",
        authors=(MAYA, "Ana Bell", "Tomás Ferreira"),
    )
    with app.test_request_context(), get_db(app).write() as session:
        new = comment_rules.prepare_comment(
            article, name="Rita", body="Hello", rules=app.config
        )
        comment, _ = cm.store_comment(
            session,
            new,
            then=lambda c: notify.comment_received_mail(c, article, app.config),
        )
        feedback, _ = submit_feedback(session, article, message="Private word")
        notify.feedback_received(session, feedback, article, app.config)

    for kind in ("comment-to-author", "feedback-to-author"):
        mails = outbox(app, kind)
        assert sorted(m.recipient for m in mails) == [
            "ana@example.org",
            "maya@example.org",
        ]
        assert len({m.message_id for m in mails}) == 2
        assert mails[0].body == mails[1].body
        assert (mails[0].state, mails[0].attempts) == ("queued", 0)
    comment_mail, feedback_mail = (
        outbox(app, "comment-to-author")[0],
        outbox(app, "feedback-to-author")[0],
    )
    # Held, so not on the article's page yet: linked on the desk instead.
    assert "#comment-" not in comment_mail.body
    assert "/2026/two-voices/>" in comment_mail.body
    assert f"/desk/comments/{comment.id}" in comment_mail.body
    assert comment_mail.subject == "Comment on “Two voices” from Rita"
    assert "> Private word" in feedback_mail.body
    assert feedback_mail.thread_key == f"feedback-{feedback.id}"


def test_each_co_author_is_told_in_their_own_language(
    app: Flask, runner: FlaskCliRunner
) -> None:
    """Still one INSERT … SELECT, and each author reads their desk's
    language: German, French, the site's English for one who chose none
    and for one whose language has no catalogue. The same for a follow-up,
    which is queued author by author."""
    people = (
        (MAYA, "maya@example.org", None),
        ("Ana Bell", "ana@example.org", "de"),
        ("Tomás Ferreira", "tomas@example.org", "fr"),
        ("Lia Costa", "lia@example.org", "pt"),
    )
    for name, email, _lang in people:
        result = runner.invoke(args=["authors", "add", name, email])
        assert result.exit_code == 0, result.output
    with get_db(app).write() as session:
        for name, _email, lang in people:
            session.execute(update(Author).where(Author.name == name).values(lang=lang))
    article = Article(
        slug="two-voices",
        title="Two voices",
        url="/2026/two-voices/",
        authors=tuple(name for name, _, _ in people),
    )
    with app.test_request_context(), get_db(app).write() as session:
        new = comment_rules.prepare_comment(
            article, name="Rita", body="Hello", rules=app.config
        )
        cm.store_comment(
            session,
            new,
            then=lambda c: notify.comment_received_mail(c, article, app.config),
        )
        feedback, _ = submit_feedback(
            session, article, message="Private word", name="Rita"
        )
        notify.feedback_received(session, feedback, article, app.config)
        follow = FeedbackMessage(feedback=feedback, sender="reader", body="More.")
        session.add(follow)
        notify.follow_up_received(session, feedback, follow, app.config)

    def subjects(kind: str) -> dict[str, str]:
        return {m.recipient: m.subject for m in outbox(app, kind)}

    assert subjects("comment-to-author") == {
        "maya@example.org": "Comment on “Two voices” from Rita",
        "ana@example.org": "Kommentar von Rita zu “Two voices”",
        "tomas@example.org": "Commentaire de Rita sur “Two voices”",
        "lia@example.org": "Comment on “Two voices” from Rita",
    }
    assert subjects("feedback-to-author") == {
        "maya@example.org": "Feedback on “Two voices”",
        "ana@example.org": "Nachricht zu “Two voices”",
        "tomas@example.org": "Message sur “Two voices”",
        "lia@example.org": "Feedback on “Two voices”",
    }
    assert subjects("follow-up-to-author")["ana@example.org"] == (
        "Re: Nachricht zu “Two voices”"
    )
    german = {m.recipient: m.body for m in outbox(app, "comment-to-author")}
    assert (
        "Bearbeiten, beantworten oder moderieren Sie ihn" in german["ana@example.org"]
    )
    assert "> Hello" in german["ana@example.org"]
    # Why it is held, recorded in English, said in each one's language.
    assert "(hat keine E-Mail-Adresse)" in german["ana@example.org"]
    assert "(n’a pas d’adresse e-mail)" in german["tomas@example.org"]
    assert "(has no e-mail address)" in german["maya@example.org"]


def test_a_post_on_an_article_without_authors_tells_nobody(
    app: Flask, maya: None
) -> None:
    """An article whose page names no author: the post is stored, and no
    author (not even one of another article) is mailed."""
    article = Article(slug="nobodys", title="Nobody's", url="/nobodys/", authors=())
    with app.test_request_context(), get_db(app).write() as session:
        new = comment_rules.prepare_comment(
            article, name="Rita", body="Hello", rules=app.config
        )
        cm.store_comment(
            session,
            new,
            then=lambda c: notify.comment_received_mail(c, article, app.config),
        )
        feedback, _ = submit_feedback(session, article, message="Private word")
        notify.feedback_received(session, feedback, article, app.config)
    assert newest_comment(app).article_slug == "nobodys"
    assert outbox(app) == []


def _on_postgresql(app: Flask) -> None:
    if get_db(app).engine.dialect.name != "postgresql":
        pytest.skip(
            "about PostgreSQL (the suite's pass with FEEDBACK_TEST_DATABASE_URL)"
        )


def test_a_comments_mail_to_its_authors_links_the_comment(
    app: Flask, client: FlaskClient, maya: None
) -> None:
    """The authors' mail about a new comment, queued with it, carries the
    comment's own links; asking for replies by mail queues the confirmation
    too. (That the two are stored together or not at all: the next test.)"""
    assert Commenter(client).post(body="Linked *well*").status_code == 303
    comment = newest_comment(app)
    [mail] = outbox(app, "comment-to-author")
    assert f"/desk/comments/{comment.id}" in mail.body
    assert comment.state == "pending"
    assert f"#comment-{comment.id}" not in mail.body  # not on the page yet
    assert (mail.state, mail.attempts) == ("queued", 0)
    assert mail.next_attempt_at <= utcnow()

    response = Commenter(client).post(body="And tell me", notify_replies="y")
    assert response.status_code == 303
    assert len(outbox(app, "confirm-subscription")) == 1
    assert len(outbox(app, "comment-to-author")) == 2


def test_on_postgresql_a_comment_whose_mail_fails_is_not_stored(
    app: Flask, client: FlaskClient, maya: None
) -> None:
    """The transaction is atomic: if the mail cannot be queued, the
    comment is not stored either (the reader gets an error and may send it
    again)."""
    _on_postgresql(app)
    engine = get_db(app).engine
    with engine.begin() as connection:
        connection.exec_driver_sql(
            "CREATE FUNCTION refuse_mail() RETURNS trigger LANGUAGE plpgsql AS"
            " $$ BEGIN RAISE EXCEPTION 'the outbox refuses'; END $$"
        )
        connection.exec_driver_sql(
            "CREATE TRIGGER refuse_mail BEFORE INSERT ON outbox_message"
            " FOR EACH ROW EXECUTE FUNCTION refuse_mail()"
        )
    try:
        with pytest.raises(sa_exc.DBAPIError, match="the outbox refuses"):
            Commenter(client).post(body="Lost with its mail")
        assert newest_comment(app) is None
    finally:
        with engine.begin() as connection:
            connection.exec_driver_sql("DROP TRIGGER refuse_mail ON outbox_message")
            connection.exec_driver_sql("DROP FUNCTION refuse_mail()")
    Commenter(client).post_ok(body="Lost with its mail")
    assert len(outbox(app, "comment-to-author")) == 1


def test_digest_collects_what_arrived_since_the_last(
    app: Flask, client: FlaskClient, reader: Reader, runner: FlaskCliRunner
) -> None:
    runner.invoke(
        args=["authors", "add", MAYA, "maya@example.org", "--notify", "digest"]
    )
    reader.send_and_follow(message="Feedback for the digest")
    Commenter(client).post_ok(body="Comment for the digest")
    assert outbox(app) == []  # nothing at once

    with get_db(app).write() as session:
        session.execute(
            update(Author).values(created_at=utcnow() - timedelta(days=1, minutes=1))
        )
    from feedback_app.mail.digests import send_digests

    with app.app_context(), get_db(app).write() as session:
        assert send_digests(session, app.config) == 1
        assert send_digests(session, app.config) == 0  # not due again yet
    [digest] = outbox(app, "digest")
    assert digest.subject == "Digest: 1 feedback and 1 comment on your articles"
    assert "Feedback for the digest" in digest.body
    assert "Comment for the digest" in digest.body
    result = runner.invoke(args=["outbox", "digest"])
    assert "Queued 0 digests" in result.output  # nothing new since

    # The next one (forced: not due yet), in the desk's language she chose.
    reader.send_and_follow(message="Noch eine Nachricht")
    reader.send_and_follow(message="Und noch eine")
    with get_db(app).write() as session:
        session.execute(update(Author).values(lang="de"))
    with app.app_context(), get_db(app).write() as session:
        assert send_digests(session, app.config, force=True) == 1
    german = outbox(app, "digest")[-1]
    assert (
        german.subject == "Übersicht: 2 Nachrichten und 0 Kommentare zu Ihren Artikeln"
    )
    assert german.body.startswith(
        "Hallo Maya Lindqvist,\n\nSeit Ihrer letzten Übersicht:"
    )


def test_author_reply_notifies_a_subscribed_commenter(
    app: Flask, client: FlaskClient, runner: FlaskCliRunner
) -> None:
    Commenter(client).post_ok(notify_replies="y")
    parent = newest_comment(app)
    with get_db(app).write() as session:
        cm.set_state(session, parent.id, "approved")
        from feedback_app.mail import subscriptions

        subscriptions.confirm(session, "ana@example.org")
    result = runner.invoke(
        args=["comments", "reply", str(parent.id), "--as", MAYA, "-m", "Thanks!"]
    )
    assert result.exit_code == 0, result.output
    [notice] = outbox(app, "reply-notification")
    assert "Maya Lindqvist replied" in notice.subject
    # Built outside a request, the links use APP_URL.
    assert "https://blog.example.org/app/unsubscribe/" in notice.body


def test_outbox_show_prints_the_message_readably(
    app: Flask, reader: Reader, runner: FlaskCliRunner, maya: None
) -> None:
    reader.send_and_follow(message="Vänliga hälsningar", email="r@example.org")
    [mail] = outbox(app, "feedback-to-author")
    shown = runner.invoke(args=["outbox", "show", str(mail.id)]).output
    assert "To: maya@example.org" in shown
    assert f"Reply-To: noreply+f{mail.thread_key[9:]}a-" in shown
    assert f"Message-ID: {mail.message_id}" in shown
    assert "Vänliga hälsningar" in shown
    assert "-- queued, tries: 0" in shown
