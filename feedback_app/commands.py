"""Command-line tools for authors: ``flask --app feedback_app feedback ...``."""

from __future__ import annotations

import click
from flask import Flask
from flask.cli import AppGroup
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from .db import get_db
from .models import FEEDBACK_STATES, Feedback

feedback_cli = AppGroup("feedback", help="Read what readers sent privately.")


@feedback_cli.command("list")
@click.option("--article", help="Only feedback about this article (its slug).")
@click.option(
    "--state",
    type=click.Choice(FEEDBACK_STATES),
    default="new",
    show_default=True,
    help="Only feedback in this state.",
)
@click.option("--limit", type=click.IntRange(min=1), default=50, show_default=True)
def list_command(article: str | None, state: str, limit: int) -> None:
    """List feedback, newest first."""
    query = select(Feedback).where(Feedback.state == state)
    if article:
        query = query.where(Feedback.article_slug == article)
    query = query.order_by(Feedback.id.desc()).limit(limit)
    with get_db().read() as session:
        rows = session.scalars(query).all()
    if not rows:
        click.echo("No feedback.")
    for feedback in rows:
        reach = "e-mail + reply page" if feedback.email else "reply page only"
        first_line = feedback.message.splitlines()[0]
        more = len(first_line) > 60 or "\n" in feedback.message
        snippet = first_line[:60] + ("…" if more else "")
        click.echo(
            f"#{feedback.id}  {feedback.created_at:%Y-%m-%d %H:%M}  "
            f"{feedback.article_slug}  [{reach}]  {snippet}"
        )


@feedback_cli.command("show")
@click.argument("feedback_id", type=int)
def show_command(feedback_id: int) -> None:
    """Show one feedback with everything that followed it."""
    with get_db().read() as session:
        feedback = session.get(
            Feedback, feedback_id, options=[selectinload(Feedback.messages)]
        )
    if feedback is None:
        raise click.ClickException(f"No feedback #{feedback_id}.")
    click.echo(f"Feedback #{feedback.id} ({feedback.state})")
    click.echo(f"Article: {feedback.article_title} <{feedback.article_url}>")
    click.echo(f"From:    {feedback.name or '(no name)'}")
    if feedback.email:
        click.echo(f"Reach:   by e-mail <{feedback.email}> and on the reply page")
    else:
        click.echo("Reach:   reply page only (no address)")
    quote = "yes, without name or address" if feedback.may_quote else "no"
    click.echo(f"Quote:   {quote}")
    click.echo(f"Sent:    {feedback.created_at:%Y-%m-%d %H:%M} UTC\n")
    click.echo(feedback.message)
    for message in feedback.messages:
        who = "Reader" if message.sender == "reader" else "Author"
        click.echo(f"\n--- {who}, {message.created_at:%Y-%m-%d %H:%M} UTC\n")
        click.echo(message.body)


def init_app(app: Flask) -> None:
    """Register the commands."""
    app.cli.add_command(feedback_cli)
