"""Moderating public comments: ``flask comments``."""

from __future__ import annotations

import time
from pathlib import Path

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
from ..site.lock import PublishError
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
    try:
        moderation.moderate([comment_id], state, wait=True)
    except PublishError as exc:
        done = "deleted" if state is None else state
        raise click.ClickException(
            f"Comment #{comment_id} {done}, but its page is not updated: {exc}"
        ) from None
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


@comments_cli.command("check")
def comments_check() -> None:
    """List every difference between the comment files and the database;
    exit 1 if there is one."""
    from flask import current_app

    from ..site.comment_sync import differences

    with get_db().read() as session:
        found = differences(session, Path(current_app.config["COMMENTS_PATH"]))
    for difference in found:
        click.echo(str(difference))
    if found:
        click.echo(
            f"{len(found)} difference(s). `comments import` loads what only the"
            " files have; `comments export` writes the files from the database.",
            err=True,
        )
        raise SystemExit(1)
    click.echo("The comment files and the database agree.")


@comments_cli.command("export")
@click.option(
    "--drop-unknown",
    is_flag=True,
    help="Also rewrite files holding comments the database never knew,"
    " dropping those comments.",
)
def comments_export(drop_unknown: bool) -> None:
    """Write every article's comment file (and its pages) from the database."""
    from flask import current_app

    from ..site.comment_sync import UnknownComments, published_page_urls, read_files
    from ..site.publishing import publisher

    folder = Path(current_app.config["COMMENTS_PATH"])
    files, _ = read_files(folder)
    with get_db().read() as session:
        page_urls = published_page_urls(session) | set(files)
    try:
        publisher().publish(page_urls, wait=True, drop_unknown=drop_unknown)
    except UnknownComments as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"Wrote the comments of {len(page_urls)} article(s).")


@comments_cli.command("import")
def comments_import() -> None:
    """Load the published comments of the comment files that the database
    lacks (a new or restored database), keeping their ids."""
    from flask import current_app

    from ..importing.comment_files import load_files

    loaded = load_files(current_app._get_current_object())  # type: ignore[attr-defined]
    click.echo(
        f"Loaded {loaded.added} comment(s) on {len(loaded.page_urls)} article(s);"
        f" {loaded.already} already in the database."
    )
    if loaded.deleted_here:
        click.echo(
            f"{loaded.deleted_here} comment(s) this database deleted were left"
            " out (`comments export` removes them from the files)."
        )
    for line in loaded.conflicts + loaded.problems:
        click.echo(f"Not loaded: {line}", err=True)
    if loaded.conflicts or loaded.problems:
        raise SystemExit(1)
