"""Several app hosts: what they must share, and how.

Each "host" is a process of its own, started as production starts it: the
outbox sender as ``flask --app feedback_app outbox run`` (three at once),
and the app under gunicorn. They share only what real hosts share (the
database, Redis, the mail server), never memory.
"""

from __future__ import annotations

import asyncio
import http.cookiejar
import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from aiosmtpd.controller import Controller
from flask import Flask
from sqlalchemy import select, text

from feedback_app import create_app
from feedback_app.core.db import get_db, upgrade
from feedback_app.core.models import OutboxMessage
from feedback_app.mail.sender import send_due
from feedback_app.services.moderation import moderate
from feedback_app.site.publishing import (
    PublishCommandError,
    PublishError,
    build_site,
    publish_lock,
)

from ..conftest import (
    ARTICLE,
    MAYA,
    PASSWORD,
    ROOT,
    Commenter,
    Desk,
    add_author,
    csrf_token,
    newest_comment,
)
from ..mail.test_mail import queue as queue_messages
from ..readers.test_browser import ARTICLE_PATH
from ..readers.test_limits import NoRedirect, burst, free_port, rows, start_gunicorn

FLASK = [sys.executable, "-m", "flask", "--app", "feedback_app"]


class Sink:
    """An SMTP server that takes a little time over each message, so that
    senders overlap, and remembers who sent what."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.received: list[tuple[str, str]] = []  # (envelope sender, Message-ID)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        await asyncio.sleep(0.01)
        message_id = next(
            line.split(b":", 1)[1].strip().decode()
            for line in envelope.content.splitlines()
            if line.lower().startswith(b"message-id:")
        )
        with self.lock:
            self.received.append((envelope.mail_from, message_id))
        return "250 OK"


@pytest.fixture
def sink() -> Iterator[tuple[Sink, int]]:
    handler = Sink()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    yield handler, port
    controller.stop()


def pg_app(postgres_url: str, tmp_path: Path, **config: object) -> Flask:
    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "hosts test",
            "DATABASE_URL": postgres_url,
            "SITE_URL": "https://blog.example.org",
            "MAILDIR_PATH": str(tmp_path / "maildir"),
            **config,
        }
    )
    upgrade(app)
    return app


# Sessions of this database waiting for a lock on the outbox (pg_locks lists
# every database's).
WAITING_FOR_THE_OUTBOX = text(
    "SELECT count(*) FROM pg_locks WHERE NOT granted"
    " AND relation = 'outbox_message'::regclass"
    " AND database = (SELECT oid FROM pg_database"
    " WHERE datname = current_database())"
)


def queue(app: Flask, count: int) -> list[str]:
    """Queue ``count`` messages; return their Message-IDs."""
    return [m.message_id for m in queue_messages(app, count)]


@pytest.mark.postgres
def test_three_sender_processes_send_each_message_once(
    postgres_url: str, tmp_path: Path, sink: tuple[Sink, int]
) -> None:
    handler, port = sink
    app = pg_app(postgres_url, tmp_path)
    ids = queue(app, 90)
    settings = {
        "SECRET_KEY": "hosts test",
        "DATABASE_URL": postgres_url,
        "SITE_URL": "https://blog.example.org",
        "SMTP_HOST": "127.0.0.1",
        "SMTP_PORT": port,
        "OUTBOX_POLL_INTERVAL": 0.05,
    }
    # The outbox is locked until all three senders wait for it, so that they
    # start on it together: one slow to start (a busy machine) could find the
    # others done and take no part.
    gate = get_db(app).engine.connect()
    gate.execute(text("LOCK TABLE outbox_message IN EXCLUSIVE MODE"))
    senders = []
    try:
        for n in range(3):
            env = dict(os.environ, FEEDBACK_INSTANCE_PATH=str(tmp_path / f"host{n}"))
            env.update({f"FEEDBACK_{k}": json.dumps(v) for k, v in settings.items()})
            # Each host signs its mail as itself, so the sink can tell them apart.
            env["FEEDBACK_MAIL_FROM"] = json.dumps(f"host{n}@blog.example.org")
            senders.append(
                subprocess.Popen(
                    [*FLASK, "outbox", "run"],
                    env=env,
                    cwd=ROOT,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.PIPE,
                )
            )
        deadline = time.monotonic() + 60
        while gate.execute(WAITING_FOR_THE_OUTBOX).scalar_one() < len(senders):
            assert all(s.poll() is None for s in senders), "a sender has ended"
            assert time.monotonic() < deadline, "the senders never asked"
            time.sleep(0.05)
        gate.commit()  # all three at once
        deadline = time.monotonic() + 60
        while len(handler.received) < len(ids) and time.monotonic() < deadline:
            time.sleep(0.1)
        time.sleep(0.5)  # a duplicate, if any, would arrive now
    finally:
        gate.close()
        for sender in senders:
            sender.send_signal(signal.SIGINT)
        for sender in senders:
            try:
                sender.wait(15)
            except subprocess.TimeoutExpired:
                sender.kill()
    logs = [s.stderr.read().decode() for s in senders if s.stderr]
    with get_db(app).read() as session:
        states = Counter(session.scalars(select(OutboxMessage.state)))
    get_db(app).dispose()

    copies = Counter(message_id for _, message_id in handler.received)
    assert copies == Counter({message_id: 1 for message_id in ids}), logs
    assert states == Counter({"sent": len(ids)})
    # The envelope sender is the message's bounce address on its host's
    # MAIL_FROM: host1+b7-…@blog.example.org.
    by_host = Counter(sender.split("+", 1)[0] for sender, _ in handler.received)
    assert len(by_host) == 3, by_host  # all three really took part

    # Each host logs one line per message it sent, naming no reader.
    for n, log in enumerate(logs):
        sent_lines = re.findall(r"mail #\d+ sent \(test\)", log)
        assert len(sent_lines) == by_host[f"host{n}"], log
        assert "@" not in log


@pytest.mark.postgres
def test_a_sender_passes_over_rows_another_is_claiming(
    postgres_url: str, tmp_path: Path, sink: tuple[Sink, int]
) -> None:
    """SKIP LOCKED: while one host's claim transaction holds the first three
    messages, another host claims the next three at once, without waiting."""
    handler, port = sink
    app = pg_app(postgres_url, tmp_path, SMTP_HOST="127.0.0.1", SMTP_PORT=port)
    ids = queue(app, 6)
    other = pg_app(postgres_url, tmp_path, SMTP_HOST="127.0.0.1", SMTP_PORT=port)
    done = threading.Event()
    try:
        with get_db(app).write() as session:
            held = session.scalars(
                select(OutboxMessage.id)
                .order_by(OutboxMessage.id)
                .limit(3)
                .with_for_update()
            ).all()
            worker = threading.Thread(
                target=lambda: (send_due(other, limit=3), done.set()), daemon=True
            )
            worker.start()
            finished = done.wait(10)
            sent_meanwhile = {message_id for _, message_id in handler.received}
        worker.join(10)
    finally:
        get_db(other).dispose()
        get_db(app).dispose()
    assert finished, "the second sender waited for the first one's rows"
    assert len(held) == 3
    assert sent_meanwhile == set(ids[3:])


# --- limits shared through Redis ---------------------------------------------------

REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


@pytest.fixture
def redis_prefix() -> Iterator[str]:
    """A key prefix of this test's own on the Redis of this machine."""
    client = redis.Redis.from_url(REDIS_URL)
    try:
        client.ping()
    except redis.RedisError as exc:
        if os.environ.get("CI"):
            raise
        pytest.skip(f"Redis is not reachable: {exc}")
    prefix = f"feedback-test-{uuid.uuid4().hex[:12]}:"
    yield prefix
    keys = list(client.scan_iter(f"{prefix}*"))
    if keys:
        client.delete(*keys)
    client.close()


def two_hosts(
    built_site: Path, tmp: Path, prefix: str, **config: object
) -> list[tuple[subprocess.Popen[bytes], str]]:
    """Two app hosts on ports of their own, each with a SQLite database of
    its own: only Redis can make them agree."""
    hosts = []
    for name in ("a", "b"):
        folder = tmp / name
        folder.mkdir()
        hosts.append(
            start_gunicorn(
                built_site,
                folder,
                f"sqlite:///{folder / 'feedback.sqlite3'}",
                workers=2,
                RATELIMIT_STORAGE_URL=REDIS_URL,
                RATELIMIT_KEY_PREFIX=prefix,
                **config,
            )
        )
    return hosts


def stop(hosts: list[tuple[subprocess.Popen[bytes], str]]) -> None:
    for proc, _ in hosts:
        proc.terminate()
    for proc, _ in hosts:
        proc.wait(15)


@pytest.mark.slow
def test_post_limit_is_exact_across_two_hosts(
    built_site: Path, tmp_path: Path, redis_prefix: str
) -> None:
    hosts = two_hosts(
        built_site, tmp_path, redis_prefix, POST_LIMIT_PER_ADDRESS=5, FORM_TICKETS=False
    )
    try:
        results = burst(hosts[0][1], 20, hosts[1][1])
    finally:
        stop(hosts)
    statuses = sorted(status for status, _ in results)
    assert statuses == [303] * 5 + [429] * 15
    assert all(after and int(after) >= 1 for status, after in results if status == 429)
    stored = sum(rows(f"sqlite:///{tmp_path / h / 'feedback.sqlite3'}") for h in "ab")
    assert stored == 5


def sign_in(url: str, name: str, password: str) -> int:
    """Sign in to one host's desk as a browser would; return the status."""
    opener = urllib.request.build_opener(
        urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()), NoRedirect()
    )
    with opener.open(f"{url}/desk/sign-in", timeout=30) as page:
        token = csrf_token(page.read().decode())
    data = urllib.parse.urlencode(
        {"csrf_token": token, "name": name, "password": password}
    ).encode()
    request = urllib.request.Request(
        f"{url}/desk/sign-in", data=data, headers={"Origin": url}
    )
    try:
        with opener.open(request, timeout=30) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


@pytest.mark.slow
def test_sign_in_lock_is_shared_by_two_hosts(
    built_site: Path, tmp_path: Path, redis_prefix: str
) -> None:
    hosts = two_hosts(
        built_site,
        tmp_path,
        redis_prefix,
        SIGNIN_SLOW_AFTER=100,  # no slowing down: straight to the lock
        SIGNIN_LOCK_AFTER=10,
    )
    try:
        for name in "ab":
            app = create_app(
                {
                    "SECRET_KEY": "k",
                    "DATABASE_URL": f"sqlite:///{tmp_path / name / 'feedback.sqlite3'}",
                }
            )
            add_author(app)
            get_db(app).dispose()
        urls = [url for _, url in hosts]
        wrong = [sign_in(urls[i % 2], MAYA, "not the password") for i in range(10)]
        # Five failures on each host: neither alone would lock the account.
        locked = [sign_in(url, MAYA, PASSWORD) for url in urls]
    finally:
        stop(hosts)
    assert wrong == [401] * 10
    assert locked == [429, 429]


def test_without_redis_posts_still_go_through_but_sign_in_waits(
    app: Flask, commenter: Commenter
) -> None:
    add_author(app)
    app.config.update(
        RATELIMIT_STORAGE_URL=f"redis://127.0.0.1:{free_port()}/0",
        POST_LIMIT_PER_ADDRESS=1,
    )
    assert commenter.post_ok(body="One.").state in ("pending", "approved")
    assert commenter.post_ok(body="Two: no limit without Redis.")
    refused = Desk(app.test_client()).sign_in()
    assert refused.status_code == 429
    assert refused.headers["Retry-After"] == "60"
    assert "not available just now" in refused.text


# --- publishing: one rebuild at a time, then the publish command -------------------


@pytest.mark.postgres
def test_hosts_of_one_database_publish_one_at_a_time(
    postgres_url: str, tmp_path: Path
) -> None:
    """Two hosts (instance folders of their own, so their lock files differ)
    on one PostgreSQL database: the second waits for the first's build."""
    first = pg_app(postgres_url, tmp_path)
    first.instance_path = str(tmp_path / "host-a")
    second = pg_app(postgres_url, tmp_path)
    second.instance_path = str(tmp_path / "host-b")
    entered = threading.Event()

    def publish_on_second() -> None:
        with publish_lock(second):
            entered.set()

    try:
        with publish_lock(first):
            waiter = threading.Thread(target=publish_on_second, daemon=True)
            waiter.start()
            assert not entered.wait(1.0), "both hosts held the publish lock"
        assert entered.wait(10), "the second host never got the lock"
        waiter.join(10)
    finally:
        get_db(first).dispose()
        get_db(second).dispose()


@pytest.mark.postgres
def test_a_host_waits_for_the_lock_only_so_long(
    postgres_url: str, tmp_path: Path
) -> None:
    first = pg_app(postgres_url, tmp_path)
    first.instance_path = str(tmp_path / "host-a")
    second = pg_app(postgres_url, tmp_path, PUBLISH_LOCK_TIMEOUT=0.5)
    second.instance_path = str(tmp_path / "host-b")
    try:
        with publish_lock(first):
            started = time.monotonic()
            with (
                pytest.raises(PublishError, match="publishing for too long"),
                publish_lock(second),
            ):
                pass
            assert time.monotonic() - started < 5
        with publish_lock(second):  # free again once the first is done
            pass
    finally:
        get_db(first).dispose()
        get_db(second).dispose()


def copy_command(target: Path) -> str:
    """A publish command copying the built site to ``target``, as rsync would."""
    script = (
        "import os, shutil, sys; "
        "shutil.copytree(os.environ['OUTPUT_PATH'], sys.argv[1], dirs_exist_ok=True)"
    )
    return shlex.join([sys.executable, "-c", script, str(target)])


def test_the_publish_command_runs_after_an_approval_rebuilds_the_page(
    publishing_app: Flask, tmp_path: Path
) -> None:
    web_root = tmp_path / "web-root"
    publishing_app.config.update(
        PUBLISH_COMMAND=copy_command(web_root), FORM_TICKETS=False
    )
    client = publishing_app.test_client()
    response = client.post(
        "/comments",
        data={"article": ARTICLE, "name": "Ana", "body": "Synced, I hope."},
        headers={"Origin": "https://blog.example.org"},
    )
    assert response.status_code == 303
    comment = newest_comment(publishing_app)
    with publishing_app.app_context():
        moderate([comment.id], "approved", wait=True)
    page = web_root / ARTICLE_PATH.strip("/") / "index.html"
    assert f'id="comment-{comment.id}"' in page.read_text(encoding="utf-8")


def test_a_failing_publish_command_is_reported_and_the_site_still_built(
    publishing_app: Flask,
) -> None:
    publishing_app.config["PUBLISH_COMMAND"] = shlex.join(
        [sys.executable, "-c", "import sys; sys.exit('no route to the web server')"]
    )
    with pytest.raises(PublishCommandError, match="no route to the web server"):
        build_site(publishing_app)
    output = Path(publishing_app.config["OUTPUT_PATH"])
    assert (output / ARTICLE_PATH.strip("/") / "index.html").is_file()


def test_a_build_past_build_timeout_is_stopped_and_frees_the_lock(
    publishing_app: Flask,
) -> None:
    """A hung Pelican must not hold the publish lock: a gthread worker is not
    killed for a request that outlasts gunicorn's timeout."""
    publishing_app.config["BUILD_TIMEOUT"] = 0.1  # Pelican's start alone is longer
    started = time.monotonic()
    with pytest.raises(PublishError, match=r"longer than BUILD_TIMEOUT \(0.1 s\)"):
        build_site(publishing_app)
    assert time.monotonic() - started < 5
    with publish_lock(publishing_app):  # free again
        pass
    publishing_app.config["BUILD_TIMEOUT"] = 120
    build_site(publishing_app)
    output = Path(publishing_app.config["OUTPUT_PATH"])
    assert (output / ARTICLE_PATH.strip("/") / "index.html").is_file()


@pytest.mark.build
def test_invoke_publish_builds_for_production_then_runs_the_command(
    tmp_path: Path,
) -> None:
    """``invoke publish`` in a copy of the project, as an operator runs it."""
    project = tmp_path / "project"
    project.mkdir()
    for name in ("tasks.py", "pelicanconf.py", "publishconf.py"):
        shutil.copy(ROOT / name, project / name)
    for name in ("content", "theme"):
        shutil.copytree(ROOT / name, project / name)
    web_root = tmp_path / "web-root"
    env = dict(
        os.environ,
        SITEURL="https://blog.example.org",
        FEEDBACK_INSTANCE_PATH=str(project / "instance"),
        FEEDBACK_PUBLISH_COMMAND=json.dumps(copy_command(web_root)),
    )
    result = subprocess.run(
        [sys.executable, "-m", "invoke", "publish"],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    page = (web_root / ARTICLE_PATH.strip("/") / "index.html").read_text("utf-8")
    assert 'href="https://blog.example.org/' in page  # the production settings
    assert (web_root / "feeds" / "all.atom.xml").is_file()
