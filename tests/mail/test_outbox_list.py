"""``flask outbox list`` tells what it knows and no more: "accepted" (the
relay took it, delivery unknown), bounced and failed with their reasons,
and when a queued message is tried next."""

from __future__ import annotations

from datetime import timedelta

from flask import Flask
from flask.testing import FlaskCliRunner
from sqlalchemy import update

from feedback_app.core.db import get_db
from feedback_app.core.models import OutboxMessage, utcnow
from feedback_app.mail.sender import send_due
from feedback_app.site.clock import short_time
from feedback_app.site.index import site_index

from .test_mail import SmtpServer, queue, smtp  # noqa: F401 (a fixture)

BOUNCE = "550 5.1.1 no such user (bounce of 2026-12-06 08:00 UTC)"


def line_of(output: str, message: OutboxMessage) -> str:
    [line] = [x for x in output.splitlines() if x.startswith(f"#{message.id} ")]
    return line


def test_outbox_list_says_accepted_bounced_failed_and_when_next(
    app: Flask,
    runner: FlaskCliRunner,
    smtp: SmtpServer,  # noqa: F811
) -> None:
    accepted, refused, deferred, bounced, waiting = queue(app, 5)
    smtp.handler.script = ["ok", "554", "451", "ok"]
    with get_db(app).write() as session:  # not due yet
        session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == waiting.id)
            .values(next_attempt_at=utcnow() + timedelta(hours=1))
        )
    send_due(app)
    next_try = utcnow() + timedelta(minutes=10)
    with get_db(app).write() as session:
        session.execute(  # a bounce came back for it
            update(OutboxMessage)
            .where(OutboxMessage.id == bounced.id)
            .values(state="bounced", last_error=BOUNCE)
        )
        session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == waiting.id)
            .values(next_attempt_at=next_try)
        )

    result = runner.invoke(args=["outbox", "list"])
    assert result.exit_code == 0, result.output
    out = result.output
    assert "accepted: taken by the mail server" in out
    assert "whether it arrived is known only if it bounces" in out
    assert "  accepted  " in line_of(out, accepted)
    assert " sent " not in out
    assert line_of(out, refused).endswith("(failed: 554 5.7.1 Rejected)")
    assert line_of(out, bounced).endswith(f"(bounced: {BOUNCE})")
    assert line_of(out, waiting).endswith(
        f"(next try {short_time(next_try, site_index(app).current().timezone)},"
        " in 10 min)"
    )
    assert "  queued  " in line_of(out, deferred)
    assert "; last error: 451 4.3.0 Try again later)" in line_of(out, deferred)

    only = runner.invoke(args=["outbox", "list", "--state", "accepted"]).output
    assert [x for x in only.splitlines() if x.startswith("#")] == [
        line_of(out, accepted)
    ]
    help_text = runner.invoke(args=["outbox", "list", "--help"]).output
    assert "accepted (the relay took it: delivery unknown" in " ".join(
        help_text.split()
    )
