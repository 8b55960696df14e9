"""What is stored about a reader's address (``flask readers``), and purging
old spam and trash (``flask purge``)."""

from __future__ import annotations

import json
from typing import Any

import click
from flask import current_app
from flask.cli import AppGroup, with_appcontext

from ..core.addresses import HeaderError, checked_address
from ..core.db import get_db
from ..services import reader_data

readers_cli = AppGroup("readers", help="What is stored about a reader's address.")


def _address(email: str) -> str:
    try:
        return checked_address(email)
    except HeaderError as exc:
        raise click.ClickException(str(exc)) from None


@readers_cli.command("export")
@click.argument("email")
@click.option(
    "--output",
    "-o",
    type=click.File("w", encoding="utf-8"),
    default="-",
    help="Write to this file (default: standard output).",
)
def readers_export(email: str, output: Any) -> None:
    """Print everything stored about EMAIL, as JSON."""
    with get_db().read() as session:
        data = reader_data.export(session, _address(email))
    output.write(json.dumps(data, indent=2, ensure_ascii=False) + "\n")


@readers_cli.command("erase")
@click.argument("email")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def readers_erase(email: str, yes: bool) -> None:
    """Erase what is stored about EMAIL; published comment text stays, anonymous."""
    address = _address(email)
    if not yes:
        click.confirm(
            f"Erase everything stored about {address}? This cannot be undone",
            abort=True,
        )
    erased = reader_data.erase_reader(address, wait=True)
    click.echo(
        f"Deleted {erased.feedback} feedback, {erased.comments_deleted} unpublished "
        f"comments, {erased.subscriptions} subscriptions, {erased.mail} mail sent, "
        f"{erased.mail_received} mail received, {erased.bounced} bounce records; "
        f"{erased.comments_anonymised} published comments are now anonymous."
    )


@click.command("purge")
@with_appcontext
@click.option(
    "--days",
    type=click.IntRange(min=1),
    help="Age in days (default: PURGE_AFTER_DAYS).",
)
def purge_command(days: int | None) -> None:
    """Delete spam and trash comments, spam feedback, and mail received that
    was ignored or discarded, older than the limit."""
    days = days or current_app.config["PURGE_AFTER_DAYS"]
    if not days:
        click.echo("PURGE_AFTER_DAYS is 0: nothing is purged.")
        return
    with get_db().write() as session:
        purged = reader_data.purge(session, days)
    click.echo(
        f"Purged {purged.comments} comments, {purged.feedback} feedback and "
        f"{purged.mail_received} ignored or discarded mail received, "
        f"older than {days} days."
    )
