"""The database: one engine per app, short sessions, migrations, backups.

SQLite is the embedded default. Under several gunicorn workers a transaction
that reads and then writes fails with "database is locked" unless it takes
the write lock up front, so every write transaction here begins with
``BEGIN IMMEDIATE`` (SQLAlchemy's documented recipe: pysqlite's own
transaction handling off, ``BEGIN`` emitted from the ``begin`` event). Reads
stay deferred, so WAL readers never wait for a writer.

A writer that finds the database busy waits in SQLite's busy handler
(``SQLITE_BUSY_TIMEOUT``), which retries with growing sleeps.

Nothing below is SQLite-only SQL: other databases get the plain engine. On
PostgreSQL each connection plans every statement for the tables as they are
(``_custom_plans``: the one database tactic kept, bench/README.md).
"""

from __future__ import annotations

import os
import select
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from flask import Flask, current_app
from sqlalchemy import (
    Engine,
    create_engine,
    event,
)
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.orm import (
    Session,
    sessionmaker,
)

if TYPE_CHECKING:
    from alembic.config import Config as AlembicConfig

MIGRATIONS = Path(__file__).parents[1] / "migrations"


def make_engine(
    url: str,
    busy_timeout: float = 5.0,
    synchronous: str = "FULL",
) -> Engine:
    """Create an engine for ``url``, tuned for concurrent writers on SQLite."""
    if make_url(url).get_backend_name() != "sqlite":
        # Errors name no reader: statement parameters stay out of messages.
        if make_url(url).get_backend_name() != "postgresql":
            return create_engine(url, pool_pre_ping=True, hide_parameters=True)
        engine = create_engine(url, hide_parameters=True, pool_recycle=3600)
        event.listen(engine, "checkout", _drop_if_closed)
        event.listen(engine, "connect", _custom_plans)
        return engine

    database = _sqlite_file(make_url(url).database)
    if database:
        Path(database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(
        url, connect_args={"timeout": busy_timeout}, hide_parameters=True
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we emit BEGIN ourselves
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout * 1000)}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA synchronous={synchronous}")
        cursor.close()
        # SQLite's lower() changes only A-Z; PostgreSQL's, every letter.
        # Searches without case ("Åsa" for "åsa") need the latter.
        dbapi_connection.create_function("lower", 1, _lower, deterministic=True)

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        immediate = connection.get_execution_options().get("write", False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


def _custom_plans(dbapi_connection: Any, _record: Any) -> None:
    """Plan every statement for its own parameters, at the tables' size now.

    psycopg prepares a statement once a connection has run it five times;
    five runs later PostgreSQL may settle on one generic plan for it,
    costed at the tables' size of that moment, and keep it until the next
    ANALYZE (the PREPARE reference page, "Notes"). On a new site, or for the
    rate limits' events, which come and go, that moment is an empty table:
    the duplicate check and the limits' count kept scanning the whole table
    on every post, and PostgreSQL's time per comment grew with the number
    of comments. These statements take microseconds to plan; a wrong plan
    costs more: without this, comments on PostgreSQL were 1.36x slower in
    the same run (bench/README.md, "Database tactics").
    """
    autocommit = dbapi_connection.autocommit
    dbapi_connection.autocommit = True  # a SET for the connection's life
    with dbapi_connection.cursor() as cursor:
        cursor.execute("SET plan_cache_mode = force_custom_plan")
    dbapi_connection.autocommit = autocommit


def _drop_if_closed(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
    """Refuse a pooled connection the server has closed (a restart, an idle
    timeout): the pool then opens a fresh one.

    SQLAlchemy's ``pool_pre_ping`` asks the server on every checkout, one
    round trip per request (a tenth of a worker's time under load, measured
    in bench/). An idle connection has nothing to read unless the server
    said goodbye, so asking the socket is enough for a server that restarts
    or drops idle connections; a connection lost without a word (a network
    cut) fails its next statement as before, and ``pool_recycle`` bounds
    how old one may get.
    """
    if dbapi_connection.closed:
        raise DisconnectionError("connection closed")
    readable, _, _ = select.select([dbapi_connection.fileno()], [], [], 0)
    if readable:
        raise DisconnectionError("the server closed the connection")


def _sqlite_file(database: str | None) -> str | None:
    """Return the file of a SQLite database name (a path or a ``file:`` URI)."""
    if not database or database == ":memory:":
        return None
    if database.startswith("file:"):  # sqlite:///file:/path?mode=ro&uri=true
        return database.removeprefix("file:").split("?", 1)[0] or None
    return database


def _lower(value: Any) -> Any:
    return value.lower() if isinstance(value, str) else value


class Database:
    """The app's engine and its two kinds of session."""

    def __init__(
        self, url: str, busy_timeout: float = 5.0, synchronous: str = "FULL"
    ) -> None:
        if synchronous.upper() not in SYNCHRONOUS:
            raise ValueError(f"SQLITE_SYNCHRONOUS must be one of {SYNCHRONOUS}")
        self.engine = make_engine(url, busy_timeout, synchronous.upper())
        _DATABASES.add(self)
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


SYNCHRONOUS = ("OFF", "NORMAL", "FULL", "EXTRA")

#: Every Database of this process, for ``_forget_inherited_connections`` and
#: ``dispose_all``.
_DATABASES: weakref.WeakSet[Database] = weakref.WeakSet()


def _forget_inherited_connections() -> None:
    """In a forked child (a gunicorn worker of a preloaded app), drop the
    pooled connections inherited from the parent without closing them: they
    are the parent's sockets and SQLite handles, and two processes using one
    would corrupt each other's conversations (SQLAlchemy's "Using Connection
    Pools with Multiprocessing"). The child opens its own on first use.
    """
    for db in list(_DATABASES):
        db.engine.dispose(close=False)


os.register_at_fork(after_in_child=_forget_inherited_connections)


def dispose_all() -> None:
    """Close every pooled connection of every Database of this process."""
    for db in list(_DATABASES):
        db.dispose()


def get_db(app: Flask | None = None) -> Database:
    """Return the Database of ``app`` (default: the current app)."""
    return (app or current_app).extensions["feedback_db"]


def alembic_config(db: Database) -> AlembicConfig:
    """Return an Alembic configuration bound to ``db``'s engine."""
    # Alembic is imported here, not at the top: workers never migrate, and
    # it costs every one of them memory.
    from alembic.config import Config as AlembicConfig

    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["engine"] = db.engine
    return cfg


def upgrade(app: Flask, revision: str = "head") -> None:
    """Migrate the app's database to ``revision``."""
    from alembic import command

    cfg = alembic_config(get_db(app))
    # Migrations that record what the site says of existing rows read it here.
    cfg.attributes["site_index_path"] = app.config["SITE_INDEX_PATH"]
    command.upgrade(cfg, revision)


def init_app(app: Flask) -> None:
    """Create the app's Database (its commands are in ``cli/database.py``)."""
    app.extensions["feedback_db"] = Database(
        app.config["DATABASE_URL"],
        app.config["SQLITE_BUSY_TIMEOUT"],
        app.config["SQLITE_SYNCHRONOUS"],
    )


def backup_sqlite(db: Database, target: Path) -> int:
    """Copy a live SQLite database to ``target``, consistently; return its pages.

    SQLite's online backup API copies one snapshot (a WAL reader's view)
    while writers go on; the copy is written beside ``target``, checked with
    ``PRAGMA integrity_check``, made durable and then renamed into place, so
    ``target`` is never a half-written file.

    :raise ValueError: if the database is not SQLite, or the copy is damaged.
    """
    if db.engine.dialect.name != "sqlite":
        raise ValueError(
            "Only SQLite and PostgreSQL are backed up by the app; back up "
            f"{db.engine.dialect.name} with its own tools."
        )
    import sqlite3

    target = target.resolve()
    partial = _private_partial(target)
    raw = db.engine.raw_connection()
    try:
        source = raw.driver_connection
        copy = sqlite3.connect(partial)
        try:
            source.backup(copy)  # every page in one step: one snapshot
            copy.execute("PRAGMA journal_mode=DELETE")  # one self-contained file
            check = copy.execute("PRAGMA integrity_check").fetchone()[0]
            pages = copy.execute("PRAGMA page_count").fetchone()[0]
        finally:
            copy.close()
    finally:
        raw.close()
    if check != "ok":
        partial.unlink(missing_ok=True)
        raise ValueError(f"The copy failed its integrity check: {check}")
    _put_in_place(partial, target)
    return int(pages)


def backup_postgresql(db: Database, target: Path) -> int:
    """Dump a PostgreSQL database to ``target`` with ``pg_dump``; return its size.

    ``pg_dump`` reads one snapshot while the site runs and writes its custom
    format, which ``pg_restore`` reads. The archive is written beside
    ``target``, made durable and then renamed into place, so ``target`` is
    never half an archive. The password goes to ``pg_dump`` in
    ``PGPASSWORD``, never on its command line, which every user of the
    machine can read. Like the SQLite copy, only its owner may read it.

    :raise ValueError: if ``pg_dump`` is missing or fails (with its words).
    """
    import shutil
    import subprocess  # nosec B404

    pg_dump = shutil.which("pg_dump")
    if pg_dump is None:
        raise ValueError(
            "pg_dump is not installed: apt install postgresql-client (the "
            "server's major version or newer)."
        )
    conninfo, password_env = libpq_connection(db.engine.url)
    target = target.resolve()
    partial = _private_partial(target)
    # No shell; the arguments are our own.
    dumped = subprocess.run(  # nosec B603
        [
            pg_dump,
            "--format=custom",
            "--no-password",  # fail, never wait for a password at a prompt
            f"--file={partial}",
            f"--dbname={conninfo}",
        ],
        env={**os.environ, **password_env},
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        check=False,
    )
    if dumped.returncode != 0:
        partial.unlink(missing_ok=True)
        words = dumped.stderr.strip() or dumped.stdout.strip()
        raise ValueError(f"pg_dump failed (exit {dumped.returncode}): {words}")
    _put_in_place(partial, target)
    return target.stat().st_size


def _private_partial(target: Path) -> Path:
    """A new, empty file beside ``target`` that only its owner may read,
    whatever the umask (a backup holds every reader's address), for a
    backup to be written into and then renamed over ``target``."""
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{target.name}.partial")
    partial.unlink(missing_ok=True)
    os.close(os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    return partial


def _put_in_place(partial: Path, target: Path) -> None:
    """Make the finished ``partial`` durable, then rename it over ``target``
    in one step."""
    fd = os.open(partial, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(partial, target)


def libpq_connection(url: URL) -> tuple[str, dict[str, str]]:
    """Return a PostgreSQL URL as a libpq connection string without its
    password, and the environment that gives the password (``PGPASSWORD``)
    to a client program such as ``pg_dump``."""
    params: dict[str, Any] = {
        "host": url.host,
        "port": url.port,
        "user": url.username,
        "dbname": url.database,
        **url.query,  # sslmode, a socket folder as host, ...
    }
    password = params.pop("password", None) or url.password
    conninfo = " ".join(
        f"{key}={_libpq_quoted(value)}"
        for key, value in params.items()
        if value not in (None, "")
    )
    return conninfo, ({"PGPASSWORD": str(password)} if password else {})


def _libpq_quoted(value: Any) -> str:
    """One value of a libpq connection string, quoted (several: a list)."""
    text = ",".join(value) if isinstance(value, tuple) else str(value)
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"
