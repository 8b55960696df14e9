"""Command-line tools for authors: ``flask --app feedback_app feedback|comments``."""

from __future__ import annotations

import json
import time
from typing import Any

import click
from flask import Flask, current_app
from flask.cli import AppGroup, with_appcontext
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from ..core.addresses import HeaderError, checked_address
from ..core.db import get_db
from ..core.models import (
    COMMENT_STATES,
    FEEDBACK_STATES,
    NOTIFY_CHOICES,
    OUTBOX_STATES,
    ROLES,
    Author,
    Comment,
    Feedback,
    OutboxMessage,
)
from ..core.text import TextPolicyError, clean_text
from ..desk import auth
from ..mail.digests import send_digests
from ..mail.links import external_url
from ..mail.outbox import build_email
from ..mail.sender import OutboxWorker, send_due
from ..mail.transport import smtp_settings
from ..services import answers, moderation, reader_data
from ..services.jobs import periodic
from ..site import ownership
from ..site.index import site_index
from ..site.ownership import decode_authors
from ..store import comments as cm

feedback_cli = AppGroup("feedback", help="Read what readers sent privately.")


@feedback_cli.command("list")
@click.option(
    "--article", help="Only feedback about this article (its URL, as `2026/slug/`)."
)
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
        query = query.where(Feedback.article_page_url == article)
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
    click.echo(f"Sent:    {feedback.created_at:%Y-%m-%d %H:%M} UTC\n")
    click.echo(feedback.message)
    for message in feedback.messages:
        who = "Reader" if message.sender == "reader" else "Author"
        click.echo(f"\n--- {who}, {message.created_at:%Y-%m-%d %H:%M} UTC\n")
        click.echo(message.body)


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
    for c in rows:
        why = f"  ({c.reason})" if c.reason and c.state != "approved" else ""
        first_line = c.body.splitlines()[0] if c.body else ""
        click.echo(
            f"#{c.id}  {c.state:<8}  {c.created_at:%Y-%m-%d %H:%M}  "
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
    click.echo(f"Sent:    {c.created_at:%Y-%m-%d %H:%M} UTC\n")
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


authors_cli = AppGroup("authors", help="The site's authors and their notifications.")


@authors_cli.command("add")
@click.argument("name")
@click.argument("email")
@click.option(
    "--notify",
    type=click.Choice(NOTIFY_CHOICES),
    default="immediate",
    show_default=True,
)
@click.option(
    "--role",
    type=click.Choice(ROLES),
    default="author",
    show_default=True,
    help="author: sees their own articles on the desk; editor: everything.",
)
def authors_add(name: str, email: str, notify: str, role: str) -> None:
    """Add author NAME (as in the articles' Author metadata) with EMAIL."""
    try:
        name = clean_text(name, single_line=True)
        address = checked_address(email)
    except (HeaderError, TextPolicyError) as exc:
        raise click.ClickException(str(exc)) from None
    if not name:
        raise click.ClickException("An author needs a name.")
    with get_db().write() as session:
        if session.scalar(select(Author).where(Author.name == name)):
            raise click.ClickException(f"{name} exists; use `authors set`.")
        session.add(Author(name=name, email=address, notify=notify, role=role))
    click.echo(f"Added {name} <{address}>, {role}, notifications: {notify}.")
    click.echo(
        "To sign in to the desk: "
        f"flask --app feedback_app authors set-password {name!r}"
    )


@authors_cli.command("list")
def authors_list() -> None:
    """List the authors."""
    with get_db().read() as session:
        authors = session.scalars(select(Author).order_by(Author.name)).all()
    if not authors:
        click.echo(
            "No authors. Add one: flask --app feedback_app authors add NAME EMAIL"
        )
    for a in authors:
        desk = "can sign in" if a.password_hash else "no password"
        click.echo(f"{a.name} <{a.email}>  {a.role}, {desk}, notifications: {a.notify}")


@authors_cli.command("set")
@click.argument("name")
@click.option("--email")
@click.option("--notify", type=click.Choice(NOTIFY_CHOICES))
@click.option("--role", type=click.Choice(ROLES))
def authors_set(
    name: str, email: str | None, notify: str | None, role: str | None
) -> None:
    """Change author NAME's address, notification choice or role."""
    with get_db().write() as session:
        author = session.scalar(select(Author).where(Author.name == name))
        if author is None:
            raise click.ClickException(f"No author {name!r}.")
        if email:
            try:
                author.email = checked_address(email)
            except HeaderError as exc:
                raise click.ClickException(str(exc)) from None
        if notify:
            author.notify = notify
        if role:
            author.role = role
        click.echo(
            f"{author.name} <{author.email}>  {author.role}, "
            f"notifications: {author.notify}"
        )


@authors_cli.command("reassign")
@click.argument("page_url")
@click.argument("names", nargs=-1)
def authors_reassign(page_url: str, names: tuple[str, ...]) -> None:
    """Give the feedback and comments of the article at PAGE_URL (its URL on
    the site, as `2026/slug/`) the authors NAMES; without NAMES, the authors
    the last build names.

    Who may read and answer what readers sent is recorded when it arrives;
    a later change of the article's Author metadata moves nothing until an
    editor does it here (or on the desk's article page).
    """
    if not names:
        article = site_index().article(page_url)
        if article is None:
            raise click.ClickException(
                f"{page_url} is not a published article: name its authors."
            )
        names = article.authors
    with get_db().write() as session:
        changed = ownership.reassign(session, page_url, names)
    click.echo(
        f"{changed} feedback and comments on {page_url} now belong to "
        f"{', '.join(names) or 'no author (editors only)'}."
    )


@authors_cli.command("set-password")
@click.argument("name")
def authors_set_password(name: str) -> None:
    """Set author NAME's desk password (asked twice; never an argument).

    Every session of theirs ends: they sign in again with the new one.
    """
    with get_db().read() as session:
        if session.scalar(select(Author.id).where(Author.name == name)) is None:
            raise click.ClickException(f"No author {name!r}; see `authors list`.")
    minimum = current_app.config["MIN_PASSWORD_LENGTH"]
    password = click.prompt(
        f"New password for {name} (at least {minimum} characters)",
        hide_input=True,
        confirmation_prompt="Once more",
    )
    try:
        auth.change_password(name, password)
    except (auth.PasswordError, LookupError) as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"Password set. {name} can sign in at {external_url('desk.sign_in')}")


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
        f"comments, {erased.subscriptions} subscriptions, {erased.mail} mail; "
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
    """Delete spam and trash comments, and spam feedback, older than the limit."""
    days = days or current_app.config["PURGE_AFTER_DAYS"]
    if not days:
        click.echo("PURGE_AFTER_DAYS is 0: nothing is purged.")
        return
    with get_db().write() as session:
        purged = reader_data.purge(session, days)
    click.echo(
        f"Purged {purged.comments} comments and {purged.feedback} feedback "
        f"older than {days} days."
    )


def init_app(app: Flask) -> None:
    """Register the commands."""
    app.cli.add_command(feedback_cli)
    app.cli.add_command(comments_cli)
    app.cli.add_command(authors_cli)
    app.cli.add_command(outbox_cli)
    app.cli.add_command(readers_cli)
    app.cli.add_command(purge_command)
