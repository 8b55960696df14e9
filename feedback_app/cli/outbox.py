"""Mail waiting to be sent, and the sender: ``flask outbox``."""

from __future__ import annotations

import time

import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy import select

from ..core.db import get_db
from ..core.models import (
    OUTBOX_STATES,
    OutboxMessage,
)
from ..mail.digests import send_digests
from ..mail.outbox import build_email
from ..mail.sender import OutboxWorker, send_due
from ..mail.transport import smtp_settings
from ..services.jobs import periodic

outbox_cli = AppGroup("outbox", help="Mail waiting to be sent, and the sender.")


@outbox_cli.command("list")
@click.option("--state", type=click.Choice(OUTBOX_STATES), help="Only this state.")
@click.option("--limit", type=click.IntRange(min=1), default=50, show_default=True)
def outbox_list(state: str | None, limit: int) -> None:
    """List mail, newest first."""
    query = select(OutboxMessage).order_by(OutboxMessage.id.desc()).limit(limit)
    if state:
        query = query.where(OutboxMessage.state == state)
    with get_db().read() as session:
        rows = session.scalars(query).all()
    if not rows:
        click.echo("No mail.")
    for m in rows:
        error = f"  ({m.last_error})" if m.last_error else ""
        click.echo(
            f"#{m.id}  {m.state:<7}  {m.created_at:%Y-%m-%d %H:%M}  to {m.recipient}"
            f"  {m.subject}  [tries: {m.attempts}]{error}"
        )
    if smtp_settings(current_app.config) is None:
        click.echo(
            "(No SMTP server set: mail is kept in "
            f"{current_app.config['MAILDIR_PATH']})"
        )


@outbox_cli.command("show")
@click.argument("message_id", type=int)
def outbox_show(message_id: int) -> None:
    """Print message ID as it is (or will be) sent: headers and text."""
    with get_db().read() as session:
        message = session.get(OutboxMessage, message_id)
    if message is None:
        raise click.ClickException(f"No message #{message_id}.")
    email = build_email(message, current_app.config["MAIL_FROM"])
    for name, value in email.items():
        if name.lower() not in ("content-type", "content-transfer-encoding"):
            click.echo(f"{name}: {value}")
    click.echo("")
    click.echo(email.get_content().rstrip("\n"))
    click.echo(
        f"-- {message.state}, tries: {message.attempts}"
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
