"""Replies and bounces fetched from an IMAP mailbox: a real Dovecot on
127.0.0.1, TLS only, its certificate issued by a CA this test session makes
(trustme). Messages are delivered into the mailbox by IMAP APPEND; one poll
(``flask mail poll``, or the sender's periodic job) applies them and empties
the mailbox of what it stored.

Skipped only when Dovecot is not installed and ``REQUIRE_IMAP`` is not set
(``.ci/run`` sets it and installs dovecot-imapd).
"""

from __future__ import annotations

import imaplib
import os
import pwd
import shutil
import socket
import ssl
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import trustme
from flask import Flask
from flask.testing import FlaskCliRunner
from sqlalchemy import select

from feedback_app.core.db import get_db
from feedback_app.core.models import BouncedAddress, InboundMessage, OutboxMessage
from feedback_app.mail.sender import OutboxWorker
from feedback_app.services.jobs import periodic

from ..conftest import Desk, Reader
from .test_inbound import (
    READER,
    bounce_address,
    feedback_row,
    gmail,
    outlook,
    postfix_dsn,
    reply_address,
)
from .test_inbound import conversation as conversation  # a fixture

DOVECOT = "/usr/sbin/dovecot"
USER, PASSWORD = "blog", "imap test password"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass(frozen=True)
class Imap:
    """The test's Dovecot: where it listens and the CA its certificate is from."""

    port: int  # imaps
    starttls_port: int  # imap, STARTTLS required before login
    ca_file: str

    def url(self, scheme: str = "imaps") -> str:
        port = self.port if scheme == "imaps" else self.starttls_port
        return (
            f"{scheme}://{USER}:{PASSWORD.replace(' ', '%20')}@127.0.0.1:{port}/INBOX"
        )

    def client(self) -> imaplib.IMAP4_SSL:
        context = ssl.create_default_context(cafile=self.ca_file)
        client = imaplib.IMAP4_SSL("127.0.0.1", self.port, ssl_context=context)
        client.login(USER, PASSWORD)
        return client

    def append(self, *messages: bytes) -> None:
        """Deliver ``messages`` into the mailbox."""
        client = self.client()
        try:
            for raw in messages:
                status, _ = client.append("INBOX", None, None, raw)
                assert status == "OK"
        finally:
            client.logout()

    def count(self) -> int:
        """How many messages the mailbox holds."""
        client = self.client()
        try:
            status, data = client.select("INBOX")
            assert status == "OK"
            return int(data[0])
        finally:
            client.logout()

    def empty(self) -> None:
        client = self.client()
        try:
            _, data = client.select("INBOX")
            if int(data[0]):
                client.store("1:*", "+FLAGS.SILENT", r"(\Deleted)")
                client.expunge()
        finally:
            client.logout()


def _wait_for(port: int, proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"dovecot exited: {log.read_text(errors='replace')}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("dovecot did not start listening within 30 s")


@pytest.fixture(scope="session")
def dovecot() -> Iterator[Imap]:
    """A Dovecot IMAP server of the test session's own, stopped at the end."""
    if not os.path.exists(DOVECOT) or os.geteuid() != 0:
        if os.environ.get("REQUIRE_IMAP"):
            pytest.fail("Dovecot (dovecot-imapd) must be installed and run as root")
        pytest.skip("Dovecot is not installed here (or not root)")
    # Not under pytest's own temporary folder: Dovecot's processes that run
    # as its own user must reach the files (pytest's folder is root's only).
    root = Path(tempfile.mkdtemp(prefix="dovecot-test-"))
    root.chmod(0o755)
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1", "localhost")
    cert.cert_chain_pems[0].write_to_path(str(root / "cert.pem"))
    cert.private_key_pem.write_to_path(str(root / "key.pem"))
    ca.cert_pem.write_to_path(str(root / "ca.pem"))
    mail_user = pwd.getpwnam("dovecot")
    home = root / "home"
    home.mkdir()
    shutil.chown(home, mail_user.pw_uid, mail_user.pw_gid)
    (root / "passwd").write_text(f"{USER}:{{PLAIN}}{PASSWORD}::::::\n")
    port, starttls_port = free_port(), free_port()
    config = root / "dovecot.conf"
    config.write_text(
        f"""
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = required
ssl_cert = <{root}/cert.pem
ssl_key = <{root}/key.pem
disable_plaintext_auth = yes
auth_mechanisms = plain
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {root}/passwd
}}
userdb {{
  driver = static
  args = uid={mail_user.pw_uid} gid={mail_user.pw_gid} home={home}/%u
}}
mail_location = maildir:~/Maildir
first_valid_uid = {mail_user.pw_uid}
first_valid_gid = {mail_user.pw_gid}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {starttls_port}
  }}
  inet_listener imaps {{
    address = 127.0.0.1
    port = {port}
    ssl = yes
  }}
}}
service anvil {{
  chroot =
}}
service stats {{
  inet_listener http {{
    port = 0
  }}
}}
"""
    )
    log = root / "stderr.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [DOVECOT, "-F", "-c", str(config)], stdout=out, stderr=subprocess.STDOUT
        )
    try:
        _wait_for(port, proc, root / "dovecot.log")
        _wait_for(starttls_port, proc, root / "dovecot.log")
        yield Imap(port, starttls_port, str(root / "ca.pem"))
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def mailbox(app: Flask, dovecot: Imap) -> Iterator[Imap]:
    """The empty mailbox, named by the app's IMAP settings."""
    dovecot.empty()
    app.config["IMAP_URL"] = dovecot.url()
    app.config["IMAP_CA_FILE"] = dovecot.ca_file
    yield dovecot
    dovecot.empty()


def inbound(app: Flask) -> list[InboundMessage]:
    with get_db(app).read() as session:
        return list(session.scalars(select(InboundMessage).order_by(InboundMessage.id)))


def test_one_poll_applies_every_message_and_empties_the_mailbox(
    app: Flask, runner: FlaskCliRunner, mailbox: Imap, conversation: str, desk: Desk
) -> None:
    desk.post("/desk/feedback/1/answer", {"answer": "My answer.", "send_to": "private"})
    with get_db(app).read() as session:
        sent = session.scalars(select(OutboxMessage)).all()[-1]
    follow_up = gmail(
        reply_address(app, "feedback", 1, "reader", READER), READER, "By IMAP, thanks."
    )
    stranger = gmail("noreply@blog.example.org", "who@example.com", "Hi there.")
    dsn = postfix_dsn(
        bounce_address(app, sent.id, READER), READER, "5.1.1", "550 5.1.1 No such user"
    )
    mailbox.append(follow_up, stranger, dsn)
    assert mailbox.count() == 3

    result = runner.invoke(args=["mail", "poll"])

    assert result.exit_code == 0, result.output
    assert "3 of 3 message(s) stored and deleted." in result.output
    assert "By IMAP" not in result.output
    assert mailbox.count() == 0
    assert [m.body for m in feedback_row(app).messages] == [
        "My answer.",
        "By IMAP, thanks.",
    ]
    rows = inbound(app)
    assert [(r.received_via, r.state, r.kind) for r in rows] == [
        ("imap", "applied", "follow-up"),
        ("imap", "held", None),
        ("imap", "applied", "bounce"),
    ]
    with get_db(app).read() as session:
        assert session.get(OutboxMessage, sent.id).state == "bounced"
        assert session.scalar(select(BouncedAddress.email)) == READER

    # The same messages again (a server that lost the deletions): stored
    # once, applied once, and deleted all the same.
    mailbox.append(follow_up)
    again = runner.invoke(args=["mail", "poll"])
    assert "duplicate: already received (applied)" in again.output
    assert mailbox.count() == 0
    assert len(feedback_row(app).messages) == 2


def test_the_sender_polls_the_mailbox_over_starttls(
    app: Flask, mailbox: Imap, reader: Reader, conversation: str
) -> None:
    app.config["IMAP_URL"] = mailbox.url("imap+starttls")
    to = reply_address(app, "feedback", 1, "reader", READER)
    mailbox.append(outlook(to, READER, "Polled by the sender."))
    OutboxWorker(app, periodic()).run_once()
    assert mailbox.count() == 0
    assert [m.body for m in feedback_row(app).messages] == ["Polled by the sender."]


def test_what_cannot_be_stored_stays_on_the_server(
    app: Flask, runner: FlaskCliRunner, mailbox: Imap
) -> None:
    mailbox.append(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    result = runner.invoke(args=["mail", "poll"])
    assert result.exit_code == 0, result.output
    assert (
        "0 of 1 message(s) stored and deleted, 1 left on the server." in result.output
    )
    assert mailbox.count() == 1
    assert inbound(app) == []


def test_a_server_whose_certificate_is_not_trusted_is_refused(
    app: Flask, runner: FlaskCliRunner, mailbox: Imap, tmp_path: Path
) -> None:
    other = tmp_path / "other-ca.pem"
    trustme.CA().cert_pem.write_to_path(str(other))
    mailbox.append(gmail("noreply@blog.example.org", "who@example.com", "Hi."))
    for ca_file in (str(other), None):  # another CA; the system's CAs
        app.config["IMAP_CA_FILE"] = ca_file
        result = runner.invoke(args=["mail", "poll"])
        assert result.exit_code == 1
        assert "CERTIFICATE_VERIFY_FAILED" in result.output
        assert PASSWORD not in result.output
    assert mailbox.count() == 1
    assert inbound(app) == []


def test_a_wrong_password_is_refused_clearly(
    app: Flask, runner: FlaskCliRunner, mailbox: Imap
) -> None:
    app.config["IMAP_URL"] = mailbox.url().replace("imap%20test", "wrong")
    result = runner.invoke(args=["mail", "poll"])
    assert result.exit_code == 1
    assert "login to 127.0.0.1 refused" in result.output
