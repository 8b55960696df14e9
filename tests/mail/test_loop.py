"""The reply loop end to end, as its people go round it.

A reader writes; the author answers by replying to the notification from
their mail client; the reader replies to the answer; the reader's mail
server bounces the next one. Every address used to go round is taken from
the bytes a real SMTP server (aiosmtpd) received, never made by the test:
the notification's Reply-To, the answer's Reply-To, the answer's envelope
sender. Every message coming back goes through the real pipe command,
``flask mail receive``, as a mail server runs it.
"""

from __future__ import annotations

import quopri
import re

from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner
from sqlalchemy import select

from feedback_app.core.db import get_db
from feedback_app.core.models import BouncedAddress, Feedback, OutboxMessage
from feedback_app.mail.sender import send_due

from ..conftest import ORIGIN, Desk, Reader, csrf_token
from .test_inbound import gmail, outlook, pipe, postfix_dsn
from .test_mail import MAYA_EMAIL
from .test_wire import Received, Recorder, only, server  # noqa: F401 (fixture)

READER = "anna@example.net"


def to(recorder: Recorder, address: str) -> list[Received]:
    return [r for r in recorder.received if r.rcpt_tos == (address,)]


def reply_to(got: Received) -> str:
    """The Reply-To on the wire: one bare address, never encoded."""
    value = only(got.raw, "Reply-To").decode("ascii")
    assert re.fullmatch(r"[^\s<>@]+@[^\s<>@]+", value), value
    return value


def text(got: Received) -> str:
    """The text part's body as sent (quoted-printable, undone here)."""
    body = got.raw.split(b"\r\n\r\n", 1)[1]
    return quopri.decodestring(body).decode("utf-8", "replace")


def received_by_pipe(app: Flask, raw: bytes) -> str:
    done = pipe(app, raw)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def bounced_id(app: Flask) -> int:
    with get_db(app).read() as session:
        return session.scalars(
            select(OutboxMessage.id).where(OutboxMessage.kind == "reply-to-reader")
        ).one()


def state(app: Flask) -> str:
    with get_db(app).read() as session:
        return session.scalars(select(Feedback.state)).one()


def test_the_loop_goes_round_by_mail_and_a_bounce_stops_it(
    app: Flask,
    client: FlaskClient,
    runner: FlaskCliRunner,
    desk: Desk,
    server: Recorder,  # noqa: F811
) -> None:
    # 1. A reader writes, leaving an address.
    token, _ = Reader(client).send_and_follow(
        message="Is the script worth learning?", name="Anna", email=READER
    )
    assert send_due(app).sent == 2
    [ack] = to(server, READER)
    assert f"/r/{token}" in text(ack)  # the reader's way back
    [notice] = to(server, MAYA_EMAIL)
    assert "Is the script worth learning?" in text(notice)

    # 2. The author presses Reply in Outlook and answers.
    line = received_by_pipe(
        app, outlook(reply_to(notice), MAYA_EMAIL, "Learn it, then drop it.")
    )
    assert line.startswith("applied: answer"), line
    assert state(app) == "answered"
    page = client.get(f"/r/{token}").text
    assert "Learn it, then drop it." in page
    assert send_due(app).sent == 1
    [_, answer] = to(server, READER)
    assert "Learn it, then drop it." in text(answer)
    assert f"/r/{token}" in text(answer)  # every answer carries the link
    assert reply_to(answer) != reply_to(notice)  # the reader's own address

    # 3. The reader replies to the answer from Gmail.
    line = received_by_pipe(
        app, gmail(reply_to(answer), READER, "Thanks, I will try that.")
    )
    assert line.startswith("applied: follow-up"), line
    assert state(app) == "new"  # back on the author's desk
    assert "Thanks, I will try that." in client.get(f"/r/{token}").text
    assert "Thanks, I will try that." in desk.get("/desk/feedback/1").text
    assert send_due(app).sent == 1
    [_, follow_up_notice] = to(server, MAYA_EMAIL)
    assert "Thanks, I will try that." in text(follow_up_notice)
    # The author may answer that one by mail as well: same conversation.
    assert reply_to(follow_up_notice) == reply_to(notice)

    # 4. The reader's server bounces the answer: the bounce comes back to
    #    the envelope sender the answer went out with.
    line = received_by_pipe(
        app,
        postfix_dsn(
            answer.mail_from, READER, "5.1.1", "smtp; 550 5.1.1 <anna@example.net>"
        ),
    )
    assert line.startswith(f"applied: mail #{bounced_id(app)} (reply-to-reader)")
    with get_db(app).read() as session:
        bounced = session.scalars(
            select(OutboxMessage).where(OutboxMessage.kind == "reply-to-reader")
        ).one()
        assert bounced.state == "bounced" and "5.1.1" in bounced.last_error
        assert session.scalars(select(BouncedAddress.email)).all() == [READER]
    assert "bounced" in desk.get("/desk/feedback/1").text

    # 5. No more mail goes there: the next answer is on the page only…
    result = runner.invoke(
        args=["feedback", "reply", "1", "-m", "One more tip.", "--as", "Maya Lindqvist"]
    )
    assert result.exit_code == 0, result.output
    assert "One more tip." in client.get(f"/r/{token}").text
    sent = send_due(app)
    assert (sent.sent, sent.failed) == (0, 1)
    assert len(to(server, READER)) == 2

    # 6. …until the reader gives the address again on their reply page.
    page = client.get(f"/r/{token}")
    client.post(
        f"/r/{token}/contact",
        data={"csrf_token": csrf_token(page.text), "email": READER},
        headers={"Origin": ORIGIN},
    )
    result = runner.invoke(
        args=["feedback", "reply", "1", "-m", "Welcome back.", "--as", "Maya Lindqvist"]
    )
    assert result.exit_code == 0, result.output
    assert send_due(app).sent == 1
    assert "Welcome back." in text(to(server, READER)[-1])
