"""Several app hosts on one PostgreSQL database: what they must share.

Each "host" is a process of its own, started as production starts it: the
outbox sender as ``flask --app feedback_app outbox run`` (three at once),
and the app under gunicorn. They share only what real hosts share (the
database, Redis, the mail server), never memory.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from flask import Flask
from sqlalchemy import select

from feedback_app import create_app
from feedback_app.db import get_db, upgrade
from feedback_app.mail import queue_mail, send_due
from feedback_app.models import OutboxMessage

from .conftest import ROOT
from .test_limits import free_port

pytestmark = pytest.mark.postgres

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


def queue(app: Flask, count: int) -> list[str]:
    """Queue ``count`` messages; return their Message-IDs."""
    with get_db(app).write() as session:
        messages = [
            queue_mail(
                session,
                kind="test",
                to=f"reader{i}@example.org",
                subject=f"Message {i}",
                body=f"Body {i}\n",
                site_url=app.config["SITE_URL"],
            )
            for i in range(count)
        ]
    return [m.message_id for m in messages]


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
        while len(handler.received) < len(ids) and time.monotonic() < deadline:
            time.sleep(0.1)
        time.sleep(0.5)  # a duplicate, if any, would arrive now
    finally:
        for sender in senders:
            sender.send_signal(signal.SIGINT)
        for sender in senders:
            try:
                sender.wait(15)
            except subprocess.TimeoutExpired:
                sender.kill()
    errors = [s.stderr.read().decode() for s in senders if s.stderr]
    with get_db(app).read() as session:
        states = Counter(session.scalars(select(OutboxMessage.state)))
    get_db(app).dispose()

    copies = Counter(message_id for _, message_id in handler.received)
    assert copies == Counter({message_id: 1 for message_id in ids}), errors
    assert states == Counter({"sent": len(ids)})
    by_host = Counter(sender for sender, _ in handler.received)
    assert len(by_host) == 3, by_host  # all three really took part


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
