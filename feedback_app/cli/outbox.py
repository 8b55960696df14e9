"""Mail waiting to be sent, and the sender: ``flask outbox``."""

from __future__ import annotations

import math
import time
from datetime import datetime

import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy import select

from ..core.db import get_db
from ..core.models import (
    OUTBOX_STATES,
    OutboxMessage,
    utcnow,
)
from ..mail import conversations
from ..mail.digests import send_digests
from ..mail.outbox import build_email, envelope_sender
from ..mail.sender import OutboxWorker, send_due
from ..mail.transport import smtp_settings
from ..services.jobs import periodic
from ..site.clock import short_time
from ..site.index import site_index

outbox_cli = AppGroup("outbox", help="Mail waiting to be sent, and the sender.")


#: What each state is called in the listing: "sent" only ever means that the
#: relay (or the Maildir) accepted the message; whether it reached the
#: mailbox is known only when a bounce comes back.
STATE_NAMES = {"sent": "accepted"}


@outbox_cli.command("list")
@click.option(
    "--state",
    type=click.Choice([*OUTBOX_STATES, "accepted"]),
    help="Only this state (accepted is sent).",
)
@click.option("--limit", type=click.IntRange(min=1), default=50, show_default=True)
def outbox_list(state: str | None, limit: int) -> None:
    """List mail, newest first.

    States: queued (with when it is tried next), sending, accepted (the
    relay took it: delivery unknown unless it bounces), bounced (with the
    bounce's reason), failed (with why).
    """
    query = select(OutboxMessage).order_by(OutboxMessage.id.desc()).limit(limit)
    if state:
        wanted = {v: k for k, v in STATE_NAMES.items()}.get(state, state)
        query = query.where(OutboxMessage.state == wanted)
    with get_db().read() as session:
        rows = session.scalars(query).all()
    zone = site_index().current().timezone
    click.echo(
        "Mail, newest first. accepted: taken by the mail server (or the "
        "Maildir);\nwhether it arrived is known only if it bounces. "
        f"Times are the site's ({zone})."
    )
    if not rows:
        click.echo("No mail.")
    now = utcnow()
    for m in rows:
        name = STATE_NAMES.get(m.state, m.state)
        click.echo(
            f"#{m.id}  {name:<8}  {short_time(m.created_at, zone)}  to {m.recipient}"
            f"  {m.subject}  [tries: {m.attempts}]{_status(m, now, zone)}"
        )
    if smtp_settings(current_app.config) is None:
        click.echo(
            "(No SMTP server set: mail is kept in "
            f"{current_app.config['MAILDIR_PATH']})"
        )


def _status(message: OutboxMessage, now: datetime, zone: str) -> str:
    """What the listing says after a message: when it is tried next (in the
    time zone ``zone``), or why it failed or bounced."""
    if message.state == "queued":
        due = message.next_attempt_at
        minutes = math.ceil((due - now).total_seconds() / 60)
        when = "now" if due <= now else f"in {minutes} min"
        error = f"; last error: {message.last_error}" if message.last_error else ""
        return f"  (next try {short_time(due, zone)}, {when}{error})"
    if message.state == "bounced":
        return f"  (bounced: {message.last_error or 'no reason given'})"
    if message.state == "failed":
        return f"  (failed: {message.last_error or 'no reason given'})"
    return ""


@outbox_cli.command("show")
@click.argument("message_id", type=int)
def outbox_show(message_id: int) -> None:
    """Print message ID as it is (or will be) sent: headers and text."""
    with get_db().read() as session:
        message = session.get(OutboxMessage, message_id)
        salts = conversations.salts(session, [message.thread_key] if message else [])
    if message is None:
        raise click.ClickException(f"No message #{message_id}.")
    config = current_app.config
    email = build_email(
        message,
        config,
        site_name=site_index().current().name,
        salt=salts.get(message.thread_key or "", ""),
    )
    click.echo(f"Envelope sender: {envelope_sender(message, config)}")
    for name, value in email.items():
        if name.lower() not in ("content-type", "content-transfer-encoding"):
            click.echo(f"{name}: {value}")
    click.echo("")
    body = email.get_body(("plain",))
    click.echo((body or email).get_content().rstrip("\n"))
    click.echo(
        f"-- {STATE_NAMES.get(message.state, message.state)}, "
        f"tries: {message.attempts}"
        + (f", last error: {message.last_error}" if message.last_error else "")
    )


@outbox_cli.command("send")
def outbox_send() -> None:
    """Send what is due now, once."""
    result = send_due(current_app._get_current_object())  # type: ignore[attr-defined]
    click.echo(
        f"Sent {result.sent}, to retry {result.retried}, failed {result.failed}."
    )


@outbox_cli.command("digest")
def outbox_digest() -> None:
    """Queue the digests of authors who chose one, due or not, then send."""
    with get_db().write() as session:
        queued = send_digests(session, current_app.config, force=True)
    result = send_due(current_app._get_current_object())  # type: ignore[attr-defined]
    click.echo(f"Queued {queued} digests; sent {result.sent}.")


@outbox_cli.command("run")
def outbox_run() -> None:
    """Keep sending due mail until stopped (the production sender)."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    click.echo(
        f"Sending mail every {app.config['OUTBOX_POLL_INTERVAL']} s; Ctrl-C stops."
    )
    worker = OutboxWorker(app, periodic()).start()
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        worker.stop()
