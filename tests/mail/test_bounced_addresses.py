"""Addresses that bounced for good get no more mail, until given again.

The rows of ``bounced_address`` are written when a bounce comes back (and
removed when the address is given again) elsewhere; here, what the sender
does with them, against a real SMTP server.
"""

from __future__ import annotations

from datetime import UTC, datetime

from flask import Flask
from flask.testing import FlaskCliRunner
from sqlalchemy import delete

from feedback_app.core.db import get_db
from feedback_app.core.models import BouncedAddress
from feedback_app.mail.sender import send_due

from ..conftest import Reader, outbox
from .test_mail import (  # noqa: F401 (fixtures)
    SmtpServer,
    maya,
    newest_feedback,
    reply,
    smtp,
)

BOUNCED_AT = datetime(2026, 12, 1, 9, 30, tzinfo=UTC)
REASON = "550 5.1.1 <rita@example.org>: no such user"


def bounce(app: Flask, address: str) -> None:
    with get_db(app).write() as session:
        session.add(BouncedAddress(email=address, reason=REASON, bounced_at=BOUNCED_AT))


def test_mail_to_a_bounced_address_is_not_sent(
    app: Flask,
    reader: Reader,
    runner: FlaskCliRunner,
    smtp: SmtpServer,  # noqa: F811
    maya: None,  # noqa: F811
) -> None:
    reader.send_and_follow(message="Could you say more?", email="rita@example.org")
    assert send_due(app).failed == 0  # the author's notification
    bounce(app, "Rita@Example.org")  # as the bounce spelled it
    reply(runner, newest_feedback(app).id, "Gladly.")
    smtp.handler.received.clear()
    tried = list(smtp.handler.attempts)

    result = send_due(app)
    assert (result.sent, result.retried, result.failed) == (0, 0, 1)
    assert smtp.received == [] and smtp.handler.attempts == tried
    [answer] = outbox(app, "reply-to-reader")
    assert (answer.state, answer.attempts) == ("failed", 0)
    assert answer.last_error == (
        "not sent: the address bounced on 2026-12-01 09:30 UTC "
        f"({REASON}); it gets no mail until it is given again"
    )
    assert send_due(app).sent == 0  # and it stays so

    # The address given again (its row removed): mail goes there again.
    with get_db(app).write() as session:
        session.execute(delete(BouncedAddress))
    reply(runner, newest_feedback(app).id, "Once more.")
    assert send_due(app).sent == 1
    assert [r.rcpt_tos for r in smtp.received] == [("rita@example.org",)]
