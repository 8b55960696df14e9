"""SMTP over STARTTLS and implicit TLS, with login, against a real server.

The server is aiosmtpd on loopback with a self-signed certificate kept in
tests/data (for 127.0.0.1 and localhost, test use only), which the app
trusts through ``SMTP_CA_FILE``.
"""

from __future__ import annotations

import email
import email.policy
import socket
import ssl
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from flask import Flask

from feedback_app.core.db import get_db
from feedback_app.core.models import OutboxMessage
from feedback_app.mail.outbox import queue_mail
from feedback_app.mail.sender import send_due

# aiosmtpd does not see implicit TLS as TLS when AUTH is required (see below).
pytestmark = pytest.mark.filterwarnings(
    "ignore:Requiring AUTH while not requiring TLS:UserWarning"
)

DATA = Path(__file__).parents[1] / "data"
CERT, KEY = DATA / "smtp-test-cert.pem", DATA / "smtp-test-key.pem"


class Inbox:
    """An aiosmtpd handler that keeps what it receives."""

    def __init__(self) -> None:
        self.messages: list[email.message.EmailMessage] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(
            email.message_from_bytes(envelope.content, policy=email.policy.default)
        )
        return "250 OK"


def only_user(server: Any, session: Any, envelope: Any, mechanism: str, data: Any):  # type: ignore[no-untyped-def]
    ok = isinstance(data, LoginPassword) and (data.login, data.password) == (
        b"blog",
        b"s3cret",
    )
    return AuthResult(success=ok)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def server_context() -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(CERT, KEY)
    return context


@pytest.fixture(params=["starttls", "tls"])
def tls_server(request: pytest.FixtureRequest) -> Iterator[tuple[str, int, Inbox]]:
    inbox, port = Inbox(), free_port()
    options: dict[str, Any] = {"authenticator": only_user, "auth_required": True}
    if request.param == "starttls":
        options |= {
            "tls_context": server_context(),
            "require_starttls": True,
            "auth_require_tls": True,
        }
    else:
        # aiosmtpd does not count implicit TLS as TLS for auth_require_tls;
        # the whole connection is encrypted anyway.
        options |= {"ssl_context": server_context(), "auth_require_tls": False}
    controller = Controller(inbox, hostname="127.0.0.1", port=port, **options)
    controller.start()
    yield request.param, port, inbox
    controller.stop()


def queue_one(app: Flask) -> OutboxMessage:
    with get_db(app).write() as session:
        return queue_mail(
            session,
            kind="test",
            to="reader@example.org",
            subject="Über TLS",
            body="Grüße",
            site_url=app.config["SITE_URL"],
        )


def url(mode: str, port: int) -> str:
    scheme = "smtp+starttls" if mode == "starttls" else "smtps"
    return f"{scheme}://blog:s3cret@127.0.0.1:{port}"


def test_mail_goes_over_tls_with_login(
    app: Flask, tls_server: tuple[str, int, Inbox]
) -> None:
    mode, port, inbox = tls_server
    app.config.update(SMTP_URL=url(mode, port), SMTP_CA_FILE=str(CERT), SMTP_TIMEOUT=5)
    message = queue_one(app)
    assert send_due(app).sent == 1
    [received] = inbox.messages
    assert received["Message-ID"] == message.message_id
    assert received["Subject"] == "Über TLS"
    assert received.get_content().strip() == "Grüße"


def test_an_untrusted_certificate_is_refused_and_retried_later(
    app: Flask, tls_server: tuple[str, int, Inbox]
) -> None:
    mode, port, inbox = tls_server
    app.config.update(SMTP_URL=url(mode, port), SMTP_TIMEOUT=5)  # system CAs only
    message = queue_one(app)
    assert send_due(app).retried == 1
    with get_db(app).read() as session:
        row = session.get(OutboxMessage, message.id)
    assert row.state == "queued"
    assert "CERTIFICATE_VERIFY_FAILED" in row.last_error
    assert inbox.messages == []
