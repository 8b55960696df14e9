"""The app under load and under `kill -9`, driven over HTTP from outside.

gunicorn runs the real app on a real SQLite file; clients post comments with
idempotency keys, as the article page's script does. Afterwards the database
is checked directly: integrity, every acknowledged post stored, no post
stored twice.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest

from ..conftest import ARTICLE
from ..readers.test_limits import NoRedirect, start_gunicorn

pytestmark = pytest.mark.slow
NO_LIMITS = {"POST_LIMIT_PER_ADDRESS": 0, "POST_LIMIT_PER_ARTICLE": 0}


OPENER = urllib.request.build_opener(NoRedirect)


def post(url: str, key: str, n: int) -> int | None:
    """Post comment ``n`` under idempotency ``key``; its status, or None."""
    data = urllib.parse.urlencode(
        {
            "article": ARTICLE,
            "name": f"Reader {n}",
            "body": f"Comment {n}",
            "submission_key": key,
        }
    ).encode()
    request = urllib.request.Request(
        f"{url}/comments", data=data, headers={"Origin": url}
    )
    try:
        with OPENER.open(request, timeout=30) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code
    except OSError:
        return None  # the server went away: not acknowledged


def clients(
    n: int, work: Callable[[int, threading.Event], None], seconds: float
) -> None:
    """Run ``n`` clients until they finish or ``seconds`` have passed."""
    stop = threading.Event()
    threads = [threading.Thread(target=work, args=(i, stop)) for i in range(n)]
    for t in threads:
        t.start()
    deadline = time.monotonic() + seconds
    for t in threads:
        t.join(max(0.0, deadline - time.monotonic()))
    stop.set()
    for t in threads:
        t.join()


def stored(database: Path) -> list[tuple[str, str]]:
    connection = sqlite3.connect(database)
    try:
        assert connection.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        return connection.execute("SELECT submission_key, body FROM comment").fetchall()
    finally:
        connection.close()


def test_four_workers_sixteen_clients_no_error_and_one_row_per_post(
    built_site: Path, tmp_path: Path
) -> None:
    database = tmp_path / "feedback.sqlite3"
    proc, url = start_gunicorn(
        built_site, tmp_path, f"sqlite:///{database}", **NO_LIMITS
    )
    answers: list[int | None] = []
    accepted: list[str] = []
    lock = threading.Lock()

    def work(i: int, stop: threading.Event) -> None:
        n = 0
        while not stop.is_set() and n < 40:
            key = str(uuid.uuid4())
            status = post(url, key, i * 1000 + n)
            with lock:
                answers.append(status)
                if status == 303:
                    accepted.append(key)
            n += 1

    try:
        clients(16, work, seconds=60)
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(15)
    assert len(answers) >= 300
    assert set(answers) == {303}  # no 5xx, no "database is locked"
    rows = stored(database)
    assert sorted(k for k, _ in rows) == sorted(accepted)


def test_kill_9_during_writes_loses_nothing_acknowledged(
    built_site: Path, tmp_path: Path
) -> None:
    """20 times: a burst of posts, then SIGKILL to the server and its workers.
    Every acknowledged post survives; retrying every key stores each once."""
    database = tmp_path / "feedback.sqlite3"
    url_db = f"sqlite:///{database}"
    sent: dict[str, int] = {}
    acknowledged: set[str] = set()
    lock = threading.Lock()
    counter = iter(range(1_000_000))

    for trial in range(20):
        proc, url = start_gunicorn(
            built_site, tmp_path, url_db, workers=2, migrate=trial == 0, **NO_LIMITS
        )

        def work(i: int, stop: threading.Event, url: str = url) -> None:
            while not stop.is_set():
                key, n = str(uuid.uuid4()), next(counter)
                with lock:
                    sent[key] = n
                status = post(url, key, n)
                if status is None:
                    return  # the server is gone: this client waits to retry
                if status == 303:
                    with lock:
                        acknowledged.add(key)

        killer = threading.Timer(0.4, os.killpg, args=(proc.pid, signal.SIGKILL))
        killer.start()
        clients(4, work, seconds=0.6)
        killer.join()
        proc.wait(10)
        keys = {k for k, _ in stored(database)}
        assert acknowledged <= keys

    assert acknowledged, "no post was acknowledged before the kills"
    # The clients retry what was never acknowledged (some of it was stored:
    # the kill came between the commit and the answer), and some of what
    # was: nothing is stored twice.
    retried = [k for k in sent if k not in acknowledged]
    retried += sorted(acknowledged)[:100]
    proc, url = start_gunicorn(
        built_site, tmp_path, url_db, workers=2, migrate=False, **NO_LIMITS
    )
    try:
        for key in retried:
            assert post(url, key, sent[key]) == 303
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(15)
    rows = stored(database)
    assert len(rows) == len(sent)  # every post once: the retried, the rest
    assert {k for k, _ in rows} == set(sent)
