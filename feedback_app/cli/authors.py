"""The site's authors, their notifications and passwords: ``flask authors``."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy import select

from ..core.addresses import HeaderError, checked_address
from ..core.db import get_db
from ..core.models import (
    NOTIFY_CHOICES,
    ROLES,
    Author,
)
from ..core.text import TextPolicyError, clean_text
from ..desk import auth
from ..mail.links import external_url
from ..mail.messages import unheard_author_names, unheard_warning
from ..services import inbound
from ..site import ownership
from ..site.index import site_index

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
    """List the authors, and warn of articles' authors nobody hears for."""
    with get_db().read() as session:
        authors = session.scalars(select(Author).order_by(Author.name)).all()
        unheard = unheard_author_names(session, site_index().current())
    if not authors:
        click.echo(
            "No authors. Add one: flask --app feedback_app authors add NAME EMAIL"
        )
    for a in authors:
        desk = "can sign in" if a.password_hash else "no password"
        click.echo(f"{a.name} <{a.email}>  {a.role}, {desk}, notifications: {a.notify}")
    if unheard:
        click.echo("")
        click.echo(unheard_warning(unheard))


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
            # An address given again is one mail may go to again.
            inbound.forget_bounce(session, author.email)
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
