"""Rate limits on readers' posts: exact, per address and per article.

The first tests go through the Flask test client; the last ones start the
app under gunicorn with 4 workers and post from 20 threads at once, on
SQLite and on the machine's PostgreSQL, and count the rows afterwards.
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from feedback_app.core.db import get_db
from feedback_app.core.models import Comment, Feedback, RateEvent, utcnow

from ..conftest import ARTICLE, ROOT, TOMAS_ARTICLE, Commenter, Reader, newest_comment

WINDOW = 60


def limit(app: Flask, per_address: int = 0, per_article: int = 0) -> None:
    app.config.update(
        POST_LIMIT_WINDOW=WINDOW,
        POST_LIMIT_PER_ADDRESS=per_address,
        POST_LIMIT_PER_ARTICLE=per_article,
    )


def count(app: Flask, model: type) -> int:
    with get_db(app).read() as session:
        return session.scalar(sa.select(sa.func.count()).select_from(model))


def from_address(client: FlaskClient, address: str) -> FlaskClient:
    client.environ_base["REMOTE_ADDR"] = address
    return client


def test_the_post_past_the_limit_gets_429_and_is_not_stored(
    app: Flask, commenter: Commenter
) -> None:
    limit(app, per_address=3)
    for i in range(3):
        assert commenter.post(body=f"Comment {i}").status_code == 303
    refused = commenter.post(body="One too many")
    assert refused.status_code == 429
    assert 1 <= int(refused.headers["Retry-After"]) <= WINDOW + 1
    assert "Please wait" in refused.text
    assert "<title>Too many at once — " in refused.text
    assert "Too Many Requests" not in refused.text
    assert count(app, Comment) == 3


def test_comments_and_feedback_share_the_address_limit(
    app: Flask, commenter: Commenter, reader: Reader
) -> None:
    limit(app, per_address=2)
    assert commenter.post(body="A comment").status_code == 303
    assert reader.send(message="Some feedback").status_code == 303
    assert reader.send(message="More feedback").status_code == 429
    assert commenter.post(body="Another comment").status_code == 429
    assert (count(app, Comment), count(app, Feedback)) == (1, 1)


def test_a_retry_of_a_stored_comment_is_not_refused(
    app: Flask, commenter: Commenter
) -> None:
    """A retry with the same idempotency key finds the stored comment, even
    when the address has used up its posts."""
    limit(app, per_address=1)
    key = "0f0e0d0c-0b0a-4908-8706-050403020100"
    first = commenter.post(body="Sent once", submission_key=key)
    again = commenter.post(body="Sent once", submission_key=key)
    assert first.status_code == again.status_code == 303
    # Both lead to the one comment (the links are signed with a timestamp,
    # so they differ when a second passes between the two posts).
    shown = [
        re.findall(r'id="comment-(\d+)"', commenter.client.get(r.location).text)
        for r in (first, again)
    ]
    assert shown[0] == shown[1] == [str(newest_comment(app).id)]
    assert commenter.post(body="Something new").status_code == 429
    assert count(app, Comment) == 1


def test_another_address_is_counted_apart(app: Flask) -> None:
    limit(app, per_address=1)
    first = Commenter(from_address(app.test_client(), "192.0.2.1"))
    second = Commenter(from_address(app.test_client(), "192.0.2.2"))
    assert first.post(body="One").status_code == 303
    assert first.post(body="Two").status_code == 429
    assert second.post(body="Three").status_code == 303


def test_the_article_limit_holds_for_every_address(app: Flask) -> None:
    limit(app, per_article=2)
    posts = [
        Commenter(from_address(app.test_client(), f"198.51.100.{i}")).post(
            body=f"From {i}"
        )
        for i in range(3)
    ]
    assert [p.status_code for p in posts] == [303, 303, 429]
    other = Commenter(from_address(app.test_client(), "198.51.100.9"))
    assert other.post(article=TOMAS_ARTICLE, body="Elsewhere").status_code == 303


def test_a_forwarded_for_header_from_an_untrusted_peer_changes_nothing(
    app: Flask,
) -> None:
    limit(app, per_address=1)
    client = app.test_client()
    spoofed = [
        Commenter(client).post(
            body=f"Spoof {i}", headers={"X-Forwarded-For": f"203.0.113.{i}"}
        )
        for i in range(2)
    ]
    assert [p.status_code for p in spoofed] == [303, 429]


def test_trusted_proxies_give_each_client_its_own_count(app: Flask) -> None:
    limit(app, per_address=1)
    app.config["TRUSTED_PROXIES"] = ["127.0.0.1", "10.0.0.0/8"]
    client = app.test_client()

    def post(chain: str, body: str) -> int:
        headers = {"X-Forwarded-For": chain}
        return Commenter(client).post(body=body, headers=headers).status_code

    assert post("203.0.113.7", "a") == 303
    assert post("203.0.113.7", "b") == 429
    # A client-chosen first hop is not believed: the proxies' last word is.
    assert post("198.51.100.1, 203.0.113.7", "c") == 429
    assert post("203.0.113.7, 10.1.2.3", "d") == 429  # through two proxies
    assert post("203.0.113.8", "e") == 303


def test_addresses_are_stored_only_as_keyed_hashes(
    app: Flask, commenter: Commenter
) -> None:
    limit(app, per_address=5, per_article=5)
    app.config["TRUSTED_PROXIES"] = ["127.0.0.1"]
    for i in range(2):
        commenter.post(body=f"Hi {i}", headers={"X-Forwarded-For": "203.0.113.77"})
    with get_db(app).read() as session:
        buckets = list(session.scalars(sa.select(RateEvent.bucket)))
        stored = [
            str(row)
            for table in ("rate_event", "comment", "outbox_message")
            for row in session.execute(sa.text(f"SELECT * FROM {table}"))  # noqa: S608
        ]
    assert len(buckets) == 4  # two posts, each counted by address and article
    assert not any("203.0.113.77" in row or "127.0.0.1" in row for row in stored)


def test_events_older_than_the_window_no_longer_count(
    app: Flask, commenter: Commenter
) -> None:
    limit(app, per_address=1)
    assert commenter.post(body="Long ago").status_code == 303
    with get_db(app).engine.begin() as connection:
        connection.execute(
            sa.text("UPDATE rate_event SET created_at = :t"),
            {"t": "2000-01-01 00:00:00.000000"},
        )
    assert commenter.post(body="Now").status_code == 303


def test_an_event_counts_for_the_window_and_is_then_forgotten(
    app: Flask, commenter: Commenter
) -> None:
    limit(app, per_address=1)
    assert commenter.post(body="First").status_code == 303

    def age_events(seconds: int) -> None:
        with get_db(app).write() as session:
            session.execute(
                sa.update(RateEvent).values(
                    created_at=utcnow() - timedelta(seconds=seconds)
                )
            )

    age_events(WINDOW - 5)  # still inside the window
    assert commenter.post(body="Too soon").status_code == 429
    age_events(WINDOW + 1)  # just past it
    assert commenter.post(body="Later").status_code == 303
    # The expired event was deleted, not just left out of the count.
    with get_db(app).read() as session:
        ages = [utcnow() - t for t in session.scalars(sa.select(RateEvent.created_at))]
    assert len(ages) == 1 and ages[0] < timedelta(seconds=5)


# --- several workers: gunicorn, 20 posts at once ----------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_gunicorn(
    built_site: Path,
    tmp: Path,
    database_url: str,
    *,
    workers: int = 4,
    threads: int = 1,
    migrate: bool = True,
    **config: object,
) -> tuple[subprocess.Popen[bytes], str]:
    """Start the app under gunicorn, in a process group of its own (so that
    ``os.killpg`` reaches the workers too); return it and its address.
    ``threads`` over 1: gthread workers, as deploy/gunicorn.conf.py runs
    them on PostgreSQL."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    settings = {
        "SECRET_KEY": "limits test",
        "DATABASE_URL": database_url,
        "SITE_INDEX_PATH": str(built_site / "site.json"),
        "OUTPUT_PATH": str(tmp / "output"),
        "COMMENTS_PATH": str(tmp / "comments"),
        "CONTENT_PATH": str(tmp / "content"),
        "MAILDIR_PATH": str(tmp / "maildir"),
        "COMMENTS_REBUILD": False,
        "SITE_URL": url,
        **config,
    }
    env = dict(os.environ, FEEDBACK_INSTANCE_PATH=str(tmp))
    env.update({f"FEEDBACK_{k}": json.dumps(v) for k, v in settings.items()})
    if migrate:
        subprocess.run(
            [sys.executable, "-m", "flask", "--app", "feedback_app", "db", "upgrade"],
            env=env,
            cwd=ROOT,
            check=True,
            capture_output=True,
        )
    proc = subprocess.Popen(
        [
            *(sys.executable, "-m", "gunicorn", "-w", str(workers), "--preload"),
            *(("-k", "gthread", "--threads", str(threads)) if threads > 1 else ()),
            *("-b", f"127.0.0.1:{port}", "--log-level", "warning"),
            "feedback_app:create_app()",
        ],
        env=env,
        cwd=ROOT,
        start_new_session=True,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"{url}/comments/posted/x", timeout=1)
        except urllib.error.HTTPError:
            return proc, url  # any HTTP answer: it is up
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError("gunicorn did not start")


class NoRedirect(urllib.request.HTTPRedirectHandler):
    """Keep a 303 as the answer, as a test reading it needs."""

    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


def burst(url: str, n: int, *others: str) -> list[tuple[int, str | None]]:
    """Post ``n`` distinct comments at once, to ``url`` and ``others`` in
    turn; return (status, Retry-After) of each."""
    urls = [url, *others]
    barrier = threading.Barrier(n)
    results: list[tuple[int, str | None]] = [(0, None)] * n

    opener = urllib.request.build_opener(NoRedirect)

    def post(i: int) -> None:
        data = urllib.parse.urlencode(
            {"article": ARTICLE, "name": f"Reader {i}", "body": f"Comment {i}"}
        ).encode()
        host = urls[i % len(urls)]
        request = urllib.request.Request(
            f"{host}/comments", data=data, headers={"Origin": host}
        )
        barrier.wait()
        try:
            with opener.open(request, timeout=30) as response:
                results[i] = (response.status, None)
        except urllib.error.HTTPError as exc:
            results[i] = (exc.code, exc.headers.get("Retry-After"))

    threads = [threading.Thread(target=post, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def rows(database_url: str) -> int:
    engine = sa.create_engine(database_url)
    with engine.connect() as connection:
        found = connection.scalar(sa.text("SELECT count(*) FROM comment"))
    engine.dispose()
    return found


def assert_exactly_five_of_twenty(
    built_site: Path, tmp: Path, url_db: str, threads: int = 1
) -> None:
    proc, url = start_gunicorn(
        built_site, tmp, url_db, threads=threads, POST_LIMIT_PER_ADDRESS=5
    )
    try:
        results = burst(url, 20)
    finally:
        proc.terminate()
        proc.wait(15)
    statuses = sorted(status for status, _ in results)
    assert statuses == [303] * 5 + [429] * 15
    assert all(after and int(after) >= 1 for status, after in results if status == 429)
    assert rows(url_db) == 5


@pytest.mark.slow
def test_limit_is_exact_across_four_workers_on_sqlite(
    built_site: Path, tmp_path: Path
) -> None:
    assert_exactly_five_of_twenty(
        built_site, tmp_path, f"sqlite:///{tmp_path / 'feedback.sqlite3'}"
    )


@pytest.mark.slow
@pytest.mark.postgres
@pytest.mark.parametrize("threads", [1, 4], ids=["sync", "gthread"])
def test_limit_is_exact_across_four_workers_on_postgresql(
    built_site: Path, tmp_path: Path, postgres_url: str, threads: int
) -> None:
    """Also with 4 threads a worker, as deploy/gunicorn.conf.py runs the app
    on PostgreSQL: 16 requests at once."""
    assert_exactly_five_of_twenty(built_site, tmp_path, postgres_url, threads)
