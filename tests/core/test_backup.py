"""`flask backup PATH`: a consistent copy of the live SQLite database, and
the daily backup unit that runs it (PostgreSQL: test_backup_postgresql.py)."""

from __future__ import annotations

import os
import re
import shutil
import sqlite3
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask

from feedback_app import create_app
from feedback_app.core.db import get_db, upgrade
from feedback_app.core.models import Feedback
from feedback_app.store.feedback import add_follow_up, submit_feedback

from ..conftest import ARTICLE

# Online backups and file faults are SQLite's own.
pytestmark = pytest.mark.sqlite


def keep_writing(app: Flask, stop: threading.Event, written: list[int]) -> None:
    """Store feedback with a follow-up, in one transaction each, until stopped."""
    article = app.extensions["site_index"].article(ARTICLE)
    n = 0
    while not stop.is_set():
        with get_db(app).write() as session:
            feedback, _ = submit_feedback(
                session, article, message=f"Message {n}", secret=app.secret_key
            )
            add_follow_up(session, feedback, f"Follow-up {n}")
        written.append(n)
        n += 1


def test_backup_while_posts_arrive_is_whole_and_consistent(
    app: Flask, tmp_path: Path
) -> None:
    stop, written = threading.Event(), []
    writer = threading.Thread(target=keep_writing, args=(app, stop, written))
    writer.start()
    try:
        while len(written) < 20:
            assert writer.is_alive(), "the writer stopped: see its exception"
            time.sleep(0.01)
        copies = []
        for i in range(3):
            target = tmp_path / "backups" / f"copy-{i}.sqlite3"
            result = app.test_cli_runner().invoke(args=["backup", str(target)])
            assert result.exit_code == 0, result.output
            assert "integrity check: ok" in result.output
            copies.append(target)
    finally:
        stop.set()
        writer.join()
    assert not list((tmp_path / "backups").glob(".*"))  # no partial file left
    counts = []
    for copy in copies:
        connection = sqlite3.connect(copy)
        assert connection.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        feedback = connection.execute("SELECT id, message FROM feedback").fetchall()
        messages = connection.execute(
            "SELECT feedback_id, body FROM feedback_message"
        ).fetchall()
        connection.close()
        # A snapshot: every transaction whole, the feedback with its follow-up.
        assert len(feedback) == len(messages) > 0
        assert {f"Follow-up {m.split()[1]}" for _, m in feedback} == {
            b for _, b in messages
        }
        counts.append(len(feedback))
    assert counts == sorted(counts)  # later copies hold at least as much
    assert counts[-1] <= len(written)


def test_a_restored_copy_serves_the_app(app: Flask, tmp_path: Path) -> None:
    article = app.extensions["site_index"].article(ARTICLE)
    with get_db(app).write() as session:
        submit_feedback(session, article, message="Kept safe.", secret=app.secret_key)
    copy = tmp_path / "restore" / "feedback.sqlite3"
    assert app.test_cli_runner().invoke(args=["backup", str(copy)]).exit_code == 0

    restored = create_app(
        {**app.config, "DATABASE_URL": f"sqlite:///{copy}", "TESTING": True}
    )
    upgrade(restored)  # already at the newest revision: nothing to do
    with get_db(restored).write() as session:
        submit_feedback(
            session,
            article,
            message="Written after the restore.",
            secret=app.secret_key,
        )
    with get_db(restored).read() as session:
        messages = session.scalars(sa.select(Feedback.message).order_by(Feedback.id))
        assert list(messages) == ["Kept safe.", "Written after the restore."]
    get_db(restored).dispose()


UNITS = Path(__file__).parents[2] / "deploy" / "systemd"


def daily_backup(database_url: str, folder: Path) -> Path:
    """Run blog-backup.service's command as systemd runs it (``%%`` read as
    ``%``), with the tests' venv, on ``database_url``, into ``folder``;
    return the copy it made, named by the weekday."""
    service = (UNITS / "blog-backup.service").read_text()
    (command,) = re.findall(r"^ExecStart=/bin/sh -c '(.+)'$", service, re.M)
    root = Path(__file__).parents[2]
    command = (
        command.replace("%%", "%")
        .replace(
            "/srv/blog/.venv/bin/flask", str(Path(sys.executable).with_name("flask"))
        )
        .replace("/var/backups/blog", str(folder))
    )
    env = dict(os.environ, FEEDBACK_DATABASE_URL=database_url)
    days = {time.strftime("%u")}
    subprocess.run(["/bin/sh", "-c", command], env=env, check=True, cwd=root)
    days.add(time.strftime("%u"))  # run across midnight: either day
    (copy,) = [p for d in days if (p := folder / f"feedback-{d}.backup").exists()]
    return copy


def test_a_backup_only_its_owner_may_read(app: Flask, tmp_path: Path) -> None:
    copy = tmp_path / "feedback.backup"
    umask = os.umask(0o022)  # as a root shell's: new files readable by all
    try:
        result = app.test_cli_runner().invoke(args=["backup", str(copy)])
    finally:
        os.umask(umask)
    assert result.exit_code == 0, result.output
    assert stat.S_IMODE(copy.stat().st_mode) == 0o600  # every reader's address


def test_the_daily_backup_units_make_the_days_copy(app: Flask, tmp_path: Path) -> None:
    """The day's copy of the SQLite database; systemd itself accepts both
    units."""
    copy = daily_backup(app.config["DATABASE_URL"], tmp_path)
    with sqlite3.connect(copy) as connection:
        assert connection.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    analyze = shutil.which("systemd-analyze")
    if analyze:
        for unit in ("blog-backup.service", "blog-backup.timer"):
            checked = subprocess.run(
                [analyze, "verify", str(UNITS / unit)], capture_output=True, text=True
            )
            assert checked.returncode == 0, checked.stderr
