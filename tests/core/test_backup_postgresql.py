"""`flask backup PATH` on PostgreSQL: the real ``pg_dump`` writes an archive
that the real ``pg_restore`` brings back, row for row, into a new database;
the daily backup unit does the same unchanged; a failing or missing
``pg_dump`` says so and leaves the last backup alone.
"""

from __future__ import annotations

import os
import stat
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask
from sqlalchemy.engine import make_url

from feedback_app import create_app
from feedback_app.core.db import get_db, libpq_connection, upgrade

from ..conftest import POSTGRES_ADMIN_URL, Commenter, Desk
from .test_backup import daily_backup
from .test_db_copy import every_row, fill_every_table


@pytest.fixture
def empty_database() -> Iterator[str]:
    """A second new, empty PostgreSQL database (``postgres_url`` is the
    first), dropped afterwards."""
    admin = sa.create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    name = f"feedback_restore_{uuid.uuid4().hex[:12]}"
    with admin.connect() as connection:
        connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    yield admin.url.set(database=name).render_as_string(hide_password=False)
    with admin.connect() as connection:
        connection.exec_driver_sql(f'DROP DATABASE "{name}" WITH (FORCE)')
    admin.dispose()


def on_postgresql(app: Flask, request: pytest.FixtureRequest) -> Flask:
    """The app itself when the suite runs on PostgreSQL; else a copy of its
    database on a new PostgreSQL database (``db copy``, as the guide moves a
    site), and an app on that."""
    if get_db(app).engine.dialect.name == "postgresql":
        return app
    url = request.getfixturevalue("postgres_url")
    copied = app.test_cli_runner().invoke(args=["db", "copy", "--to", url])
    assert copied.exit_code == 0, copied.output
    return create_app({**app.config, "DATABASE_URL": url})


@pytest.mark.postgres
def test_a_pg_dump_backup_restores_every_row(
    app: Flask,
    desk: Desk,
    empty_database: str,
    tmp_path: Path,
    request: pytest.FixtureRequest,
) -> None:
    fill_every_table(app, desk)
    source = on_postgresql(app, request)
    before = every_row(source.config["DATABASE_URL"])
    assert all(before.values()), [t for t, rows in before.items() if not rows]
    target = tmp_path / "backups" / "feedback-1.backup"
    target.parent.mkdir()
    target.write_text("last week's")  # replaced whole

    umask = os.umask(0o022)  # as a root shell's: new files readable by all
    try:
        result = source.test_cli_runner().invoke(args=["backup", str(target)])
    finally:
        os.umask(umask)

    assert result.exit_code == 0, result.output
    assert "with pg_dump" in result.output
    assert stat.S_IMODE(target.stat().st_mode) == 0o600  # every reader's address
    assert target.read_bytes().startswith(b"PGDMP")  # pg_dump's custom format
    assert not list(target.parent.glob(".*"))  # no partial file left
    # The guide's restore: pg_restore into an empty database.
    into = make_url(empty_database)
    connection = ["-h", str(into.host), "-p", str(into.port), "-U", str(into.username)]
    command = ["pg_restore", "--no-owner", "--exit-on-error", *connection]
    restored = subprocess.run(
        [*command, "-d", str(into.database), str(target)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert restored.returncode == 0, restored.stderr
    assert every_row(empty_database) == before

    # The restored database serves the site, and its id sequences came
    # along: the next comment's id is past every id given (a deleted one's).
    again = create_app({**app.config, "DATABASE_URL": empty_database})
    later = Commenter(again.test_client()).post_ok(body="After the restore.")
    assert later.id > max(c["id"] for c in before["comment"]) + 1
    get_db(again).dispose()
    if source is not app:
        get_db(source).dispose()


@pytest.mark.postgres
def test_the_daily_backup_unit_dumps_postgresql(
    postgres_url: str, tmp_path: Path
) -> None:
    migrated = create_app({"DATABASE_URL": postgres_url, "SECRET_KEY": "k"})
    upgrade(migrated)
    get_db(migrated).dispose()
    copy = daily_backup(postgres_url, tmp_path)
    listed = subprocess.run(
        ["pg_restore", "--list", str(copy)], capture_output=True, text=True
    )
    assert listed.returncode == 0, listed.stderr
    assert "TABLE public comment " in listed.stdout


def test_a_failing_pg_dump_says_why_and_keeps_the_last_backup(tmp_path: Path) -> None:
    app = create_app(
        {
            "DATABASE_URL": "postgresql+psycopg://nobody:s3cret@127.0.0.1:1/x",
            "SECRET_KEY": "k",
        }
    )
    target = tmp_path / "feedback.backup"
    target.write_text("the last good one")

    result = app.test_cli_runner().invoke(args=["backup", str(target)])

    assert result.exit_code == 1
    assert "pg_dump failed" in result.output
    assert "port 1 failed" in result.output  # pg_dump's own words
    assert "s3cret" not in result.output
    assert target.read_text() == "the last good one"
    assert list(tmp_path.iterdir()) == [target]


def test_without_pg_dump_the_backup_says_what_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # a folder without pg_dump
    app = create_app(
        {"DATABASE_URL": "postgresql+psycopg://blog@/blog", "SECRET_KEY": "k"}
    )
    result = app.test_cli_runner().invoke(args=["backup", str(tmp_path / "x")])
    assert result.exit_code == 1
    assert "pg_dump is not installed: apt install postgresql-client" in result.output
    assert not (tmp_path / "x").exists()


def test_the_password_goes_in_the_environment_not_on_the_command_line() -> None:
    url = make_url(
        "postgresql+psycopg://blog:it's%20s3cret@db-host:5433/blog?sslmode=require"
    )
    assert libpq_connection(url) == (
        "host='db-host' port='5433' user='blog' dbname='blog' sslmode='require'",
        {"PGPASSWORD": "it's s3cret"},
    )
    local = make_url("postgresql+psycopg://blog@/blog?host=/run/postgresql")
    assert libpq_connection(local) == (
        "host='/run/postgresql' user='blog' dbname='blog'",
        {},
    )
    quoted = make_url(r"postgresql+psycopg://o%27neil@/a%5Cb")
    assert libpq_connection(quoted) == (r"user='o\'neil' dbname='a\\b'", {})
