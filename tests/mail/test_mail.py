"""The outbox against a real SMTP server (aiosmtpd on loopback).

Each test gets its own server on a free port. The handler records every
message it accepts (envelope and raw bytes) and can be told, per test, to
accept, defer (451), refuse (554) or hang; the server can also be stopped
(connection refused) and started again on the same port.
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import mailbox
import re
import socket
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from email.message import EmailMessage
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner
from sqlalchemy import select, update

from feedback_app import create_app
from feedback_app.core.addresses import HeaderError
from feedback_app.core.db import get_db
from feedback_app.core.models import (
    Author,
    Comment,
    Feedback,
    FeedbackMessage,
    OutboxMessage,
    utcnow,
)
from feedback_app.mail import sender as sender_module
from feedback_app.mail.conversations import bounce_address, reply_address, salts
from feedback_app.mail.outbox import queue_mail
from feedback_app.mail.sender import OutboxWorker, backoff, send_due
from feedback_app.store import comments as cm

from ..conftest import ARTICLE, ORIGIN, Commenter, Reader, csrf_token, outbox

MAYA = "Maya Lindqvist"
MAYA_EMAIL = "maya@example.org"
TOMAS = "Tomás Ferreira"  # the author of OTHER_ARTICLE
OTHER_ARTICLE = "2026/follow-up-emails-that-get-answered/"
SITE_FROM = "noreply@blog.example.org"  # MAIL_FROM derived from SITE_URL
SITE_SENDER = f"Talking Shop <{SITE_FROM}>"  # with the site's name (SITENAME)
TIMEOUT = 1  # SMTP_TIMEOUT in these tests, seconds


# --- a real SMTP server ---


@dataclass(frozen=True)
class Received:
    """One message the server accepted."""

    mail_from: str
    rcpt_tos: tuple[str, ...]
    content: bytes

    @property
    def message(self) -> EmailMessage:
        return email.message_from_bytes(  # type: ignore[return-value]
            self.content, policy=email.policy.default
        )


ANSWERS = {
    "ok": "250 OK",
    "451": "451 4.3.0 Try again later",
    "554": "554 5.7.1 Rejected",
}


class Handler:
    """An aiosmtpd handler whose answer to DATA can be changed per test.

    ``mode`` is "ok", "451", "554" or "hang" (sleep ``hang_seconds`` and never
    accept). ``script`` holds answers used first, one per message. Recipients
    starting with ``slow`` always hang; ``rcpt_answer`` answers RCPT TO.
    """

    def __init__(self) -> None:
        self.mode = "ok"
        self.script: list[str] = []
        self.hang_seconds = TIMEOUT * 3.0
        self.rcpt_answer = "250 OK"
        self.received: list[Received] = []
        self.attempts: list[tuple[str, ...]] = []  # recipients of each DATA
        self.lock = threading.Lock()

    async def handle_RCPT(
        self,
        server: Any,
        session: Any,
        envelope: Any,
        address: str,
        rcpt_options: list[str],
    ) -> str:
        if self.rcpt_answer.startswith("250"):
            envelope.rcpt_tos.append(address)
        return self.rcpt_answer

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        rcpts = tuple(envelope.rcpt_tos)
        with self.lock:
            self.attempts.append(rcpts)
            mode = self.script.pop(0) if self.script else self.mode
        if mode == "hang" or any(r.startswith("slow") for r in rcpts):
            await asyncio.sleep(self.hang_seconds)
            return "451 4.4.2 Too late, the client has gone"
        if mode == "ok":
            with self.lock:
                self.received.append(
                    Received(envelope.mail_from, rcpts, bytes(envelope.content))
                )
        return ANSWERS[mode]


class SmtpServer:
    """aiosmtpd's Controller on 127.0.0.1, stoppable and restartable."""

    def __init__(self) -> None:
        self.handler = Handler()
        self.port = free_port()
        self.smtputf8 = True  # offer the SMTPUTF8 extension
        self.controller: Controller | None = None

    def start(self) -> None:
        self.controller = Controller(
            self.handler,
            hostname="127.0.0.1",
            port=self.port,
            enable_SMTPUTF8=self.smtputf8,
        )
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    @property
    def received(self) -> list[Received]:
        with self.handler.lock:
            return list(self.handler.received)

    def message_ids(self) -> Counter[str]:
        """How many copies of each Message-ID arrived."""
        return Counter(r.message["Message-ID"] for r in self.received)

    def only(self) -> Received:
        [received] = self.received
        return received


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(autouse=True)
def own_maildir(app: Flask, tmp_path: Path) -> None:
    """Keep mail in this test's folder.

    conftest's ``app`` sets ``instance_path`` after ``create_app`` has filled
    in MAILDIR_PATH, which therefore points into the project's instance/.
    """
    app.config["MAILDIR_PATH"] = str(tmp_path / "maildir")


@pytest.fixture
def smtp(app: Flask) -> Iterator[SmtpServer]:
    """A running SMTP server, and the app configured to use it."""
    server = SmtpServer()
    server.start()
    app.config.update(
        SMTP_HOST="127.0.0.1", SMTP_PORT=server.port, SMTP_TLS="none", SMTP_TIMEOUT=1
    )
    yield server
    server.stop()


@pytest.fixture
def maya(runner: FlaskCliRunner) -> None:
    result = runner.invoke(args=["authors", "add", MAYA, MAYA_EMAIL])
    assert result.exit_code == 0, result.output


# --- helpers ---


def row(app: Flask, message_id: int) -> OutboxMessage:
    with get_db(app).read() as session:
        found = session.get(OutboxMessage, message_id)
        assert found is not None
        return found


def make_due(app: Flask) -> None:
    """Let every queued message be tried now (skip the backoff wait)."""
    with get_db(app).write() as session:
        session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.state == "queued")
            .values(next_attempt_at=utcnow() - timedelta(seconds=1))
        )


def queue(app: Flask, count: int, prefix: str = "reader") -> list[OutboxMessage]:
    """Queue ``count`` plain messages, to ``<prefix><i>@example.org``."""
    with get_db(app).write() as session:
        return [
            queue_mail(
                session,
                kind="test",
                to=f"{prefix}{i}@example.org",
                subject=f"Message {i}",
                body=f"Body {i}\n",
                site_url=app.config["SITE_URL"],
            )
            for i in range(count)
        ]


def newest_feedback(app: Flask) -> Feedback:
    with get_db(app).read() as session:
        found = session.scalars(select(Feedback).order_by(Feedback.id.desc())).first()
        assert found is not None
        return found


def reply(
    runner: FlaskCliRunner, feedback_id: int, text: str, author: str = MAYA
) -> str:
    result = runner.invoke(
        args=["feedback", "reply", str(feedback_id), "-m", text, "--as", author]
    )
    assert result.exit_code == 0, result.output
    return result.output


def conversation_address(app: Flask, message: OutboxMessage) -> str | None:
    """The Reply-To of ``message``: its conversation's own address."""
    with get_db(app).read() as session:
        salt = salts(session, [message.thread_key]).get(message.thread_key or "", "")
    return reply_address(
        message.thread_key, message.kind, message.recipient, app.config, salt
    )


def follow_up(client: FlaskClient, token: str, text: str) -> None:
    page = client.get(f"/r/{token}")
    response = client.post(
        f"/r/{token}/follow-up",
        data={"csrf_token": csrf_token(page.text), "message": text},
    )
    assert response.status_code == 303, response.text


def text_of(received: Received) -> str:
    body = received.message.get_body(("plain",))
    assert body is not None
    return body.get_content().replace("\r\n", "\n")  # CRLF on the wire


# --- 1. each message type arrives right ---


def test_feedback_notification_reaches_the_author(
    app: Flask, reader: Reader, smtp: SmtpServer, maya: None
) -> None:
    reader.send_and_follow(
        message="Loved the part on cold calls.\nMore please.",
        name="Rita",
        email="rita@example.org",
    )
    # The authors' notification, and the reader's acknowledgement.
    queued, ack = outbox(app)
    assert (queued.kind, queued.state, queued.recipient) == (
        "feedback-to-author",
        "queued",
        MAYA_EMAIL,
    )
    assert (ack.kind, ack.recipient) == ("feedback-ack", "rita@example.org")
    assert smtp.received == []  # nothing is sent during the request

    result = send_due(app)
    assert (result.sent, result.retried, result.failed) == (2, 0, 0)
    [received] = [r for r in smtp.received if r.rcpt_tos == (MAYA_EMAIL,)]
    # Its own bounce address (VERP), on the site's mailbox.
    assert received.mail_from == bounce_address(queued.id, MAYA_EMAIL, app.config)
    assert received.rcpt_tos == (MAYA_EMAIL,)  # the reader is no recipient
    mail = received.message
    assert mail["From"] == SITE_SENDER
    assert mail["To"] == MAYA_EMAIL
    # The conversation's own address: a reply by mail reaches the site.
    assert mail["Reply-To"] == conversation_address(app, queued)
    assert "Inside sales without the script" in mail["Subject"]
    assert mail["Message-ID"] == queued.message_id
    # A random part and the author's row, on the site's domain.
    assert re.fullmatch(
        r"<[0-9a-f]{32}\.[0-9]+@blog\.example\.org>", mail["Message-ID"]
    )
    assert mail["Date"]
    text = text_of(received)
    assert "> Loved the part on cold calls.\n> More please." in text
    assert "Rita" in text and "rita@example.org" in text
    sent = row(app, queued.id)
    assert (sent.state, sent.attempts, sent.last_error) == ("sent", 1, None)
    assert sent.sent_at is not None and sent.claimed_until is None


def test_feedback_without_address_has_no_reply_to(
    app: Flask, reader: Reader, smtp: SmtpServer, maya: None
) -> None:
    reader.send_and_follow(message="Anonymous thanks")
    assert send_due(app).sent == 1
    mail = smtp.only().message
    [queued] = outbox(app)
    assert mail["Reply-To"] == conversation_address(app, queued)  # never a reader
    assert mail["From"] == SITE_SENDER
    assert "only on their private reply page" in text_of(smtp.only())


def test_no_author_record_means_no_mail(
    app: Flask, reader: Reader, smtp: SmtpServer
) -> None:
    reader.send_and_follow(message="Nobody to tell")
    assert outbox(app) == []
    assert send_due(app).sent == 0


def test_notification_links_to_the_article_absolutely(
    app: Flask, reader: Reader, smtp: SmtpServer, maya: None
) -> None:
    reader.send_and_follow(message="Link please")
    send_due(app)
    assert (
        "<https://blog.example.org/2026/inside-sales-without-the-script/>"
        in text_of(smtp.only())
    )


@pytest.mark.parametrize("approved", [False, True], ids=["held", "approved"])
def test_comment_notifies_the_author(
    app: Flask, client: FlaskClient, smtp: SmtpServer, maya: None, approved: bool
) -> None:
    if approved:  # an address with an approved comment is trusted afterwards
        Commenter(client).post_ok(body="First")
        with get_db(app).write() as session:
            first = session.scalars(select(Comment)).one()
            cm.set_state(session, first.id, "approved")
        send_due(app)
        smtp.handler.received.clear()
    Commenter(client).post_ok(body="Nice *piece*.\n\nhttps://example.org/x")
    result = send_due(app)
    assert result.sent == 1
    received = smtp.only()
    assert received.rcpt_tos == (MAYA_EMAIL,)
    mail = received.message
    assert mail["From"] == SITE_SENDER
    # Reply-To the comment's conversation, never From.
    assert mail["Reply-To"] == conversation_address(app, outbox(app)[-1])
    assert "Inside sales without the script" in mail["Subject"]
    assert "Ana" in mail["Subject"]
    text = text_of(received)
    assert "> Nice *piece*." in text  # quoted as plain text, not rendered
    assert "<em>" not in text
    if approved:
        assert "It is published." in text
    else:
        assert "held for moderation" in text
        assert "Approve: http://localhost/" in text


def test_spam_comment_notifies_nobody(
    app: Flask, client: FlaskClient, smtp: SmtpServer, maya: None
) -> None:
    Commenter(client).post_ok(homepage="http://spam.example")  # the honeypot
    assert outbox(app) == []
    assert send_due(app).sent == 0
    assert smtp.received == []


def test_author_reply_reaches_the_reader_threaded(
    app: Flask,
    client: FlaskClient,
    reader: Reader,
    runner: FlaskCliRunner,
    smtp: SmtpServer,
    maya: None,
) -> None:
    token, _ = reader.send_and_follow(
        message="Could you say more?", name="Rita", email="rita@example.org"
    )
    feedback = newest_feedback(app)
    output = reply(runner, feedback.id, "Gladly: see next week's post.")
    assert "queued for e-mail" in output
    page = client.get(f"/r/{token}")
    assert "<p>Gladly: see next week's post.</p>" in page.text
    with get_db(app).read() as session:
        [stored] = session.scalars(select(FeedbackMessage)).all()
    assert (stored.sender, stored.body) == ("author", "Gladly: see next week's post.")

    # The notification, the reader's acknowledgement and the reply.
    assert send_due(app).sent == 3
    first = smtp.received[2]
    assert first.rcpt_tos == ("rita@example.org",)
    mail = first.message
    assert mail["From"] == SITE_SENDER  # the site's, not the author's
    assert mail["To"] == "rita@example.org"
    assert mail["Reply-To"] == conversation_address(
        app, outbox(app, "reply-to-reader")[0]
    )
    assert "Maya Lindqvist answered your feedback" in mail["Subject"]
    # The first mail to this reader was the acknowledgement: it follows that.
    assert mail["In-Reply-To"] == smtp.received[1].message["Message-ID"]
    text = text_of(first)
    assert "Gladly: see next week's post." in text
    assert "> Could you say more?" in text

    reply(runner, feedback.id, "And one more thing.")
    assert send_due(app).sent == 1
    second = smtp.received[3].message
    # It answers the earlier mail to the reader on the same feedback: the
    # acknowledgement, then the first answer.
    assert second["In-Reply-To"] == mail["Message-ID"]
    assert second["References"].split()[-1] == mail["Message-ID"]
    assert second["Message-ID"] != mail["Message-ID"]


def test_third_reply_references_the_whole_thread(
    app: Flask, reader: Reader, runner: FlaskCliRunner, smtp: SmtpServer, maya: None
) -> None:
    reader.send_and_follow(message="Hi", email="rita@example.org")
    feedback = newest_feedback(app)
    for text in ("One", "Two", "Three"):
        reply(runner, feedback.id, text)
    send_due(app)
    replies = [r.message for r in smtp.received if r.rcpt_tos == ("rita@example.org",)]
    ack, first, second, third = replies
    assert third["References"].split() == [
        ack["Message-ID"],
        first["Message-ID"],
        second["Message-ID"],
    ]


def test_reply_to_reader_without_address_stays_on_the_page(
    app: Flask,
    client: FlaskClient,
    reader: Reader,
    runner: FlaskCliRunner,
    smtp: SmtpServer,
    maya: None,
) -> None:
    token, _ = reader.send_and_follow(message="No address here")
    output = reply(runner, newest_feedback(app).id, "Answered on your page.")
    assert "no address: page only" in output
    assert "Answered on your page." in client.get(f"/r/{token}").text
    assert [m.kind for m in outbox(app)] == ["feedback-to-author"]
    assert send_due(app).sent == 1
    assert smtp.only().rcpt_tos == (MAYA_EMAIL,)


def test_follow_up_notifies_the_author_in_the_same_thread(
    app: Flask,
    client: FlaskClient,
    reader: Reader,
    runner: FlaskCliRunner,
    smtp: SmtpServer,
    maya: None,
) -> None:
    token, _ = reader.send_and_follow(message="First thought", email="rita@example.org")
    reply(runner, newest_feedback(app).id, "Thanks!")
    follow_up(client, token, "Second thought")
    assert send_due(app).sent == 4  # with the reader's acknowledgement
    by_kind = {m.kind: m for m in outbox(app)}
    notification = by_kind["feedback-to-author"]
    received = {r.message["Message-ID"]: r for r in smtp.received}
    later = received[by_kind["follow-up-to-author"].message_id]
    assert later.rcpt_tos == (MAYA_EMAIL,)
    mail = later.message
    assert mail["In-Reply-To"] == notification.message_id
    assert mail["References"] == notification.message_id
    assert mail["Reply-To"] == conversation_address(app, by_kind["follow-up-to-author"])
    assert mail["From"] == SITE_SENDER
    assert mail["Subject"].startswith("Re: Feedback on")
    assert "> Second thought" in text_of(later)


def test_non_ascii_names_and_subjects_are_encoded(
    app: Flask,
    reader: Reader,
    runner: FlaskCliRunner,
    smtp: SmtpServer,
) -> None:
    result = runner.invoke(args=["authors", "add", TOMAS, "tomas@example.org"])
    assert result.exit_code == 0, result.output
    title = app.extensions["site_index"].article(OTHER_ARTICLE).title
    reader.send_and_follow(
        article=OTHER_ARTICLE,
        message="Très “utile”, merci — Zoë",
        name="Zoë Ångström",
        email="zoe@example.org",
    )
    reply(runner, newest_feedback(app).id, "Grâce à vous “encore”.", author=TOMAS)
    assert send_due(app).sent == 3  # with the reader's acknowledgement
    for received in smtp.received:
        raw = received.content.decode("ascii")  # 7-bit on the wire
        assert "=?utf-8?" in raw
        assert not re.search(r"^[^\r\n]{999}", raw, re.M)  # RFC 5322 line limit
    notification, ack, answer = (r.message for r in smtp.received)
    assert ack["Subject"] == f"Your feedback on “{title}”"
    assert notification["Subject"] == f"Feedback on “{title}”"
    assert "Zoë Ångström" in text_of(smtp.received[0])
    assert "> Très “utile”, merci — Zoë" in text_of(smtp.received[0])
    assert answer["Subject"] == f"{TOMAS} answered your feedback on “{title}”"
    assert "Hello Zoë Ångström," in text_of(smtp.received[2])
    assert "Grâce à vous “encore”." in text_of(smtp.received[2])
    assert answer["Reply-To"] == conversation_address(app, outbox(app)[-1])


def test_outbox_send_command_reports(
    app: Flask, runner: FlaskCliRunner, smtp: SmtpServer
) -> None:
    queue(app, 2)
    result = runner.invoke(args=["outbox", "send"])
    assert result.exit_code == 0, result.output
    assert "Sent 2, to retry 0, failed 0." in result.output
    listing = runner.invoke(args=["outbox", "list"]).output
    assert listing.count(" accepted ") == 2
    assert "No SMTP server set" not in listing


def test_background_worker_sends_what_is_queued(app: Flask, smtp: SmtpServer) -> None:
    worker = OutboxWorker(app, interval=0.05).start()
    try:
        [message] = queue(app, 1)
        deadline = time.monotonic() + 5
        while row(app, message.id).state != "sent" and time.monotonic() < deadline:
            time.sleep(0.02)
    finally:
        worker.stop()
    assert row(app, message.id).state == "sent"
    assert smtp.message_ids() == Counter({message.message_id: 1})


# --- 2. no SMTP: the local Maildir ---


def test_without_smtp_mail_goes_to_the_maildir(
    app: Flask, reader: Reader, runner: FlaskCliRunner, maya: None
) -> None:
    assert not app.config.get("SMTP_HOST") and not app.config.get("SMTP_URL")
    reader.send_and_follow(message="Offline one", name="Rita")
    reader.send_and_follow(message="Offline two")
    result = send_due(app)
    assert (result.sent, result.retried, result.failed) == (2, 0, 0)

    box = mailbox.Maildir(app.config["MAILDIR_PATH"], create=False)
    kept = {m["Message-ID"]: m for m in box}
    rows = outbox(app)
    assert set(kept) == {m.message_id for m in rows}
    for m in rows:
        assert kept[m.message_id]["To"] == MAYA_EMAIL
        assert kept[m.message_id]["From"] == SITE_SENDER
    assert {m.state for m in rows} == {"sent"}

    listing = runner.invoke(args=["outbox", "list"])
    assert listing.exit_code == 0, listing.output
    lines = [line for line in listing.output.splitlines() if line.startswith("#")]
    assert len(lines) == 2 and all(" accepted " in line for line in lines)
    assert all(f"to {MAYA_EMAIL}" in line for line in lines)
    assert f"mail is kept in {app.config['MAILDIR_PATH']}" in listing.output
    assert send_due(app).sent == 0  # delivered once


# --- 3-6. a server that is down, defers, refuses or hangs ---


def test_server_down_then_back_delivers_each_once(
    app: Flask, reader: Reader, smtp: SmtpServer, maya: None
) -> None:
    smtp.stop()
    for i in range(3):
        reader.send_and_follow(message=f"While down {i}")
    queue(app, 2)
    before = utcnow()
    result = send_due(app)
    after = utcnow()
    assert (result.sent, result.retried, result.failed) == (0, 5, 0)
    rows = outbox(app)
    assert len(rows) == 5
    for m in rows:
        assert (m.state, m.attempts, m.claimed_until) == ("queued", 1, None)
        assert "Connection refused" in m.last_error
        assert "ConnectionRefusedError" in m.last_error
        assert before + backoff(1) <= m.next_attempt_at <= after + backoff(1)

    smtp.start()  # back, on the same port
    assert send_due(app).sent == 0  # not due yet: the backoff holds
    make_due(app)
    assert send_due(app).sent == 5
    assert send_due(app).sent == 0
    assert smtp.message_ids() == Counter({m.message_id: 1 for m in rows})
    for m in outbox(app):
        assert (m.state, m.attempts, m.last_error) == ("sent", 2, None)


def test_451_then_success_is_delivered_once(app: Flask, smtp: SmtpServer) -> None:
    [message] = queue(app, 1)
    smtp.handler.script = ["451"]  # once, then the mode: "ok"
    result = send_due(app)
    assert (result.sent, result.retried, result.failed) == (0, 1, 0)
    deferred = row(app, message.id)
    assert (deferred.state, deferred.attempts) == ("queued", 1)
    assert "451" in deferred.last_error and "Try again later" in deferred.last_error

    assert send_due(app).sent == 0  # waits for its backoff
    make_due(app)
    assert send_due(app).sent == 1
    assert row(app, message.id).state == "sent"
    assert smtp.message_ids() == Counter({message.message_id: 1})
    assert len(smtp.handler.attempts) == 2


def test_554_fails_for_good(app: Flask, smtp: SmtpServer) -> None:
    [message] = queue(app, 1)
    smtp.handler.mode = "554"
    result = send_due(app)
    assert (result.sent, result.retried, result.failed) == (0, 0, 1)
    failed = row(app, message.id)
    assert (failed.state, failed.attempts) == ("failed", 1)
    assert "554" in failed.last_error and "Rejected" in failed.last_error

    smtp.handler.mode = "ok"
    with get_db(app).write() as session:  # even when its time comes
        session.execute(
            update(OutboxMessage).values(next_attempt_at=utcnow() - timedelta(hours=1))
        )
    assert send_due(app).sent == 0
    assert send_due(app).sent == 0
    assert len(smtp.handler.attempts) == 1
    assert smtp.received == []
    assert row(app, message.id).state == "failed"


@pytest.mark.parametrize(
    ("answer", "state"),
    [("550 5.1.1 No such user", "failed"), ("450 4.2.1 Mailbox busy", "queued")],
)
def test_recipient_refused_at_rcpt_is_sorted_by_code(
    app: Flask, smtp: SmtpServer, answer: str, state: str
) -> None:
    [message] = queue(app, 1)
    smtp.handler.rcpt_answer = answer
    send_due(app)
    after = row(app, message.id)
    assert after.state == state
    assert answer in after.last_error
    assert smtp.received == []


def test_hanging_server_never_slows_a_reader(
    app: Flask, reader: Reader, smtp: SmtpServer, maya: None
) -> None:
    smtp.handler.mode = "hang"
    reader.send_and_follow(message="Fast please", name="Rita")
    # The request only queued the mail: sending in it would have waited for
    # the hanging server. (Not timed: a busy machine's request is slow too.)
    assert smtp.handler.attempts == []
    [message] = outbox(app)
    assert (message.state, message.attempts) == ("queued", 0)

    started = time.monotonic()
    result = send_due(app)
    elapsed = time.monotonic() - started
    assert (result.sent, result.retried, result.failed) == (0, 1, 0)
    assert TIMEOUT * 0.9 <= elapsed < TIMEOUT * 2.5, elapsed
    deferred = row(app, message.id)
    assert (deferred.state, deferred.attempts) == ("queued", 1)
    assert "timed out" in deferred.last_error
    assert smtp.received == []


def test_server_that_never_greets_times_out(app: Flask) -> None:
    """A listening socket nobody accepts on: the TCP connect succeeds, no banner."""
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        app.config.update(
            SMTP_HOST="127.0.0.1",
            SMTP_PORT=silent.getsockname()[1],
            SMTP_TLS="none",
            SMTP_TIMEOUT=TIMEOUT,
        )
        [message] = queue(app, 1)
        started = time.monotonic()
        result = send_due(app)
        elapsed = time.monotonic() - started
    assert result.retried == 1
    assert TIMEOUT * 0.9 <= elapsed < TIMEOUT * 2.5, elapsed
    deferred = row(app, message.id)
    assert deferred.state == "queued" and "timed out" in deferred.last_error


def test_smtp_url_is_honoured(app: Flask, smtp: SmtpServer) -> None:
    app.config.update(SMTP_HOST=None, SMTP_URL=f"smtp://127.0.0.1:{smtp.port}")
    [message] = queue(app, 1)
    assert send_due(app).sent == 1
    assert smtp.message_ids() == Counter({message.message_id: 1})


# --- 7. two senders at once ---


def _second_app(app: Flask) -> Flask:
    """Another app (as another worker process would have) on the same database."""
    keys = (
        "DATABASE_URL",
        "SITE_INDEX_PATH",
        "OUTPUT_PATH",
        "SITE_URL",
        "COMMENTS_PATH",
        "MAILDIR_PATH",
        "SMTP_HOST",
        "SMTP_PORT",
        "SMTP_TLS",
        "SMTP_TIMEOUT",
    )
    return create_app(
        {"TESTING": True, "SECRET_KEY": "test secret"}
        | {key: app.config[key] for key in keys}
    )


def test_two_senders_deliver_each_message_once(app: Flask, smtp: SmtpServer) -> None:
    messages = queue(app, 20)
    other = _second_app(app)
    senders = [app, app, other, other]  # two threads per app
    barrier = threading.Barrier(len(senders))
    totals: list[int] = []
    errors: list[BaseException] = []

    def drain(sender: Flask) -> None:
        sent = 0
        try:
            barrier.wait()
            while True:
                result = send_due(sender, limit=3)
                if not (result.sent or result.retried or result.failed):
                    break
                sent += result.sent
        except BaseException as exc:  # reported below
            errors.append(exc)
        totals.append(sent)

    threads = [threading.Thread(target=drain, args=(s,)) for s in senders]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
    finally:
        get_db(other).dispose()
    assert errors == []
    assert sum(totals) == 20
    assert sum(1 for t in totals if t) >= 2  # both really took part
    assert smtp.message_ids() == Counter({m.message_id: 1 for m in messages})
    assert {m.state for m in outbox(app)} == {"sent"}


def test_a_batch_longer_than_its_lease_is_not_sent_twice(
    app: Flask, smtp: SmtpServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # To scale: the lease is shorter than the batch takes (2 hanging
    # messages at SMTP_TIMEOUT each), as 5 min is shorter than 50 x 10 s.
    monkeypatch.setattr(sender_module, "LEASE", timedelta(seconds=TIMEOUT * 1.3))
    queue(app, 2, prefix="slow")
    [fast] = queue(app, 1, prefix="fast")
    first = threading.Thread(target=send_due, args=(app,))
    first.start()
    time.sleep(TIMEOUT * 1.6)  # the first sender is still busy, its lease over
    send_due(app)
    first.join(10)
    assert smtp.message_ids()[fast.message_id] == 1


# --- 8. header injection ---

INJECTED = "a@example.org\r\nBcc: x@evil.example"


@pytest.mark.parametrize(
    "fields",
    [
        {"email": INJECTED},
        {"email": "a@example.org\nBcc: x@evil.example"},
        {"name": "Rita\r\nBcc: x@evil.example", "email": "a@example.org"},
        {"email": "Evil <x@evil.example>"},
        {"email": "a@example.org, x@evil.example"},
    ],
)
def test_injection_in_the_feedback_form_is_refused(
    app: Flask, reader: Reader, smtp: SmtpServer, maya: None, fields: dict[str, str]
) -> None:
    response = reader.send(**fields)
    assert response.status_code == 422
    with get_db(app).read() as session:
        assert session.scalars(select(Feedback)).all() == []
    assert outbox(app) == []
    send_due(app)
    assert smtp.received == []


@pytest.mark.parametrize(
    "fields",
    [
        {"email": INJECTED},
        {"name": "Ana\r\nBcc: x@evil.example"},
        {"website": "https://example.org/\r\nBcc: x@evil.example"},
    ],
)
def test_injection_in_the_comment_form_is_refused(
    app: Flask,
    client: FlaskClient,
    smtp: SmtpServer,
    maya: None,
    fields: dict[str, str],
) -> None:
    data = {"article": ARTICLE, "name": "Ana", "body": "Hi", **fields}
    response = client.post("/comments", data=data, headers={"Origin": ORIGIN})
    assert response.status_code == 422
    assert outbox(app) == []


def test_injection_in_the_contact_address_is_refused(
    app: Flask,
    client: FlaskClient,
    reader: Reader,
    runner: FlaskCliRunner,
    smtp: SmtpServer,
    maya: None,
) -> None:
    token, _ = reader.send_and_follow(message="Hello")
    page = client.get(f"/r/{token}")
    response = client.post(
        f"/r/{token}/contact",
        data={"csrf_token": csrf_token(page.text), "email": INJECTED},
    )
    assert response.status_code == 422
    assert newest_feedback(app).email is None
    reply(runner, newest_feedback(app).id, "Page only")
    send_due(app)
    assert all("evil" not in r for got in smtp.received for r in got.rcpt_tos)
    assert [got.rcpt_tos for got in smtp.received] == [(MAYA_EMAIL,)]


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("subject", "Hello\nBcc: x@evil.example"),
        ("subject", "Hello\rBcc: x@evil.example"),
        ("to", INJECTED),
        ("reply_to", INJECTED),
        ("to", "Evil <x@evil.example>"),
        ("list_unsubscribe", "https://x.example/u\r\nBcc: x@evil.example"),
    ],
)
def test_queue_mail_refuses_line_breaks_and_non_addresses(
    app: Flask, smtp: SmtpServer, field: str, value: str
) -> None:
    arguments: dict[str, Any] = {
        "kind": "test",
        "to": "r@example.org",
        "subject": "Hello",
        "body": "Body\nBcc: in the body is only text\n",
        "site_url": app.config["SITE_URL"],
        field: value,
    }
    with pytest.raises(HeaderError), get_db(app).write() as session:
        queue_mail(session, **arguments)
    assert outbox(app) == []
    assert send_due(app).sent == 0


def test_body_text_cannot_add_headers(app: Flask, smtp: SmtpServer) -> None:
    with get_db(app).write() as session:
        queue_mail(
            session,
            kind="test",
            to="r@example.org",
            subject="Hello",
            body="\r\nBcc: x@evil.example\r\n\r\nText",
            site_url=app.config["SITE_URL"],
        )
    send_due(app)
    received = smtp.only()
    assert received.rcpt_tos == ("r@example.org",)
    assert received.message["Bcc"] is None


@pytest.mark.parametrize(
    "address", [INJECTED, "maya@example.org\nBcc: x@evil.example", "not-an-address"]
)
def test_author_with_a_bad_address_is_refused(
    app: Flask, runner: FlaskCliRunner, address: str
) -> None:
    result = runner.invoke(args=["authors", "add", MAYA, address])
    assert result.exit_code != 0
    assert result.output.startswith("Error:")
    with get_db(app).read() as session:
        assert session.scalars(select(Author)).all() == []

    assert runner.invoke(args=["authors", "add", MAYA, MAYA_EMAIL]).exit_code == 0
    changed = runner.invoke(args=["authors", "set", MAYA, "--email", address])
    assert changed.exit_code != 0
    with get_db(app).read() as session:
        assert session.scalars(select(Author.email)).all() == [MAYA_EMAIL]


def test_author_name_with_a_line_break_is_refused(
    app: Flask, runner: FlaskCliRunner
) -> None:
    result = runner.invoke(
        args=["authors", "add", "Maya\r\nBcc: x@evil.example", "m@example.org"]
    )
    assert result.exit_code != 0
    with get_db(app).read() as session:
        assert session.scalars(select(Author)).all() == []


# --- 9. backoff and giving up ---


def test_backoff_grows_and_caps() -> None:
    waits = [backoff(n) for n in range(1, 12)]
    assert waits[:4] == [timedelta(seconds=s) for s in (30, 60, 120, 240)]
    assert all(a <= b for a, b in pairwise(waits))
    assert max(waits) == timedelta(hours=1)
    assert backoff(50) == timedelta(hours=1)


def test_temporary_failures_give_up_after_max_attempts(
    app: Flask, smtp: SmtpServer
) -> None:
    app.config["OUTBOX_MAX_ATTEMPTS"] = 4
    [message] = queue(app, 1)
    smtp.handler.mode = "451"
    for attempt in range(1, 4):
        before = utcnow()
        assert send_due(app).retried == 1
        after = utcnow()
        deferred = row(app, message.id)
        assert (deferred.state, deferred.attempts) == ("queued", attempt)
        assert (
            before + backoff(attempt)
            <= deferred.next_attempt_at
            <= after + backoff(attempt)
        )
        make_due(app)
    send_due(app)
    failed = row(app, message.id)
    assert (failed.state, failed.attempts) == ("failed", 4)
    assert "451" in failed.last_error
    smtp.handler.mode = "ok"
    make_due(app)
    assert send_due(app).sent == 0
    assert len(smtp.handler.attempts) == 4


def test_giving_up_is_reported_as_failed(
    app: Flask, runner: FlaskCliRunner, smtp: SmtpServer
) -> None:
    app.config["OUTBOX_MAX_ATTEMPTS"] = 1
    queue(app, 1)
    smtp.handler.mode = "451"
    result = runner.invoke(args=["outbox", "send"])
    assert [m.state for m in outbox(app)] == ["failed"]
    assert "Sent 0, to retry 0, failed 1." in result.output


# --- 10. the lease ---


def test_an_expired_lease_is_taken_over_a_live_one_is_not(
    app: Flask, smtp: SmtpServer
) -> None:
    stuck, busy = queue(app, 2)
    with get_db(app).write() as session:
        session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == stuck.id)
            .values(state="sending", claimed_until=utcnow() - timedelta(seconds=1))
        )
        session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == busy.id)
            .values(state="sending", claimed_until=utcnow() + timedelta(minutes=4))
        )
    result = send_due(app)
    assert (result.sent, result.retried, result.failed) == (1, 0, 0)
    assert smtp.message_ids() == Counter({stuck.message_id: 1})
    assert row(app, stuck.id).state == "sent"
    assert row(app, busy.id).state == "sending"


# --- internationalised addresses ---


def test_a_non_ascii_local_part_is_refused_at_the_form(
    app: Flask, reader: Reader, maya: None
) -> None:
    response = reader.send(message="From José", email="josé@example.org")
    assert response.status_code == 422
    assert "not an e-mail address we can use" in response.text
    assert outbox(app) == []


def test_a_message_that_cannot_be_built_never_blocks_the_outbox(
    app: Flask, reader: Reader, smtp: SmtpServer, maya: None
) -> None:
    reader.send_and_follow(message="From Bo", name="Bo")
    with get_db(app).write() as session:
        # A row from before addresses were checked as strictly as now.
        bad = OutboxMessage(
            kind="test",
            recipient="josé@example.org",
            subject="Old",
            body="Old",
            message_id="<old@blog.example.org>",
        )
        session.add(bad)
    result = send_due(app)  # must not raise
    assert (result.sent, result.failed) == (1, 1)
    states = {m.recipient: m.state for m in outbox(app)}
    assert states == {"maya@example.org": "sent", "josé@example.org": "failed"}
    assert any("From Bo" in text_of(r) for r in smtp.received)


def test_an_idn_address_is_usable(
    app: Flask, reader: Reader, runner: FlaskCliRunner, smtp: SmtpServer, maya: None
) -> None:
    smtp.stop()
    smtp.smtputf8 = False  # plenty of servers do not offer it
    smtp.start()
    reader.send_and_follow(message="IDN", email="ana@exämple.org")
    reply(runner, newest_feedback(app).id, "Answer")
    result = send_due(app)
    notification = next(r for r in smtp.received if r.rcpt_tos == (MAYA_EMAIL,))
    [reply_to] = re.findall(rb"^Reply-To: (.*)$", notification.content, re.M)
    assert b"=?" not in reply_to
    assert result.sent == 3  # the notification, the acknowledgement, the answer


def test_log_lines_name_messages_never_readers(
    app: Flask, smtp: SmtpServer, caplog: pytest.LogCaptureFixture
) -> None:
    """A server's answer often quotes the address; the log line does not."""
    [message] = queue(app, 1)
    smtp.handler.rcpt_answer = "450 4.2.1 <reader0@example.org>: Mailbox busy"
    with caplog.at_level("INFO", logger="feedback_app"):
        send_due(app)
    [line] = [
        r.getMessage() for r in caplog.records if r.name == "feedback_app.mail.sender"
    ]
    assert line == (
        f"mail #{message.id} (test) deferred: 450 4.2.1 <<address>>: Mailbox busy"
    )
    assert "reader0@example.org" in row(app, message.id).last_error  # for `show`


# --- line breaks of every kind in readers' names ---

#: Every character ``str.splitlines`` ends a line at: Python's ``email``
#: package takes each for a line break in a header.
LINE_BREAKS = [
    "\n",
    "\r",
    "\v",
    "\f",
    "\x1c",
    "\x1d",
    "\x1e",
    "\x85",
    "\u2028",
    "\u2029",
]
INJECTED_HEADER = "Bcc: victim@evil.example"


def header_lines(received: Received) -> list[bytes]:
    """The header section as the server received it, unfolded."""
    head = received.content.split(b"\r\n\r\n", 1)[0]
    return re.sub(rb"\r\n[ \t]", b" ", head).split(b"\r\n")


def assert_one_clean_subject(received: Received, name: str) -> None:
    """Nothing a name held became a header; the name is in the Subject."""
    lines = header_lines(received)
    assert not [line for line in lines if line.lower().startswith(b"bcc")], lines
    assert len([line for line in lines if line.startswith(b"Subject:")]) == 1
    subject = received.message["Subject"]
    assert not set(subject) & set("".join(LINE_BREAKS)), repr(subject)
    assert " ".join(name.split()) in " ".join(subject.split())
    assert received.rcpt_tos == (MAYA_EMAIL,)


@pytest.mark.parametrize("form", ["feedback", "comment"])
@pytest.mark.parametrize(
    "brk", LINE_BREAKS, ids=[f"U+{ord(c):04X}" for c in LINE_BREAKS]
)
def test_a_name_with_a_line_break_is_refused_by_the_forms(
    app: Flask, client: FlaskClient, smtp: SmtpServer, maya: None, form: str, brk: str
) -> None:
    """A name holding any line break is refused, the form shown again with
    what the reader wrote; nothing is stored or mailed."""
    name = f"Eve{brk}{INJECTED_HEADER}"
    if form == "feedback":
        response = Reader(client).send(name=name, message="Kept text.")
    else:
        response = Commenter(client).post(name=name, body="Kept text.")
    assert response.status_code in (400, 422), response.status_code
    assert "Kept text." in response.text
    assert outbox(app) == []
    with get_db(app).read() as session:
        assert session.scalars(select(Comment)).all() == []
        assert session.scalars(select(Feedback)).all() == []


@pytest.mark.parametrize(
    "brk", LINE_BREAKS[2:], ids=[f"U+{ord(c):04X}" for c in LINE_BREAKS[2:]]
)
def test_a_stored_name_with_a_line_break_still_notifies_on_one_line(
    app: Flask, smtp: SmtpServer, maya: None, brk: str
) -> None:
    """A comment whose name was stored by an older version (which let
    U+2028 and the like through) is notified, the name on one header line."""
    from feedback_app.mail import messages as notify

    name = f"Eve{brk}{INJECTED_HEADER}"
    article = app.extensions["site_index"].article(ARTICLE)
    comment = Comment(id=1, name=name, email=None, body="Hello.", state="approved")
    with app.test_request_context(), get_db(app).write() as session:
        statement = notify.comment_received_mail(comment, article, app.config)
        assert statement is not None
        session.connection().execute(*statement)
    result = send_due(app)
    assert (result.sent, result.failed) == (1, 0)
    assert_one_clean_subject(smtp.only(), name)


@pytest.mark.parametrize(
    "brk", LINE_BREAKS, ids=[f"U+{ord(c):04X}" for c in LINE_BREAKS]
)
def test_mail_queued_with_a_line_break_in_its_subject_is_sent_on_one_line(
    app: Flask, smtp: SmtpServer, brk: str
) -> None:
    """An outbox row written before headers were checked for every kind of
    line break still goes out, its Subject on one line."""
    name = f"Eve{brk}{INJECTED_HEADER}"
    with get_db(app).write() as session:
        session.add(
            OutboxMessage(
                kind="comment-to-author",
                recipient=MAYA_EMAIL,
                subject=f"Comment from {name}",
                body="Hello.\n",
                message_id="<old-row@blog.example.org>",
            )
        )
    result = send_due(app)
    assert (result.sent, result.failed) == (1, 0)
    assert_one_clean_subject(smtp.only(), name)
