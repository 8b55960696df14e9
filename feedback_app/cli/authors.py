"""The site's authors, their notifications, desk languages and passwords:
``flask authors``."""

from __future__ import annotations

import sys
from typing import Any

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
from ..core.translations import LANGUAGE_CODE, shipped
from ..desk import auth
from ..mail.links import external_url
from ..mail.messages import unheard_author_names, unheard_warning
from ..services import inbound
from ..site import ownership
from ..site.index import site_index
from ..site.languages import language_name

authors_cli = AppGroup("authors", help="The site's authors and their notifications.")

#: What ``--lang`` takes to clear an author's language (the site's, then).
DEFAULT_LANG_WORDS = ("", "default")
#: The longest language code ``author.lang`` holds.
MAX_LANG_LENGTH = 35

LANG_HELP = (
    "The desk's language for this author, a code such as fr or pt-BR; "
    "'default' (or '') for the site's language."
)


def desk_lang(value: str | None) -> str | None:
    """Return the desk language ``--lang`` gives: a language code, or None
    for the site's.

    :raise click.BadParameter: for what is no language code.
    """
    value = (value or "").strip()
    if value.casefold() in DEFAULT_LANG_WORDS:
        return None
    if len(value) > MAX_LANG_LENGTH or not LANGUAGE_CODE.fullmatch(value):
        raise click.BadParameter(
            f"{value[:60]!r} is not a language code: give one such as fr, de or "
            f"pt-BR (at most {MAX_LANG_LENGTH} characters), or 'default' for "
            "the site's language.",
            param_hint="'--lang'",
        )
    return value


def _lang_callback(ctx: click.Context, param: click.Parameter, value: Any) -> Any:
    return value if value is None else (desk_lang(value) or "")


def _warn_without_catalogue(lang: str | None) -> None:
    """Say so when the site does not ship ``lang``: the desk and the mail to
    the author speak the site's language then."""
    if lang is not None and lang not in shipped():
        click.echo(
            f"Note: the site ships no {lang} ({', '.join(shipped())} are "
            "shipped): the desk and the mail to this author speak the site's "
            "language.",
            err=True,
        )


def _shown_lang(lang: str | None) -> str:
    """``fr (français)``, or ``the site's language`` for none."""
    return f"{lang} ({language_name(lang)})" if lang else "the site's language"


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
@click.option("--lang", callback=_lang_callback, help=LANG_HELP)
def authors_add(
    name: str, email: str, notify: str, role: str, lang: str | None
) -> None:
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
        session.add(
            Author(
                name=name, email=address, notify=notify, role=role, lang=lang or None
            )
        )
    click.echo(
        f"Added {name} <{address}>, {role}, notifications: {notify}, "
        f"desk in {_shown_lang(lang or None)}."
    )
    _warn_without_catalogue(lang or None)
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
        click.echo(
            f"{a.name} <{a.email}>  {a.role}, {desk}, notifications: {a.notify}, "
            f"desk in {_shown_lang(a.lang)}"
        )
    if unheard:
        click.echo("")
        click.echo(unheard_warning(unheard))


@authors_cli.command("set")
@click.argument("name")
@click.option("--email")
@click.option("--notify", type=click.Choice(NOTIFY_CHOICES))
@click.option("--role", type=click.Choice(ROLES))
@click.option("--lang", callback=_lang_callback, help=LANG_HELP)
def authors_set(
    name: str,
    email: str | None,
    notify: str | None,
    role: str | None,
    lang: str | None,
) -> None:
    """Change author NAME's address, notification choice, role or desk
    language."""
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
        if lang is not None:
            author.lang = lang or None
        click.echo(
            f"{author.name} <{author.email}>  {author.role}, "
            f"notifications: {author.notify}, desk in {_shown_lang(author.lang)}"
        )
    _warn_without_catalogue(lang or None)


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

    At a terminal, a password the rules refuse is said at once and asked
    again. Read from a pipe, it is read once: a refused one, or two that
    differ, end the command with an error. Every session of theirs ends:
    they sign in again with the new one. (An author can also choose one on
    the desk: "Forgot your password?" on the sign-in page mails a link.)
    """
    with get_db().read() as session:
        if session.scalar(select(Author.id).where(Author.name == name)) is None:
            raise click.ClickException(f"No author {name!r}; see `authors list`.")
    minimum = current_app.config["MIN_PASSWORD_LENGTH"]
    asked = f"New password for {name} (at least {minimum} characters)"

    def checked(value: str) -> str:
        problem = auth.password_problem(value, minimum)
        if problem is not None:
            raise click.BadParameter(problem)
        return value

    if sys.stdin.isatty():
        # click says what is wrong and asks again, then asks for it once
        # more, and starts over if the two differ.
        password = click.prompt(
            asked, hide_input=True, confirmation_prompt="Once more", value_proc=checked
        )
    else:
        try:
            password = click.prompt(asked, hide_input=True)
            problem = auth.password_problem(password, minimum)
            if problem is not None:
                raise click.ClickException(f"{problem} Nothing was changed.")
            again = click.prompt("Once more", hide_input=True)
        except click.Abort:  # the end of the input
            raise click.ClickException(
                "No password read: run this at a terminal, or give the password "
                "twice on standard input, one line each."
            ) from None
        if again != password:
            raise click.ClickException(
                "The two passwords are not the same. Nothing was changed."
            )
    try:
        auth.change_password(name, password)
    except (auth.PasswordError, LookupError) as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"Password set. {name} can sign in at {external_url('desk.sign_in')}")


@authors_cli.command("check")
def authors_check() -> None:
    """List the ``Author`` names of the site's articles that have no
    account; exit 1 if there is one."""
    site = site_index().current()
    articles: dict[str, int] = {}
    for article in site.articles.values():
        for name in article.authors:
            articles[name] = articles.get(name, 0) + 1
    with get_db().read() as session:
        known = set(
            session.scalars(select(Author.name).where(Author.name.in_(articles)))
        )
    missing = sorted(set(articles) - known)
    for name in missing:
        click.echo(f"{name}: {articles[name]} article(s), no account")
    if missing:
        click.echo(
            "Add each one with its exact name: flask --app feedback_app authors"
            " add NAME EMAIL (an editor, --role editor, hears about every"
            " article but does not make these accounts).",
            err=True,
        )
        raise SystemExit(1)
    click.echo(
        f"Each of the {len(articles)} author(s) of the site's articles has an account."
    )
