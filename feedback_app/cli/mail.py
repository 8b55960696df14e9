"""Mail received: ``flask mail receive`` (one message on standard input, as
a mail server's pipe transport runs it) and ``flask mail poll`` (one look
at the IMAP mailbox of ``IMAP_URL``).

``receive`` exits as a mail server expects of a delivery program: 0 once
the message is stored (applied, held or ignored, or a duplicate), 75
(EX_TEMPFAIL) when the database cannot be reached, so the server keeps the
message and tries again, and 65 (EX_DATAERR) for input that is no message
at all. It prints one line saying what happened, never the message's text.
"""

from __future__ import annotations

import logging
import sys

import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy.exc import DBAPIError

from ..mail.imap import ImapError, imap_settings
from ..mail.inbound import MAX_BYTES
from ..services.inbound import NotAMessage, receive
from ..services.jobs import poll_mailbox

logger = logging.getLogger(__name__)

mail_cli = AppGroup("mail", help="Mail received: replies and bounces.")

EX_DATAERR = 65
EX_TEMPFAIL = 75


@mail_cli.command("receive")
@click.option(
    "--recipient",
    metavar="ADDR",
    help="The envelope recipient, as the mail server knows it (e.g. ${recipient}).",
)
def receive_command(recipient: str | None) -> None:
    """Store and apply one message read on standard input."""
    raw = sys.stdin.buffer.read(MAX_BYTES + 1)
    truncated = len(raw) > MAX_BYTES
    while truncated and sys.stdin.buffer.read(1 << 16):
        pass  # the rest is not kept (the message is held), only read
    try:
        received = receive(raw[:MAX_BYTES], "pipe", recipient, truncated=truncated)
    except NotAMessage as exc:
        click.echo(f"refused: not an e-mail message ({exc})", err=True)
        sys.exit(EX_DATAERR)
    except DBAPIError as exc:
        click.echo(
            f"deferred: the database is unreachable ({type(exc.orig).__name__})",
            err=True,
        )
        sys.exit(EX_TEMPFAIL)
    except Exception:
        logger.exception("receiving a message failed")
        click.echo("deferred: receiving the message failed; try again", err=True)
        sys.exit(EX_TEMPFAIL)
    click.echo(received.line())


@mail_cli.command("poll")
def poll_command() -> None:
    """Read, apply and delete the messages in the IMAP mailbox once."""
    if imap_settings(current_app.config) is None:
        raise click.ClickException("IMAP_URL is not set.")
    try:
        result = poll_mailbox(current_app._get_current_object())  # type: ignore[attr-defined]
    except ImapError as exc:
        raise click.ClickException(str(exc)) from None
    for line in result.lines:
        click.echo(line)
    click.echo(
        f"{result.stored} of {result.seen} message(s) stored and deleted"
        f"{f', {result.kept} left on the server' if result.kept else ''}."
    )
