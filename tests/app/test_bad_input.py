"""Input no form asks for: file parts, ids past the database's integers,
invalid UTF-8 in a multipart body.

Each is sent from outside, over HTTP, to every form and id-carrying address
there is, and must get a 4xx with the site's error page (or the form shown
again), never a 500. On PostgreSQL (FEEDBACK_TEST_DATABASE_URL) an id from
2**31 on overflows the ``integer`` columns; on SQLite one from 2**63.
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from werkzeug.test import TestResponse

from feedback_app.core.db import get_db
from feedback_app.core.models import Feedback

from ..conftest import (
    ORIGIN,
    Commenter,
    Desk,
    Reader,
    csrf_token,
    newest_comment,
    outbox,
    typed_ticket,
)

PAST_POSTGRES = "2147483648"  # 2**31: past PostgreSQL's integer
PAST_SQLITE = "9223372036854775808"  # 2**63: past SQLite's integer
HUGE = "9" * 5000  # past what Python's int() reads from text by default
TOO_BIG = [PAST_POSTGRES, PAST_SQLITE, "99999999999999999999", HUGE]


@dataclass
class World:
    """What a site has after a little use: ids and tokens to address."""

    feedback_id: int
    comment_id: int
    reply_token: str
    moderation_path: str
    confirm_path: str


@pytest.fixture
def world(
    app: Flask, reader: Reader, commenter: Commenter, desk: Desk, client: FlaskClient
) -> World:
    token, _ = reader.send_and_follow(message="Hello.", email="reader@example.org")
    comment = commenter.post_ok(body="Held.", notify_replies="y")
    mails = {m.kind: m.body for m in outbox(app)}
    [moderate] = re.findall(
        r"http://localhost(/moderate/[^\s]+)", mails["comment-to-author"]
    )[:1]
    [confirm] = [
        path
        for body in mails.values()
        for path in re.findall(r"http://localhost(/subscriptions/confirm/\S+)", body)
    ]
    with get_db(app).read() as session:
        feedback_id = session.scalar(select(Feedback.id))
    return World(feedback_id, comment.id, token, moderate, confirm)


def is_refused(response: TestResponse) -> bool:
    """A 4xx with the site's error page or the form shown again."""
    return 400 <= response.status_code < 500 and (
        'class="notice-page"' in response.text or "<form" in response.text
    )


# --- ids past the database's integers ----------------------------------------------


ID_GETS = [
    "/desk/feedback/{}",
    "/desk/feedback/{}/post",
    "/desk/comments/{}",
    "/comments/reply/{}",
]
ID_POSTS = [
    ("/desk/feedback/{}/state", {"action": "read"}),
    ("/desk/feedback/{}/answer", {"answer": "Hi.", "send_to": "private"}),
    ("/desk/comments/{}/state", {"action": "approve"}),
    ("/desk/comments/{}/edit", {"name": "A", "body": "B"}),
    ("/desk/comments/{}/reply", {"body": "B"}),
]


@pytest.mark.parametrize(
    "number", TOO_BIG, ids=["2**31", "2**63", "10**20", "5000 digits"]
)
def test_ids_past_the_databases_integers_are_not_found(
    app: Flask, world: World, desk: Desk, number: str
) -> None:
    for template in ID_GETS:
        response = desk.get(template.format(number))
        assert response.status_code == 404 and is_refused(response), template
    for template, data in ID_POSTS:
        response = desk.post(template.format(number), data)
        assert response.status_code == 404 and is_refused(response), template


@pytest.mark.parametrize(
    "number", TOO_BIG, ids=["2**31", "2**63", "10**20", "5000 digits"]
)
def test_ids_past_the_databases_integers_in_forms_are_refused(
    app: Flask, world: World, desk: Desk, commenter: Commenter, number: str
) -> None:
    for path, action in (
        ("/desk/feedback/bulk", "read"),
        ("/desk/comments/bulk", "approve"),
    ):
        response = desk.post(
            path, {"ids": [str(world.comment_id), number], "action": action}
        )
        assert response.status_code == 400 and is_refused(response), path
    reply = commenter.post(parent=number, body="A reply to nothing.")
    assert reply.status_code == 400 and is_refused(reply)
    assert newest_comment(app).id == world.comment_id  # nothing stored


# --- file parts ----------------------------------------------------------------------


def a_file() -> tuple[io.BytesIO, str, str]:
    return (io.BytesIO(b"hello\n"), "note.txt", "text/plain")


@dataclass
class Form:
    """A form as a browser would send it; ``text`` is its main text field."""

    path: Callable[[World], str]
    fields: Callable[[Flask, World], dict[str, Any]]
    text: str
    who: str  # "reader" (static page, Origin), "page" (CSRF), "desk" (CSRF)


FORMS = {
    "feedback": Form(
        lambda w: "/feedback",
        lambda app, w: {
            "article": "2026/inside-sales-without-the-script/",
            "ticket": typed_ticket(app),
        },
        "message",
        "reader",
    ),
    "comment": Form(
        lambda w: "/comments",
        lambda app, w: {
            "article": "2026/inside-sales-without-the-script/",
            "name": "Bo",
            "ticket": typed_ticket(app),
        },
        "body",
        "reader",
    ),
    "reply-page contact": Form(
        lambda w: f"/r/{w.reply_token}/contact", lambda a, w: {}, "email", "page"
    ),
    "reply-page follow-up": Form(
        lambda w: f"/r/{w.reply_token}/follow-up", lambda a, w: {}, "message", "page"
    ),
    "reply-page delete": Form(
        lambda w: f"/r/{w.reply_token}/delete", lambda a, w: {}, "confirm", "page"
    ),
    "moderation link": Form(
        lambda w: w.moderation_path, lambda a, w: {}, "action", "page"
    ),
    "subscription confirm": Form(
        lambda w: w.confirm_path, lambda a, w: {}, "email", "page"
    ),
    "unsubscribe": Form(
        lambda w: "/unsubscribe/" + "x" * 40,
        lambda a, w: {},
        "List-Unsubscribe",
        "reader",
    ),
    "sign-in": Form(
        lambda w: "/desk/sign-in", lambda a, w: {"password": "x"}, "name", "page"
    ),
    "desk answer": Form(
        lambda w: f"/desk/feedback/{w.feedback_id}/answer",
        lambda a, w: {"send_to": "private"},
        "answer",
        "desk",
    ),
    "desk feedback state": Form(
        lambda w: f"/desk/feedback/{w.feedback_id}/state",
        lambda a, w: {},
        "action",
        "desk",
    ),
    "desk feedback bulk": Form(
        lambda w: "/desk/feedback/bulk", lambda a, w: {"action": "read"}, "ids", "desk"
    ),
    "desk comment edit": Form(
        lambda w: f"/desk/comments/{w.comment_id}/edit",
        lambda a, w: {"name": "Ana"},
        "body",
        "desk",
    ),
    "desk comment reply": Form(
        lambda w: f"/desk/comments/{w.comment_id}/reply",
        lambda a, w: {},
        "body",
        "desk",
    ),
    "desk comment bulk": Form(
        lambda w: "/desk/comments/bulk",
        lambda a, w: {"action": "approve"},
        "ids",
        "desk",
    ),
}


def post_form(
    app: Flask, world: World, desk: Desk, form: Form, data: dict[str, Any]
) -> TestResponse:
    """Post ``data`` to ``form`` as its rightful sender would, with a token
    from the page the form is on where it needs one."""
    path = form.path(world)
    data = {**form.fields(app, world), **data}
    if form.who == "desk":
        return desk.client.post(path, data={"csrf_token": desk.token, **data})
    client = app.test_client()
    if form.who == "page":
        page_path = f"/r/{world.reply_token}" if path.startswith("/r/") else path
        data["csrf_token"] = csrf_token(client.get(page_path).text)
    return client.post(path, data=data, headers={"Origin": ORIGIN})


@pytest.mark.parametrize("name", list(FORMS))
def test_a_file_part_in_any_form_is_refused(
    app: Flask, world: World, desk: Desk, name: str
) -> None:
    """A file where the form has text, or beside it, is refused (400, the
    error page); nothing is stored or changed."""
    form = FORMS[name]
    before = [(m.id, m.state) for m in outbox(app)], newest_comment(app).body
    for data in ({form.text: a_file()}, {form.text: "Hello.", "attachment": a_file()}):
        response = post_form(app, world, desk, form, data)
        assert response.status_code == 400, (name, response.status_code)
        assert is_refused(response)
    assert ([(m.id, m.state) for m in outbox(app)], newest_comment(app).body) == before


# --- invalid UTF-8 in a multipart body ----------------------------------------------


def multipart(fields: dict[str, bytes]) -> tuple[bytes, str]:
    """A multipart/form-data body of raw field values, and its content type."""
    boundary = "----boundary7MA4YWxkTrZu0gW"
    parts = [
        b"--"
        + boundary.encode()
        + b'\r\nContent-Disposition: form-data; name="'
        + name.encode()
        + b'"\r\n\r\n'
        + value
        + b"\r\n"
        for name, value in fields.items()
    ]
    body = b"".join(parts) + b"--" + boundary.encode() + b"--\r\n"
    return body, f"multipart/form-data; boundary={boundary}"


@pytest.mark.parametrize("bad", [b"caf\xe9", b"\xff\xfe", b"\xed\xa0\x80", b"ok \xc3"])
def test_invalid_utf8_in_a_multipart_body_is_refused(
    app: Flask, client: FlaskClient, bad: bytes
) -> None:
    """As in a URL-encoded body: 400, nothing stored (Werkzeug would
    otherwise store U+FFFD where the reader's bytes were)."""
    for path, fields in (
        (
            "/feedback",
            {
                "article": b"2026/inside-sales-without-the-script/",
                "message": b"Hi " + bad,
            },
        ),
        (
            "/comments",
            {
                "article": b"2026/inside-sales-without-the-script/",
                "name": b"Bo " + bad,
                "body": b"Hello.",
            },
        ),
    ):
        fields["ticket"] = typed_ticket(app).encode()
        body, content_type = multipart(fields)
        response = client.post(
            path, data=body, content_type=content_type, headers={"Origin": ORIGIN}
        )
        assert response.status_code == 400 and is_refused(response), path
        assert "UTF-8" in response.text
    assert outbox(app) == []


def test_valid_utf8_in_a_multipart_body_is_taken(
    app: Flask, client: FlaskClient
) -> None:
    """The check refuses bad bytes, not multipart: a valid one is stored."""
    body, content_type = multipart(
        {
            "article": b"2026/inside-sales-without-the-script/",
            "message": "Caf\u00e9 \u2014 \u65e5\u672c".encode(),
            "ticket": typed_ticket(app).encode(),
        }
    )
    response = client.post(
        "/feedback", data=body, content_type=content_type, headers={"Origin": ORIGIN}
    )
    assert response.status_code == 303, response.text


def test_invalid_utf8_is_refused_in_forms_with_a_csrf_token_too(
    app: Flask, world: World, desk: Desk
) -> None:
    """The reply page's and the desk's forms read their CSRF token from the
    body first; the check of the body's bytes must not come too late."""
    reader = app.test_client()
    page = reader.get(f"/r/{world.reply_token}")
    for client, path, token, field in (
        (reader, f"/r/{world.reply_token}/follow-up", csrf_token(page.text), "message"),
        (
            desk.client,
            f"/desk/feedback/{world.feedback_id}/answer",
            desk.token,
            "answer",
        ),
    ):
        for encoding in ("url", "multipart"):
            if encoding == "url":
                body = f"csrf_token={token}&send_to=private&{field}=caf%E9".encode()
                content_type = "application/x-www-form-urlencoded"
            else:
                body, content_type = multipart(
                    {
                        "csrf_token": token.encode(),
                        "send_to": b"private",
                        field: b"caf\xe9",
                    }
                )
            response = client.post(
                path, data=body, content_type=content_type, headers={"Origin": ORIGIN}
            )
            assert response.status_code == 400 and "UTF-8" in response.text, (
                path,
                encoding,
            )
    assert [m.kind for m in outbox(app) if m.kind.startswith(("follow", "reply"))] == []
