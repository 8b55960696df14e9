"""The database's commands: ``flask db upgrade|current|copy`` and ``flask backup``."""

from __future__ import annotations

from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import AppGroup, with_appcontext
from sqlalchemy.engine import make_url

from ..core.db import (
    alembic_config,
    backup_postgresql,
    backup_sqlite,
    get_db,
    upgrade,
)

db_cli = AppGroup("db", help="Manage the database schema.")


@db_cli.command("upgrade")
@click.argument("revision", default="head")
def upgrade_command(revision: str) -> None:
    """Migrate the database to REVISION (default: the newest)."""
    upgrade(current_app._get_current_object(), revision)  # type: ignore[attr-defined]
    click.echo(f"Database at {revision}: {_safe_url(current_app)}")


@db_cli.command("current")
def current_command() -> None:
    """Show the database's current revision."""
    from alembic import command

    command.current(alembic_config(get_db()))


@db_cli.command("copy")
@click.option(
    "--to",
    "url",
    required=True,
    help="The target database's URL, e.g. postgresql+psycopg://blog@db/blog"
    " (it is migrated to the newest schema first).",
)
@click.option(
    "--replace", is_flag=True, help="Delete the target's rows first, if it has any."
)
def copy_command(url: str, replace: bool) -> None:
    """Copy every table of the app's database to another database (SQLite
    to PostgreSQL, or back), ids and sequences kept, counts checked."""
    from ..core.db import Database
    from ..core.db_copy import CopyError, copy_database

    try:
        target_url = make_url(url)
    except Exception as exc:  # sqlalchemy.exc.ArgumentError and its kin
        raise click.ClickException(f"Not a database URL: {exc}") from None
    shown = target_url.render_as_string(hide_password=True)
    target = Database(url)
    try:
        copied = copy_database(
            get_db(),
            target,
            replace=replace,
            site_index_path=current_app.config["SITE_INDEX_PATH"],
            say=lambda line: click.echo(f"  {line}"),
        )
    except CopyError as exc:
        raise click.ClickException(str(exc)) from None
    finally:
        target.dispose()
    click.echo(
        f"Copied {copied.total} rows from {_safe_url(current_app)} to {shown};"
        " every table's count matches. Point FEEDBACK_DATABASE_URL at it to"
        " switch."
    )


@click.command("backup")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@with_appcontext
def backup_command(path: Path) -> None:
    """Back up the app's database to PATH while the site keeps running.

    SQLite: a copy of the database file (SQLite's online backup, checked).
    PostgreSQL: a pg_dump archive in its custom format, for pg_restore.
    Restore (deploy/README.md, "Backups"): stop the app and the mail sender;
    SQLite: put the copy in place of the database file (and delete its -wal
    and -shm files); PostgreSQL: pg_restore it into an empty database. Then
    start them again.
    """
    db = get_db()
    try:
        if db.engine.dialect.name == "postgresql":
            size = backup_postgresql(db, path)
            click.echo(
                f"Backed up {_safe_url(current_app)} to {path} with pg_dump"
                f" ({size} bytes, custom format: restore with pg_restore)."
            )
            return
        pages = backup_sqlite(db, path)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"Backed up {pages} pages to {path} (integrity check: ok).")


def _safe_url(app: Flask) -> str:
    return make_url(app.config["DATABASE_URL"]).render_as_string(hide_password=True)
