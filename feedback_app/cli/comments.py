"""Moderating public comments: ``flask comments``."""

from __future__ import annotations

import time

import click
from flask.cli import AppGroup

from ..core.db import get_db
from ..core.models import (
    COMMENT_STATES,
    Comment,
)
from ..services import moderation
from ..site.clock import short_time
from ..site.index import site_index
from ..site.ownership import decode_authors
from ..store import comments as cm

comments_cli = AppGroup("comments", help="Moderate public comments.")


@comments_cli.command("list")
@click.option(
    "--state",
    "states",
    type=click.Choice(COMMENT_STATES),
    multiple=True,
    help="Only comments in this state (repeatable; default: pending).",
)
@click.option(
    "--article", help="Only comments on this article (its URL, as `2026/slug/`)."
)
@click.option("--limit", type=click.IntRange(min=1), default=50, show_default=True)
def comments_list(states: tuple[str, ...], article: str | None, limit: int) -> None:
    """List comments, newest first."""
    with get_db().read() as session:
        rows = cm.list_comments(session, states or ("pending",), article, limit)
    if not rows:
        click.echo("No comments.")
    zone = site_index().current().timezone
    for c in rows:
        why = f"  ({c.reason})" if c.reason and c.state != "approved" else ""
        first_line = c.body.splitlines()[0] if c.body else ""
        click.echo(
            f"#{c.id}  {c.state:<8}  {short_time(c.created_at, zone)}  "
            f"{c.article_page_url}"
            f"  {c.name}: {first_line[:50]}{why}"
        )


@comments_cli.command("show")
@click.argument("comment_id", type=int)
def comments_show(comment_id: int) -> None:
    """Show one comment in full, with what moderation needs to know."""
    with get_db().read() as session:
        c = session.get(Comment, comment_id)
    if c is None:
        raise click.ClickException(f"No comment #{comment_id}.")
    click.echo(f"Comment #{c.id} ({c.state}{', ' + c.reason if c.reason else ''})")
    click.echo(f"Article: {c.article_page_url}")
    click.echo(f"Authors: {', '.join(decode_authors(c.article_authors)) or '(none)'}")
    if c.parent_id:
        click.echo(f"Answers: #{c.parent_id}")
    click.echo(f"From:    {c.name}" + (f" <{c.email}>" if c.email else " (no address)"))
    if c.website:
        click.echo(f"Website: {c.website}")
    sent = short_time(c.created_at, site_index().current().timezone)
    click.echo(f"Sent:    {sent}\n")
    click.echo(c.body)


def _moderate(comment_id: int, state: str | None) -> None:
    """Change a comment's state (or delete it) and publish what changed."""
    started = time.monotonic()
    with get_db().read() as session:
        before = session.get(Comment, comment_id)
    if before is None:
        raise click.ClickException(f"No comment #{comment_id}.")
    moderation.moderate([comment_id], state, wait=True)
    if before.state == "approved" or state == "approved":
        live = f"; the page is rebuilt ({time.monotonic() - started:.2f} s)"
    else:
        live = ""
    click.echo(f"Comment #{comment_id} {'deleted' if state is None else state}{live}.")


for _state, _verb in (
    ("approved", "approve"),
    ("pending", "unapprove"),
    ("spam", "spam"),
    ("trash", "trash"),
):

    def _command(comment_id: int, state: str = _state) -> None:
        _moderate(comment_id, state)

    _command.__doc__ = f"Mark comment ID as {_state} and publish the change."
    comments_cli.command(_verb)(click.argument("comment_id", type=int)(_command))


@comments_cli.command("reply")
@click.argument("comment_id", type=int)
@click.option("--as", "author", required=True, help="The article's author, by name.")
@click.option("--message", "-m", help="The reply (Markdown); default: read stdin.")
def comments_reply(comment_id: int, author: str, message: str | None) -> None:
    """Publish the author's reply to comment ID, with the Author badge,
    approving the comment first if it is held (as the desk does)."""
    body = message if message is not None else click.get_text_stream("stdin").read()
    body = body.strip()
    if not body:
        raise click.ClickException("The reply is empty.")
    try:
        reply = moderation.reply_as_author(comment_id, author, body, wait=True)
    except cm.CommentError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"Reply #{reply.id} published under comment #{comment_id}.")


@comments_cli.command("delete")
@click.argument("comment_id", type=int)
def comments_delete(comment_id: int) -> None:
    """Delete comment ID for good (its replies move up) and publish the change."""
    _moderate(comment_id, None)
