"""The desk's side of mail received: the held mail page (editors only, the
text shown as text, discard by a CSRF-protected POST) and what the
conversation pages say about an address that bounced."""

from __future__ import annotations

from flask import Flask
from sqlalchemy import select

from feedback_app.core.db import get_db
from feedback_app.core.models import BouncedAddress, InboundMessage

from ..conftest import Commenter, Desk, add_author
from ..mail.test_inbound import crlf, delivered, mid


def inbound_rows(app: Flask) -> list[InboundMessage]:
    with get_db(app).read() as session:
        return list(session.scalars(select(InboundMessage).order_by(InboundMessage.id)))


def held(app: Flask) -> InboundMessage:
    row = inbound_rows(app)[-1]
    assert row.state == "held", row.reason
    return row


def test_mail_to_no_conversation_is_held_and_shown_to_editors_only(
    app: Flask, desk: Desk
) -> None:
    raw = crlf(
        f"""From: Stranger <stranger@example.com>
To: noreply@blog.example.org
Subject: <b>Hello</b>
Message-ID: {mid()}
Content-Type: text/html; charset=utf-8

<p>Visit <a href="https://spam.example/">this</a><script>alert(1)</script>
 &lt;i&gt;now&lt;/i&gt;</p>
"""
    )
    assert delivered(app, raw).startswith("held: not sent to a conversation")
    assert held(app).body == "Visit this <i>now</i>"
    # An author does not see held mail; an editor does, as text.
    maya_desk = desk
    assert maya_desk.get("/desk/mail").status_code == 404
    assert "Held mail" not in maya_desk.get("/desk/").text
    add_author(app, "Rosa Editor", "rosa@example.org", role="editor")
    rosa = Desk(app.test_client())
    assert rosa.sign_in("Rosa Editor").status_code == 303
    assert "Held mail" in rosa.get("/desk/").text
    page = rosa.get("/desk/mail").text
    assert "stranger@example.com" in page
    assert "Visit this &lt;i&gt;now&lt;/i&gt;" in page
    assert "&lt;b&gt;Hello&lt;/b&gt;" in page
    assert "<i>now" not in page and "spam.example" not in page
    assert "not sent to a conversation" in page
    # Discarding: a POST with the session's CSRF token, and nothing else.
    (row,) = inbound_rows(app)
    assert rosa.client.post(f"/desk/mail/{row.id}/discard").status_code == 400
    assert maya_desk.post(f"/desk/mail/{row.id}/discard").status_code == 404
    assert inbound_rows(app)[0].state == "held"
    done = rosa.post(f"/desk/mail/{row.id}/discard")
    assert done.status_code == 303
    assert inbound_rows(app)[0].state == "discarded"
    assert "stranger@example.com" not in rosa.get("/desk/mail").text


def test_the_comment_page_says_the_commenters_address_bounced(
    app: Flask, commenter: Commenter, desk: Desk
) -> None:
    comment = commenter.post_ok(email="ana@example.org")
    assert "bounced" not in desk.get(f"/desk/comments/{comment.id}").text
    with get_db(app).write() as session:
        session.add(
            BouncedAddress(email="ana@example.org", reason="hard bounce 5.1.1: <gone>")
        )
    page = desk.get(f"/desk/comments/{comment.id}").text
    assert "Mail to ana@example.org bounced on" in page
    assert "hard bounce 5.1.1: &lt;gone&gt;" in page
