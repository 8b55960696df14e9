"""Reading and answering what readers sent privately: ``flask feedback``."""

from __future__ import annotations

from typing import Any

import click
from flask.cli import AppGroup
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from ..core.db import get_db
from ..core.models import (
    FEEDBACK_STATES,
    Author,
    Feedback,
)
from ..services import answers
from ..site.clock import short_time
from ..site.index import site_index
from ..site.ownership import decode_authors
from ..store import feedback as fb
from ..store.feedback import FEEDBACK_VIEWS

feedback_cli = AppGroup("feedback", help="Read what readers sent privately.")


@feedback_cli.command("list")
@click.option(
    "--view",
    type=click.Choice(list(FEEDBACK_VIEWS)),
    default="inbox",
    show_default=True,
    help="Which feedback, as the desk's tabs: inbox (new, read and answered), "
    "or one state.",
)
@click.option(
    "--state",
    "states",
    type=click.Choice(FEEDBACK_STATES),
    multiple=True,
    help="Only feedback in this state (repeatable; instead of --view).",
)
@click.option(
    "--article", help="Only feedback about this article (its URL, as `2026/slug/`)."
)
@click.option(
    "--search",
    "-q",
    help="Only feedback whose message, name or a later message contains this.",
)
@click.option("--limit", type=click.IntRange(min=1), default=50, show_default=True)
def list_command(
    view: str,
    states: tuple[str, ...],
    article: str | None,
    search: str | None,
    limit: int,
) -> None:
    """List feedback as the desk's inbox does (what the reader last wrote
    first): by default what its Inbox tab shows (new, read and answered)."""
    query = fb.listing(states or FEEDBACK_VIEWS[view], article, (search or "").strip())
    with get_db().read() as session:
        rows = session.scalars(query.limit(limit)).all()
    if not rows:
        click.echo("No feedback.")
    zone = site_index().current().timezone
    for feedback in rows:
        reach = "e-mail + reply page" if feedback.email else "reply page only"
        first_line = feedback.message.splitlines()[0]
        more = len(first_line) > 60 or "\n" in feedback.message
        snippet = first_line[:60] + ("…" if more else "")
        click.echo(
            f"#{feedback.id}  {feedback.state:<8}  "
            f"{short_time(feedback.created_at, zone)}  "
            f"{feedback.article_page_url}  [{reach}]  {snippet}"
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
    zone = site_index().current().timezone
    click.echo(f"Sent:    {short_time(feedback.created_at, zone)}\n")
    click.echo(feedback.message)
    for message in feedback.messages:
        who = "Reader" if message.sender == "reader" else "Author"
        click.echo(f"\n--- {who}, {short_time(message.created_at, zone)}\n")
        click.echo(message.body)


@feedback_cli.command("reply")
@click.argument("feedback_id", type=int)
@click.option("--as", "author_name", help="Author answering (default: the only one).")
@click.option("--message", "-m", help="The reply; default: read stdin.")
def feedback_reply(
    feedback_id: int, author_name: str | None, message: str | None
) -> None:
    """Answer feedback ID: on the reader's reply page, and by mail if possible."""
    body = message if message is not None else click.get_text_stream("stdin").read()
    body = body.strip()
    if not body:
        raise click.ClickException("The reply is empty.")
    with get_db().read() as session:
        feedback = session.get(Feedback, feedback_id)
        if feedback is None:
            raise click.ClickException(f"No feedback #{feedback_id}.")
        author = _author(session, author_name, decode_authors(feedback.article_authors))
    done = answers.answer(feedback_id, author, body)
    click.echo(
        "Reply stored on the reader's reply page"
        + (" and queued for e-mail." if done.by_mail else " (no address: page only).")
    )


def _author(session: Any, name: str | None, recorded: tuple[str, ...]) -> Author:
    """Return the answering author: by name, else the one recorded with the
    feedback (``recorded``), else the only one."""
    if name:
        author = session.scalar(select(Author).where(Author.name == name))
        if author is None:
            raise click.ClickException(f"No author {name!r}; see `authors list`.")
        return author
    candidates = list(session.scalars(select(Author)))
    mine = [a for a in candidates if a.name in recorded]
    candidates = mine or candidates
    if len(candidates) != 1:
        raise click.ClickException("Say who answers: --as NAME (see `authors list`).")
    return candidates[0]
