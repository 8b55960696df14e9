"""Input no form asks for: ids past the database's integers.

Each is sent from outside, over HTTP, to every form and id-carrying address
there is, and must get a 4xx with the site's error page (or the form shown
again), never a 500. On PostgreSQL (FEEDBACK_TEST_DATABASE_URL) an id from
2**31 on overflows the ``integer`` columns; on SQLite one from 2**63.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from werkzeug.test import TestResponse

from feedback_app.db import get_db
from feedback_app.models import Feedback

from .conftest import (
    Commenter,
    Desk,
    Reader,
    newest_comment,
    outbox,
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
    ("/desk/feedback/{}/answer", {"answer": "Hi.", "private": "y"}),
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
