"""Every kind of mail the app sends, as the bytes an SMTP server receives.

Each kind is produced as people produce it (a reader's post, an author's
command, a failed sign-in), sent by ``send_due`` to a real aiosmtpd server,
and checked on the raw bytes it received (``envelope.original_content``),
with the envelope (MAIL FROM, RCPT TO) and the HELO name it was given:
never on headers parsed back by Python's email package, whose own folding
and encoding are what is being checked.

``KINDS`` has a case for every ``kind=`` the app's source queues: a new kind
of mail fails ``test_every_kind_of_mail_has_a_case`` until it has one.
"""

from __future__ import annotations

import ast
import base64
import email
import email.policy
import quopri
import re
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner
from sqlalchemy import update

from feedback_app.core.db import get_db
from feedback_app.core.models import OutboxMessage
from feedback_app.mail import conversations
from feedback_app.mail.outbox import queue_mail
from feedback_app.mail.sender import send_due

from ..conftest import (
    Commenter,
    Desk,
    Reader,
    add_author,
    csrf_token,
    newest_comment,
    outbox,
)
from .test_mail import MAYA, MAYA_EMAIL, follow_up, free_port, newest_feedback

PACKAGE = Path(__file__).resolve().parents[2] / "feedback_app"
HELO = "mail-out.blog.example.org"
SITE_NAME = "Talking Shop"  # SITENAME of pelicanconf.py, in the site index
SITE_ADDRESS = "noreply@blog.example.org"
DESK_PASSWORD = "a desk password"


# --- a real SMTP server that keeps what it was given -------------------------


@dataclass(frozen=True)
class Received:
    helo: str
    mail_from: str
    rcpt_tos: tuple[str, ...]
    raw: bytes  # envelope.original_content: the bytes as they came


class Recorder:
    def __init__(self) -> None:
        self.received: list[Received] = []
        self.lock = threading.Lock()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        with self.lock:
            self.received.append(
                Received(
                    session.host_name,
                    envelope.mail_from,
                    tuple(envelope.rcpt_tos),
                    bytes(envelope.original_content),
                )
            )
        return "250 OK"


@contextmanager
def smtp_server(app: Flask) -> Iterator[Recorder]:
    """aiosmtpd on loopback; ``app`` sends to it, saying HELO as ``HELO``."""
    recorder = Recorder()
    port = free_port()
    controller = Controller(recorder, hostname="127.0.0.1", port=port)
    controller.start()
    app.config.update(
        SMTP_HOST="127.0.0.1",
        SMTP_PORT=port,
        SMTP_TLS="none",
        SMTP_TIMEOUT=5,
        SMTP_LOCAL_HOSTNAME=HELO,
    )
    try:
        yield recorder
    finally:
        controller.stop()


@pytest.fixture
def server(app: Flask) -> Iterator[Recorder]:
    with smtp_server(app) as recorder:
        yield recorder


# --- each kind of mail, made as people make it ---------------------------------


@dataclass
class World:
    """The app as its people use it: readers' browsers and authors' shells."""

    app: Flask
    client: FlaskClient
    runner: FlaskCliRunner

    def cli(self, *args: str) -> str:
        result = self.runner.invoke(args=list(args))
        assert result.exit_code == 0, result.output
        return result.output

    def feedback(self, **fields: str) -> str:
        """A reader sends feedback on Maya's article; return the reply token."""
        token, _ = Reader(self.client).send_and_follow(**fields)
        return token


def feedback_to_author(w: World) -> None:
    w.feedback(message="Loved it.", name="Zoë Ångström", email="zoe@example.org")


def feedback_ack(w: World) -> None:
    w.feedback(message="Thanks!", email="rita@example.org")


def post_answer_to_reader(w: World) -> None:
    w.feedback(message="Worth a post?", email="rita@example.org", may_quote="y")
    desk = Desk(w.app.test_client())
    assert desk.sign_in(MAYA, DESK_PASSWORD).status_code == 303
    feedback_id = newest_feedback(w.app).id
    answer = {
        "answer": "My answer to everyone.",
        "send_to": "post",
        "title": "On quotas",
    }
    assert desk.post(f"/desk/feedback/{feedback_id}/answer", answer).status_code == 303
    assert desk.post(f"/desk/feedback/{feedback_id}/post/publish").status_code == 303


def follow_up_to_author(w: World) -> None:
    token = w.feedback(message="First thought", email="rita@example.org")
    follow_up(w.client, token, "Second thought")


def comment_to_author(w: World) -> None:
    Commenter(w.client).post_ok(body="Nice *piece*.")


def reply_to_reader(w: World) -> None:
    w.feedback(message="Could you say more?", name="Rita", email="rita@example.org")
    feedback_id = str(newest_feedback(w.app).id)
    for text in ("Gladly.", "And one more thing.", "And a third."):
        w.cli("feedback", "reply", feedback_id, "-m", text, "--as", MAYA)


def confirm_subscription(w: World) -> None:
    Commenter(w.client).post_ok(notify_replies="y")


def reply_notification(w: World) -> None:
    Commenter(w.client).post_ok(notify_replies="y")
    parent = newest_comment(w.app)
    w.cli("comments", "approve", str(parent.id))
    [confirm] = outbox(w.app, "confirm-subscription")
    path = re.search(r"http://localhost(/\S+)", confirm.body)[1]
    page = w.client.get(path)
    w.client.post(path, data={"csrf_token": csrf_token(page.text)})
    w.cli("comments", "reply", str(parent.id), "-m", "Thank you, Ana.", "--as", MAYA)


def digest(w: World) -> None:
    w.cli("authors", "set", MAYA, "--notify", "digest")
    w.feedback(message="For the digest")
    Commenter(w.client).post_ok(body="Also for the digest")
    w.cli("outbox", "digest")


def sign_in_locked(w: World) -> None:
    w.app.config.update(SIGNIN_SLOW_AFTER=100, SIGNIN_LOCK_AFTER=3)
    for _ in range(4):
        browser = w.app.test_client()
        page = browser.get("/desk/sign-in")
        browser.post(
            "/desk/sign-in",
            data={
                "csrf_token": csrf_token(page.text),
                "name": MAYA,
                "password": "not " + DESK_PASSWORD,
            },
        )


def password_reset(w: World) -> None:
    page = w.client.get("/desk/forgot-password")
    w.client.post(
        "/desk/forgot-password",
        data={"csrf_token": csrf_token(page.text), "name": MAYA},
    )


#: Every kind of mail the app sends, and how people make one: whoever adds
#: a kind of mail (``feedback-ack``, ``post-answer-to-reader``, …) adds its
#: case here, or ``test_every_kind_of_mail_has_a_case`` fails.
KINDS: dict[str, Callable[[World], None]] = {
    "feedback-to-author": feedback_to_author,
    "feedback-ack": feedback_ack,
    "post-answer-to-reader": post_answer_to_reader,
    "follow-up-to-author": follow_up_to_author,
    "comment-to-author": comment_to_author,
    "reply-to-reader": reply_to_reader,
    "confirm-subscription": confirm_subscription,
    "reply-notification": reply_notification,
    "digest": digest,
    "sign-in-locked": sign_in_locked,
    "password-reset": password_reset,
}


#: The functions that queue mail (``mail/outbox.py``).
QUEUEING = {"queue_mail", "mail_each"}


def kinds_in_source() -> set[str]:
    """Every ``kind="…"`` given to ``queue_mail`` or ``mail_each`` in the
    app's source."""
    found = set()
    for path in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if not isinstance(node, ast.Call):
                continue
            function = node.func
            name = getattr(function, "id", None) or getattr(function, "attr", None)
            for keyword in node.keywords if name in QUEUEING else ():
                assert keyword.arg != "kind" or isinstance(
                    keyword.value, ast.Constant
                ), f"{path}: a kind of mail is named by a constant, so it is seen here"
                if keyword.arg == "kind":
                    found.add(keyword.value.value)
    return found


def test_every_kind_of_mail_has_a_case() -> None:
    assert kinds_in_source() == set(KINDS)


# --- what the bytes must be -----------------------------------------------------


def header(raw: bytes, name: str) -> list[bytes]:
    """The values of header ``name`` (case as written), still folded."""
    head = b"\r\n" + raw.split(b"\r\n\r\n", 1)[0] + b"\r\n"
    pattern = rb"\r\n" + name.encode() + rb": ([^\r\n]*(?:\r\n[ \t][^\r\n]*)*)(?=\r\n)"
    return re.findall(pattern, head)


def only(raw: bytes, name: str) -> bytes:
    [value] = header(raw, name)
    return value


ENCODED_WORD = re.compile(rb"=\?utf-8\?([qQbB])\?([^?\s]*)\?=")


def decoded(value: bytes) -> str:
    """An unstructured header's text (RFC 2047), decoded here, not by the
    email package: each encoded word at most 75 characters."""
    unfolded = re.sub(rb"\r\n([ \t])", rb"\1", value)
    # White space between two encoded words is not part of the text.
    unfolded = re.sub(rb"(?<=\?=)[ \t]+(?==\?)", b"", unfolded)
    out = b""
    end = 0
    for word in ENCODED_WORD.finditer(unfolded):
        assert len(word[0]) <= 75, word[0]
        out += unfolded[end : word.start()]
        data = word[2]
        if word[1] in b"qQ":
            out += quopri.decodestring(data, header=True)
        else:
            out += base64.b64decode(data)
        end = word.end()
    return (out + unfolded[end:]).decode("utf-8")


def expected_reply_to(app: Flask, row: OutboxMessage) -> str | None:
    with get_db(app).read() as session:
        salt = conversations.salts(session, [row.thread_key]).get(row.thread_key, "")
    return (
        conversations.reply_address(
            row.thread_key, row.kind, row.recipient, app.config, salt
        )
        or row.reply_to
    )


def check_wire(app: Flask, row: OutboxMessage, got: Received) -> None:
    """What every message must be on the wire."""
    raw = got.raw
    assert raw.isascii()
    assert b"\n" not in raw.replace(b"\r\n", b"") and b"\r" not in raw.replace(
        b"\r\n", b""
    )
    assert max(len(line) for line in raw.split(b"\r\n")) <= 998
    # The envelope: the message's own bounce address, the site's HELO name.
    bounce = conversations.bounce_address(row.id, row.recipient, app.config)
    assert re.fullmatch(r"noreply\+b[0-9]+-[a-z2-7]{16}@blog\.example\.org", bounce)
    assert (got.helo, got.mail_from, got.rcpt_tos) == (HELO, bounce, (row.recipient,))
    # The headers, as written.
    assert only(raw, "From") == f"{SITE_NAME} <{SITE_ADDRESS}>".encode()
    assert only(raw, "To") == row.recipient.encode()
    assert only(raw, "Message-ID") == row.message_id.encode()
    assert re.fullmatch(
        rb"<[0-9a-f]{32}(\.[0-9]+)?@blog\.example\.org>", only(raw, "Message-ID")
    )
    reply_to = expected_reply_to(app, row)
    assert header(raw, "Reply-To") == ([reply_to.encode()] if reply_to else [])
    if row.in_reply_to:
        assert only(raw, "In-Reply-To") == row.in_reply_to.encode()
        references = only(raw, "References")
        assert b"=?" not in references
        # Folded, if at all, only between its identifiers.
        assert re.sub(rb"\r\n[ \t]", b" ", references) == row.references.encode()
    else:
        assert header(raw, "In-Reply-To") == header(raw, "References") == []
    if row.list_unsubscribe:
        assert re.search(rb"\r\nList-Unsubscribe: <https://[^\r\n>]+>\r\n", raw)
        assert only(raw, "List-Unsubscribe") == f"<{row.list_unsubscribe}>".encode()
        assert only(raw, "List-Unsubscribe-Post") == b"List-Unsubscribe=One-Click"
    else:
        assert header(raw, "List-Unsubscribe") == []
    subject = only(raw, "Subject")
    assert decoded(subject) == row.subject
    if not row.subject.isascii():
        assert ENCODED_WORD.search(subject)
    # The text, quoted-printable, then the HTML alternative if there is one.
    expected = [(b"text/plain", row.body)]
    if row.html_body:
        expected.append((b"text/html", row.html_body))
    parts = body_parts(raw)
    assert len(parts) == len(expected)
    for (head, body), (mime, text) in zip(parts, expected, strict=True):
        assert only(head, "Content-Type") == mime + b'; charset="utf-8"'
        assert only(head, "Content-Transfer-Encoding") == b"quoted-printable"
        decoded_body = quopri.decodestring(body).decode("utf-8").replace("\r\n", "\n")
        assert decoded_body == (text if text.endswith("\n") else text + "\n")


def body_parts(raw: bytes) -> list[tuple[bytes, bytes]]:
    """The message's parts (head, body): itself, or the parts of its
    multipart/alternative, in their order."""
    boundary = re.fullmatch(
        rb'multipart/alternative;\s+boundary="(.+)"', only(raw, "Content-Type")
    )
    if boundary is None:
        head, body = raw.split(b"\r\n\r\n", 1)
        return [(head, body)]
    parts = raw.split(b"\r\n--" + boundary[1])[1:-1]
    # Each part starts after its boundary line's CRLF; the last ends with CRLF.
    split = [part[2:].split(b"\r\n\r\n", 1) for part in parts]
    return [(head, body) for head, body in split]


def make_world(app: Flask) -> World:
    """The app, with Maya (the author of ARTICLE) able to sign in."""
    add_author(app, MAYA, MAYA_EMAIL, password=DESK_PASSWORD)
    return World(app, app.test_client(), app.test_cli_runner())


@pytest.fixture
def world(app: Flask) -> World:
    return make_world(app)


#: Kinds whose case publishes a post for real: they run on ``publishing_app``
#: (a copy of the site, built), the others on ``app``.
PUBLISHING = {"post-answer-to-reader"}


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_each_kind_of_mail_is_right_on_the_wire(
    request: pytest.FixtureRequest, kind: str
) -> None:
    app = request.getfixturevalue("publishing_app" if kind in PUBLISHING else "app")
    world = make_world(app)
    with smtp_server(app) as server:
        KINDS[kind](world)
        send_due(app)
    rows = outbox(app)
    assert kind in {row.kind for row in rows}
    assert {row.state for row in rows} == {"sent"}
    received = {only(got.raw, "Message-ID").decode(): got for got in server.received}
    assert len(received) == len(rows) == len(server.received)
    for row in rows:
        check_wire(app, row, received[row.message_id])
    if kind == "reply-to-reader":  # a thread: each answer follows the one before
        *earlier, last = outbox(app, kind)
        assert last.references.split()[-2:] == [m.message_id for m in earlier]
    if kind == "follow-up-to-author":
        assert outbox(app, kind)[0].in_reply_to


def test_an_html_alternative_follows_the_text(
    app: Flask, world: World, server: Recorder
) -> None:
    with get_db(app).write() as session:
        queue_mail(
            session,
            kind="test",
            to="rita@example.org",
            subject="Both",
            body="Plain “text” first.\n",
            html="<p>Then <em>HTML</em> “last”.</p>",
            site_url=app.config["SITE_URL"],
        )
    assert send_due(app).sent == 1
    [got] = server.received
    [row] = outbox(app)
    check_wire(app, row, got)
    assert [only(head, "Content-Type") for head, _ in body_parts(got.raw)] == [
        b'text/plain; charset="utf-8"',
        b'text/html; charset="utf-8"',
    ]


def test_the_maildir_keeps_the_bytes_the_server_gets(
    app: Flask, world: World, server: Recorder
) -> None:
    """The same message, sent to SMTP and then kept in the Maildir: the same
    bytes (LF line ends), after a Return-Path with its envelope sender."""
    reply_notification(world)  # a long List-Unsubscribe
    feedback_to_author(world)  # a non-ASCII subject and quoted text
    send_due(app)
    sent = {only(got.raw, "Message-ID"): got for got in server.received}
    with get_db(app).write() as session:
        session.execute(update(OutboxMessage).values(state="queued"))
    for key in ("SMTP_HOST", "SMTP_URL"):
        app.config[key] = None
    send_due(app)
    files = list((Path(app.config["MAILDIR_PATH"]) / "new").iterdir())
    assert len(files) == len(sent) == len(outbox(app)) >= 3
    for path in files:
        kept = path.read_bytes()
        return_path, rest = kept.split(b"\n", 1)
        got = sent[only(rest.replace(b"\n", b"\r\n"), "Message-ID")]
        assert return_path == b"Return-Path: <%s>" % got.mail_from.encode()
        assert rest == got.raw.replace(b"\r\n", b"\n")


def test_without_replies_by_mail_reply_to_is_the_other_persons_address(
    app: Flask, world: World, server: Recorder
) -> None:
    """MAIL_REPLY_ADDRESS "" turns replies by mail off: Reply-To is the
    address stored with the message, the envelope sender MAIL_FROM."""
    app.config["MAIL_REPLY_ADDRESS"] = ""
    world.feedback(message="Hello", email="rita@example.org")
    send_due(app)
    [got] = [got for got in server.received if got.rcpt_tos == (MAYA_EMAIL,)]
    assert got.mail_from == SITE_ADDRESS
    assert only(got.raw, "Reply-To") == b"rita@example.org"
    assert only(got.raw, "From") == f"{SITE_NAME} <{SITE_ADDRESS}>".encode()


def test_mail_from_name_names_the_sender(
    app: Flask, world: World, server: Recorder
) -> None:
    app.config["MAIL_FROM_NAME"] = "Zoë’s Talking Shop, the blog"
    world.feedback(message="Hello")
    send_due(app)
    [got] = server.received
    sender = decoded(only(got.raw, "From"))  # the comma is inside an encoded word
    assert sender == "Zoë’s Talking Shop, the blog <noreply@blog.example.org>"


@pytest.mark.parametrize(
    "subject",
    [
        # A fold falls between two words that need encoding: the space
        # between them was lost ("réponsesà") with Python's own folder.
        "Merci de confirmer\u00a0: e-mails sur les réponses à votre "
        "commentaire sur Talking Shop",
        "Maya Lindqvist hat auf Ihre Nachricht zu „Über Äpfel, Öfen und "
        "Übungen“ geantwortet",
        "Short ü",
    ],
)
def test_a_subject_in_any_language_arrives_word_for_word(
    app: Flask, server: Recorder, subject: str
) -> None:
    with get_db(app).write() as session:
        queue_mail(
            session,
            kind="test",
            to="rita@example.org",
            subject=subject,
            body="Text.\n",
            site_url=app.config["SITE_URL"],
        )
    assert send_due(app).sent == 1
    [got] = server.received
    header, _, _ = got.raw.partition(b"\r\n\r\n")
    assert all(len(line) <= 78 for line in header.split(b"\r\n"))
    parsed = email.message_from_bytes(got.raw, policy=email.policy.default)
    assert parsed["Subject"] == subject
