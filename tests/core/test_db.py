"""The database layer on real SQLite files and the machine's PostgreSQL."""

from __future__ import annotations

import os
import sqlite3
import threading
import time
import warnings
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask import Flask

from feedback_app import create_app
from feedback_app.core.db import Database, alembic_config, get_db, upgrade
from feedback_app.core.models import Base, Feedback
from feedback_app.site.index import Article
from feedback_app.store.feedback import find_by_token, submit_feedback

ARTICLE = Article(slug="a", title="A", url="/a/", authors=("Maya",))


def schema_diff(connection: sa.Connection) -> list[object]:
    """What differs between the database's schema and the models.

    SQLite's reflection cannot read indexes of an expression (the addresses
    in lower case), so Alembic skips them, with a warning, when it compares;
    there they are compared here instead, by the SQL SQLite stored.
    """
    if connection.dialect.name != "sqlite":
        return compare_metadata(MigrationContext.configure(connection), Base.metadata)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "Skipped unsupported reflection")
        warnings.filterwarnings("ignore", "autogenerate skipping metadata-specified")
        diff = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    stored = dict(
        connection.execute(
            sa.text("SELECT name, sql FROM sqlite_master WHERE type = 'index'")
        ).all()
    )
    for table in Base.metadata.tables.values():
        for index in table.indexes:
            if all(isinstance(e, sa.Column) for e in index.expressions):
                continue
            (expression,) = index.expressions
            wanted = str(expression.compile(dialect=connection.dialect))
            found = (stored.get(index.name) or "").replace(f"{table.name}.", "")
            if wanted.replace(f"{table.name}.", "") not in found:
                diff.append(("expression index", index.name, wanted, found))
    return diff


@pytest.mark.sqlite
def test_sqlite_runs_in_wal_mode_with_foreign_keys(app: Flask) -> None:
    with get_db(app).read() as session:
        assert session.execute(sa.text("PRAGMA journal_mode")).scalar() == "wal"
        assert session.execute(sa.text("PRAGMA foreign_keys")).scalar() == 1
        assert session.execute(sa.text("PRAGMA busy_timeout")).scalar() == 5000


def test_write_transactions_take_the_lock_before_their_first_statement(
    tmp_path: Path,
) -> None:
    db = Database(f"sqlite:///{tmp_path / 'x.sqlite3'}")
    Base.metadata.create_all(db.engine)
    other = sqlite3.connect(tmp_path / "x.sqlite3", timeout=0.05)
    with db.write() as session:
        session.execute(sa.text("SELECT 1"))  # a read only, yet the lock is held
        with pytest.raises(sqlite3.OperationalError, match="locked"):
            other.execute("BEGIN IMMEDIATE")
    other.execute("BEGIN IMMEDIATE")  # released at commit
    other.rollback()
    with db.read() as session:
        session.execute(sa.text("SELECT 1"))
        other.execute("BEGIN IMMEDIATE")  # readers do not block writers
        other.rollback()
    other.close()
    db.dispose()


def test_concurrent_read_then_write_transactions_all_succeed(tmp_path: Path) -> None:
    """Threads that read, then write, never see "database is locked"."""
    url = f"sqlite:///{tmp_path / 'c.sqlite3'}"
    Base.metadata.create_all(Database(url).engine)
    errors: list[BaseException] = []
    tokens: list[str] = []

    def writer() -> None:
        db = Database(url, busy_timeout=10)  # its own pool, like a worker process
        try:
            for _ in range(20):
                with db.write() as session:
                    session.scalar(sa.select(sa.func.count(Feedback.id)))
                    _, token = submit_feedback(
                        session, ARTICLE, message="m", secret="k"
                    )
                    tokens.append(token)
        except BaseException as exc:
            errors.append(exc)
        finally:
            db.dispose()

    threads = [threading.Thread(target=writer) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    db = Database(url)
    with db.read() as session:
        assert session.scalar(sa.select(sa.func.count(Feedback.id))) == 160
    db.dispose()


def test_a_failed_write_transaction_stores_nothing(app: Flask) -> None:
    db = get_db(app)
    with pytest.raises(RuntimeError), db.write() as session:
        submit_feedback(session, ARTICLE, message="lost on purpose", secret="k")
        raise RuntimeError
    with db.read() as session:
        assert session.scalar(sa.select(sa.func.count(Feedback.id))) == 0


def test_migrations_match_the_models(app: Flask) -> None:
    with get_db(app).engine.connect() as connection:
        diff = schema_diff(connection)
    assert diff == []


BEFORE_DESK = "45847851965c"


def _desk_migration_round_trip(url: str) -> None:
    """Feedback stored before the desk survives its migration, and back."""
    app = create_app({"DATABASE_URL": url, "SECRET_KEY": "k"})
    db = get_db(app)
    upgrade(app, BEFORE_DESK)
    with db.engine.begin() as connection:
        connection.execute(
            sa.text(
                "INSERT INTO feedback (article_slug, article_title, article_url, "
                "message, may_quote, state, reply_token_hash, created_at) VALUES "
                "('a', 'A', '/a/', 'old', false, 'new', 'h', CURRENT_TIMESTAMP)"
            )
        )
        connection.execute(
            sa.text(
                "INSERT INTO author (name, email, notify, created_at) VALUES "
                "('Maya', 'maya@example.org', 'immediate', CURRENT_TIMESTAMP)"
            )
        )
    upgrade(app)
    with db.engine.begin() as connection:
        # Existing authors become plain authors, without a password.
        row = connection.execute(sa.text("SELECT role, password_hash FROM author"))
        assert row.one() == ("author", None)
        connection.execute(sa.text("UPDATE feedback SET state = 'answered'"))
    with pytest.raises(sa.exc.IntegrityError), db.engine.begin() as connection:
        connection.execute(sa.text("UPDATE feedback SET state = 'bogus'"))
    with pytest.raises(sa.exc.IntegrityError), db.engine.begin() as connection:
        connection.execute(sa.text("UPDATE author SET role = 'admin'"))

    command.downgrade(alembic_config(db), BEFORE_DESK)
    with db.engine.begin() as connection:
        # The old schema knows only new and spam: answered feedback is new.
        state = connection.execute(sa.text("SELECT state, message FROM feedback"))
        assert state.one() == ("new", "old")
    upgrade(app)
    with db.engine.connect() as connection:
        diff = schema_diff(connection)
    assert diff == []
    db.dispose()


def test_desk_migration_keeps_data_both_ways_on_sqlite(tmp_path: Path) -> None:
    _desk_migration_round_trip(f"sqlite:///{tmp_path / 'm.sqlite3'}")


def test_db_upgrade_command_creates_the_schema(tmp_path: Path) -> None:
    app = create_app(
        {"DATABASE_URL": f"sqlite:///{tmp_path / 'new.sqlite3'}", "SECRET_KEY": "k"}
    )
    result = app.test_cli_runner().invoke(args=["db", "upgrade"])
    assert result.exit_code == 0, result.output
    assert "Database at head" in result.output
    with get_db(app).read() as session:
        tables = set(sa.inspect(session.connection()).get_table_names())
    assert {"feedback", "feedback_message", "alembic_version"} <= tables
    get_db(app).dispose()


# --- PostgreSQL: nothing here may assume SQLite ----------------------------


@pytest.mark.postgres
def test_migrations_and_feedback_on_postgresql(postgres_url: str) -> None:
    app = create_app({"DATABASE_URL": postgres_url, "SECRET_KEY": "k"})
    upgrade(app)
    db = get_db(app)
    with db.engine.connect() as connection:
        diff = schema_diff(connection)
    assert diff == []
    with db.write() as session:
        _, token = submit_feedback(
            session, ARTICLE, message="über ✓", email=None, secret="k"
        )
    with db.read() as session:
        feedback = find_by_token(session, token)
        assert feedback is not None
        assert feedback.message == "über ✓"
        assert feedback.created_at.tzinfo is not None
    db.dispose()


@pytest.mark.postgres
def test_desk_migration_keeps_data_both_ways_on_postgresql(postgres_url: str) -> None:
    _desk_migration_round_trip(postgres_url)


def test_health_is_ok_only_at_the_schema_the_code_expects(
    tmp_path: Path, database_url: str
) -> None:
    from alembic.script import ScriptDirectory

    from feedback_app.core.db import alembic_config
    from feedback_app.health import expected_revision

    app = create_app({"DATABASE_URL": database_url, "SECRET_KEY": "k"})
    app.instance_path = str(tmp_path)
    head = ScriptDirectory.from_config(alembic_config(get_db(app))).get_current_head()
    assert expected_revision() == head  # read from the files, without Alembic
    client = app.test_client()
    upgrade(app)
    ok = client.get("/health")
    assert ok.status_code == 200
    assert ok.json == {
        "status": "ok",
        "database": "ok",
        "outbox": {"waiting": 0, "oldest_waiting": None, "failed": 0},
        "moderation_queue": 0,
        "last_publish": None,
    }
    assert ok.headers["Cache-Control"] == "no-store"
    behind_by_one = "a005bb5a600b"
    command.downgrade(alembic_config(get_db(app)), behind_by_one)
    behind = client.get("/health")
    assert behind.status_code == 503
    assert behind.json == {
        "status": "unavailable",
        "database": f"schema at {behind_by_one}, code expects {head}",
        "last_publish": None,
    }
    upgrade(app)  # leave it at head for whatever runs next
    get_db(app).dispose()


def _backend_pid(db: Database) -> int:
    with db.read() as session:
        return int(session.execute(sa.text("SELECT pg_backend_pid()")).scalar_one())


def _end_backend(postgres_url: str, pid: int) -> None:
    """End one server process, as a restart or an idle timeout does; wait
    until it is gone."""
    admin = sa.create_engine(postgres_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        for _ in range(200):
            alive = connection.execute(
                sa.text("SELECT count(*) FROM pg_stat_activity WHERE pid = :pid"),
                {"pid": pid},
            ).scalar_one()
            if not alive:
                break
            time.sleep(0.01)
        else:
            pytest.fail(f"backend {pid} did not end")
    admin.dispose()


@pytest.mark.postgres
def test_a_connection_the_server_closed_is_replaced_at_checkout(
    postgres_url: str,
) -> None:
    """The pooled connection's server process ends; the next transaction gets
    a new connection instead of failing (without a round trip per checkout)."""
    db = Database(postgres_url)
    first = _backend_pid(db)
    _end_backend(postgres_url, first)
    second = _backend_pid(db)  # no OperationalError
    assert second != first
    with db.write() as session:  # and writing works on it
        session.execute(sa.text("CREATE TABLE t (x int)"))
    db.dispose()

    # The same with SQLAlchemy's defaults (no check at checkout) fails: the
    # check above is what keeps that request alive.
    plain = sa.create_engine(postgres_url)
    with plain.connect() as connection:
        pid = connection.execute(sa.text("SELECT pg_backend_pid()")).scalar_one()
    _end_backend(postgres_url, pid)
    with pytest.raises(sa.exc.OperationalError), plain.connect() as connection:
        connection.execute(sa.text("SELECT 1"))
    plain.dispose()


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_a_forked_child_opens_connections_of_its_own(
    tmp_path: Path, backend: str, request: pytest.FixtureRequest
) -> None:
    """gunicorn forks workers from a preloaded app: a connection the parent
    pooled must not be used by a child as well."""
    url = (
        request.getfixturevalue("postgres_url")
        if backend == "postgresql"
        else f"sqlite:///{tmp_path / 'fork.sqlite3'}"
    )
    db = Database(url)
    engines = [db.engine]
    try:
        for engine in engines:
            with engine.connect() as connection:
                connection.execute(sa.text("SELECT 1"))
        assert [e.pool.checkedin() for e in engines] == [1] * len(engines)
        read_end, write_end = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child: report, then leave at once
            try:
                pooled = [e.pool.checkedin() for e in engines]
                os.write(write_end, repr(pooled).encode())
            finally:
                os._exit(0)
        os.close(write_end)
        reported = os.read(read_end, 100).decode()
        os.close(read_end)
        os.waitpid(pid, 0)
        assert reported == repr([0] * len(engines))
        # The parent's own connections are untouched, and still work.
        assert [e.pool.checkedin() for e in engines] == [1] * len(engines)
        with db.engine.connect() as connection:
            assert connection.scalar(sa.text("SELECT 1")) == 1
    finally:
        db.dispose()


_COMMENT_COLUMNS = (
    "parent_id, article_slug, article_page_url, article_authors, depth, name,"
    " body, html, state, is_author, fingerprint, notify_replies, reply_notified,"
    " created_at, updated_at"
)
_COMMENT_VALUES = (
    ":parent, 's', 's/', '[]', 1, 'n', 'b', '<p>b</p>', 'approved', false, 'f',"
    " false, false, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP"
)
# Constants only: no value is put into the text.
_INSERT_COMMENT = sa.text(
    f"INSERT INTO comment ({_COMMENT_COLUMNS})"  # noqa: S608
    f" VALUES ({_COMMENT_VALUES}) RETURNING id"
)
_INSERT_COMMENT_WITH_ID = sa.text(
    f"INSERT INTO comment (id, {_COMMENT_COLUMNS})"  # noqa: S608
    f" VALUES (:id, {_COMMENT_VALUES}) RETURNING id"
)


def _insert_comment(
    connection: sa.Connection, cid: int | None, parent: int | None
) -> int:
    """Insert a published comment with SQL (as any version's schema takes
    it), with the id ``cid`` or the next one the database gives."""
    query = _INSERT_COMMENT_WITH_ID if cid else _INSERT_COMMENT
    return connection.execute(query, {"id": cid, "parent": parent}).scalar_one()


def test_a_comment_id_is_never_given_twice(app: Flask) -> None:
    """Deleting the newest comment does not free its id: #comment-N links,
    feed ids and comment files go on naming that comment only."""
    with get_db(app).engine.begin() as connection:
        first = _insert_comment(connection, None, None)
        newest = _insert_comment(connection, None, None)
        connection.execute(sa.text("DELETE FROM comment WHERE id = :i"), {"i": newest})
        assert _insert_comment(connection, None, None) > newest > first


BEFORE_IDS_KEPT = "3e9a1c5b7d20"


def test_migrations_keep_threads_conversations_and_links_on_sqlite(
    tmp_path: Path,
) -> None:
    app = create_app(
        {"DATABASE_URL": f"sqlite:///{tmp_path / 'i.sqlite3'}", "SECRET_KEY": "k"}
    )
    db = get_db(app)
    upgrade(app, BEFORE_IDS_KEPT)
    with db.engine.begin() as connection:
        for cid, parent in [(1, None), (2, 1), (3, 2), (4, None)]:
            _insert_comment(connection, cid, parent)
        connection.execute(
            sa.text(
                "INSERT INTO feedback (article_slug, article_title, article_url,"
                " article_page_url, article_authors, message, may_quote, state,"
                " reply_token_hash, created_at, updated_at) VALUES ('a', 'A',"
                " '/a/', 'a/', '[]', 'Hello', false, 'answered', 'h',"
                " CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
            )
        )
        connection.execute(
            sa.text(
                "INSERT INTO feedback_message (feedback_id, sender, body, via,"
                " created_at) VALUES (1, 'author', 'Thanks', 'page',"
                " CURRENT_TIMESTAMP)"
            )
        )
        connection.execute(
            sa.text(
                "INSERT INTO inbound_message (message_id, received_via, sender,"
                " recipient, subject, body, kind, state, comment_id, feedback_id,"
                " received_at) VALUES ('m', 'imap', 'a', 'b', 's', 'b', 'reply',"
                " 'applied', 3, 1, CURRENT_TIMESTAMP)"
            )
        )
    upgrade(app)
    with db.engine.begin() as connection:
        parents = connection.execute(
            sa.text("SELECT id, parent_id FROM comment ORDER BY id")
        ).all()
        assert parents == [(1, None), (2, 1), (3, 2), (4, None)]
        # Every migration since (a batch copies a table) keeps what points
        # at the tables it copies: the conversation, the mail's links.
        links = sa.text("SELECT comment_id, feedback_id FROM inbound_message")
        assert connection.execute(links).one() == (3, 1)
        body = sa.text("SELECT body FROM feedback_message")
        assert connection.execute(body).scalar_one() == "Thanks"
        assert connection.execute(sa.text("PRAGMA foreign_keys")).scalar_one() == 1
        assert connection.execute(sa.text("PRAGMA foreign_key_check")).all() == []
        connection.execute(sa.text("DELETE FROM comment WHERE id = 4"))
        assert _insert_comment(connection, None, None) == 5
        diff = schema_diff(connection)
    assert diff == []
    db.dispose()
