"""Where mail goes: SMTP (plain, STARTTLS or TLS) or a local Maildir.

Both take a message as the bytes ``outbox.wire_bytes`` wrote and its
envelope: the SMTP server receives exactly those bytes, and the Maildir
keeps them (with LF line ends, as Maildir files have) after a
``Return-Path`` naming the envelope sender, as a delivery agent writes it.

A delivery ends in one of three ways: delivered, a temporary failure (a 4xx
answer, a refused or dropped connection, a timeout: retry later) or a
permanent one (a 5xx answer).
"""

from __future__ import annotations

import mailbox
import smtplib
import ssl
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit


class TemporaryFailure(Exception):
    """The message may go through later: retry it."""


class PermanentFailure(Exception):
    """The server refused the message for good: mark it failed."""


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int
    tls: str  # "none", "starttls" or "tls"
    username: str | None
    password: str | None
    timeout: float
    ca_file: str | None = None
    #: The HELO/EHLO name; None: this host's FQDN (smtplib's default).
    local_hostname: str | None = None

    def tls_context(self) -> ssl.SSLContext:
        """Return a verifying TLS context (the system's CAs, or ``ca_file``)."""
        return ssl.create_default_context(cafile=self.ca_file)


def smtp_settings(config: Any) -> SmtpSettings | None:
    """Read the SMTP settings (``SMTP_URL`` or ``SMTP_*``); None: no SMTP."""
    if config.get("SMTP_URL"):
        url = urlsplit(config["SMTP_URL"])
        tls = {"smtp": "none", "smtp+starttls": "starttls", "smtps": "tls"}.get(
            url.scheme
        )
        if tls is None or not url.hostname:
            raise ValueError("SMTP_URL: smtp://, smtp+starttls:// or smtps://host")
        return SmtpSettings(
            host=url.hostname,
            port=url.port or {"none": 25, "starttls": 587, "tls": 465}[tls],
            tls=tls,
            username=unquote(url.username) if url.username else None,
            password=unquote(url.password) if url.password else None,
            timeout=float(config["SMTP_TIMEOUT"]),
            ca_file=config.get("SMTP_CA_FILE"),
            local_hostname=config.get("SMTP_LOCAL_HOSTNAME") or None,
        )
    if not config.get("SMTP_HOST"):
        return None
    tls = config["SMTP_TLS"]
    if tls not in ("none", "starttls", "tls"):
        raise ValueError("SMTP_TLS must be none, starttls or tls")
    return SmtpSettings(
        host=config["SMTP_HOST"],
        port=int(config["SMTP_PORT"]),
        tls=tls,
        username=config.get("SMTP_USERNAME"),
        password=config.get("SMTP_PASSWORD"),
        timeout=float(config["SMTP_TIMEOUT"]),
        ca_file=config.get("SMTP_CA_FILE"),
        local_hostname=config.get("SMTP_LOCAL_HOSTNAME") or None,
    )


def deliver_smtp(
    settings: SmtpSettings, content: bytes, *, mail_from: str, rcpt_to: str
) -> None:
    """Send one message (its bytes, as they go out) to ``rcpt_to`` over
    SMTP, with ``mail_from`` as its envelope sender; sort failures into
    temporary and permanent."""
    try:
        if settings.tls == "tls":
            client: smtplib.SMTP = smtplib.SMTP_SSL(
                settings.host,
                settings.port,
                local_hostname=settings.local_hostname,
                timeout=settings.timeout,
                context=settings.tls_context(),
            )
        else:
            client = smtplib.SMTP(
                settings.host,
                settings.port,
                local_hostname=settings.local_hostname,
                timeout=settings.timeout,
            )
        with client:
            if settings.tls == "starttls":
                client.starttls(context=settings.tls_context())
            if settings.username:
                client.login(settings.username, settings.password or "")
            # The bytes as written: send_message would write them again.
            client.sendmail(mail_from, [rcpt_to], content)
    except smtplib.SMTPRecipientsRefused as exc:
        codes = [code for code, _ in exc.recipients.values()]
        answer = "; ".join(
            f"{c} {m.decode(errors='replace')}" for c, m in exc.recipients.values()
        )
        if all(400 <= code < 500 for code in codes):
            raise TemporaryFailure(answer) from None
        raise PermanentFailure(answer) from None
    except smtplib.SMTPResponseException as exc:
        answer = f"{exc.smtp_code} {exc.smtp_error.decode(errors='replace')}"
        if 400 <= exc.smtp_code < 500:
            raise TemporaryFailure(answer) from None
        raise PermanentFailure(answer) from None
    except (TimeoutError, smtplib.SMTPException, OSError) as exc:
        # Refused or dropped connections, timeouts, TLS trouble.
        raise TemporaryFailure(f"{type(exc).__name__}: {exc}") from None


def deliver_maildir(folder: Path, content: bytes, *, mail_from: str) -> None:
    """Keep one message (its bytes, as they would go out) in a local Maildir
    (the offline default), after a ``Return-Path`` with its envelope sender."""
    box = mailbox.Maildir(folder, create=True)
    lines = b"Return-Path: <%s>\r\n%s" % (mail_from.encode("ascii"), content)
    box.add(lines.replace(b"\r\n", b"\n"))
