"""The database: one engine per app, short sessions, migrations.

SQLite is the embedded default. Under several gunicorn workers a transaction
that reads and then writes fails with "database is locked" unless it takes
the write lock up front, so every write transaction here begins with
``BEGIN IMMEDIATE`` (SQLAlchemy's documented recipe: pysqlite's own
transaction handling off, ``BEGIN`` emitted from the ``begin`` event). Reads
stay deferred, so WAL readers never wait for a writer. Nothing below is
SQLite-only SQL: other databases get the plain engine.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click
from alembic import command
from alembic.config import Config as AlembicConfig
from flask import Flask, current_app
from flask.cli import AppGroup
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

MIGRATIONS = Path(__file__).parent / "migrations"


def make_engine(url: str, busy_timeout: float = 5.0) -> Engine:
    """Create an engine for ``url``, tuned for concurrent writers on SQLite."""
    if make_url(url).get_backend_name() != "sqlite":
        return create_engine(url, pool_pre_ping=True)

    database = make_url(url).database
    if database and database != ":memory:":
        Path(database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, connect_args={"timeout": busy_timeout})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we emit BEGIN ourselves
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout * 1000)}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        immediate = connection.get_execution_options().get("write", False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


class Database:
    """The app's engine and its two kinds of session."""

    def __init__(self, url: str, busy_timeout: float = 5.0) -> None:
        self.engine = make_engine(url, busy_timeout)
        self._reading = sessionmaker(self.engine, expire_on_commit=False)
        self._writing = sessionmaker(
            self.engine.execution_options(write=True), expire_on_commit=False
        )

    @contextmanager
    def read(self) -> Iterator[Session]:
        """Yield a session for reading; nothing it does is committed."""
        with self._reading() as session:
            yield session

    @contextmanager
    def write(self) -> Iterator[Session]:
        """Yield a session in a write transaction, committed on success."""
        with self._writing.begin() as session:
            yield session

    def dispose(self) -> None:
        """Close every pooled connection."""
        self.engine.dispose()


def get_db(app: Flask | None = None) -> Database:
    """Return the Database of ``app`` (default: the current app)."""
    return (app or current_app).extensions["feedback_db"]


def alembic_config(db: Database) -> AlembicConfig:
    """Return an Alembic configuration bound to ``db``'s engine."""
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["engine"] = db.engine
    return cfg


def upgrade(app: Flask, revision: str = "head") -> None:
    """Migrate the app's database to ``revision``."""
    command.upgrade(alembic_config(get_db(app)), revision)


def init_app(app: Flask) -> None:
    """Create the app's Database and register the ``db`` commands."""
    app.extensions["feedback_db"] = Database(
        app.config["DATABASE_URL"], app.config["SQLITE_BUSY_TIMEOUT"]
    )
    app.cli.add_command(db_cli)


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
    command.current(alembic_config(get_db()))


def _safe_url(app: Flask) -> str:
    return make_url(app.config["DATABASE_URL"]).render_as_string(hide_password=True)
