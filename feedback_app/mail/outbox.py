"""Mail: one durable outbox, and the sender that empties it.

Everything the site sends is queued with ``queue_mail`` in the same database
transaction as the event that causes it (a feedback, a comment, a reply), so
either both are stored or neither is, and a slow or absent mail server never
slows a reader down. ``send_due`` delivers what is due:

* it **claims** a batch first (state ``sending`` until a lease runs out, in a
  write transaction), so two senders never send the same message; a sender
  that dies mid-batch lets its lease expire and the message is retried;
* a **temporary** failure (refused or dropped connection, timeout, a 4xx
  answer) is retried with exponential backoff; a **permanent** one (a 5xx
  answer) marks the message ``failed`` with the server's words;
* every message keeps the ``Message-ID`` it got when queued.

Where mail goes: SMTP when ``SMTP_HOST`` (or ``SMTP_URL``) is set; otherwise
a local Maildir under ``instance/`` (the embedded default), so the whole flow
works offline and every message can be read.

Safety: addresses are validated with email-validator when queued; no header
is ever built from text containing CR or LF (``HeaderError``), and the other
characters ``str.splitlines`` ends a line at (VT, FF, U+001C-U+001E, NEL,
U+2028, U+2029), which the ``email`` package also takes for line breaks,
become spaces, when queued and again when sent (rows stored by older
versions): a name holding one is still notified, on one line. A reader's
address only ever appears in To or Reply-To, never in From.
"""

from __future__ import annotations

import logging
import mailbox
import re
import smtplib
import ssl
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import timedelta
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from email_validator import EmailNotValidError, validate_email
from flask import Flask
from sqlalchemy import (
    Insert,
    Integer,
    Select,
    String,
    Text,
    bindparam,
    cast,
    insert,
    literal,
    or_,
    select,
    update,
)
from sqlalchemy.orm import Session

from ..core.db import Statement, get_db
from ..core.models import OutboxMessage, UTCDateTime, utcnow

logger = logging.getLogger(__name__)

#: How long a sender may hold a claimed message before another may retry it.
LEASE = timedelta(minutes=5)


class HeaderError(ValueError):
    """Raised for a header value holding a line break or an invalid address."""


class TemporaryFailure(Exception):
    """The message may go through later: retry it."""


class PermanentFailure(Exception):
    """The server refused the message for good: mark it failed."""


#: Every character ``str.splitlines`` ends a line at.
LINE_BREAKS = re.compile("[\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029]")


def header_text(value: str) -> str:
    """Return ``value`` with every kind of line break made a space."""
    return LINE_BREAKS.sub(" ", value)


def _one_line(value: str, what: str) -> str:
    """Return ``value`` fit for a header: CR or LF is refused (a bug or an
    injection), the rarer line breaks become spaces."""
    if "\r" in value or "\n" in value:
        raise HeaderError(f"{what} must be one line.")
    return header_text(value)


def checked_address(address: str) -> str:
    """Return ``address`` in its ASCII form, or raise HeaderError.

    Only addresses every mail server takes: an ASCII local part (no
    SMTPUTF8), and an international domain in its xn-- form.
    """
    _one_line(address, "An address")
    try:
        return ascii_address(address)
    except EmailNotValidError as exc:
        raise HeaderError(f"Not a usable address: {address!r} ({exc})") from None


def ascii_address(address: str, *, check_deliverability: bool = False) -> str:
    """Validate ``address`` for mail; return its ASCII form.

    :raise EmailNotValidError: with a reason a person can read.
    """
    info = validate_email(
        address, check_deliverability=check_deliverability, allow_smtputf8=False
    )
    return info.ascii_email or info.normalized


def new_message_id(site_url: str) -> str:
    """Return a fresh, globally unique Message-ID on the site's domain."""
    return f"<{uuid.uuid4().hex}@{_domain(site_url)}>"


def _domain(site_url: str) -> str:
    return urlsplit(site_url).hostname or "localhost"


_OUTBOX = OutboxMessage.__table__
_INSERT = insert(_OUTBOX)
# Built once: runs for each threaded message queued.
_THREAD_PARENT = (
    select(_OUTBOX.c.message_id, _OUTBOX.c.references)
    .where(
        _OUTBOX.c.thread_key == bindparam("thread_key"),
        _OUTBOX.c.recipient == bindparam("recipient"),
    )
    .order_by(_OUTBOX.c.id.desc())
    .limit(1)
)


def mail_each(
    recipients: Select[tuple[int, str]],
    params: dict[str, Any],
    *,
    kind: str,
    subject: str,
    body: str,
    site_url: str,
    reply_to: str | None = None,
    thread_key: str | None = None,
) -> Statement:
    """Return the ``INSERT … SELECT`` that queues one message to each
    address ``recipients`` selects (an id and an address, checked when
    stored; ``params`` are its parameters), to run alone or with another
    statement (``db.insert_row``).

    Who is told is decided by the database within the statement: nothing to
    read first, one round trip on a reader's post. Each message's
    Message-ID is fresh: a random part and the recipient's row id. The
    messages start their threads: nothing earlier is looked up.
    ``recipients`` should be built once (a constant, or cached): its
    statement is then built once. ``reply_to`` is an address as the forms
    keep it (``ascii_address``): this runs while a reader's post is being
    stored, so it is not validated again, only kept to one line.

    :raise HeaderError: if a header value has a line break.
    """
    subject = _one_line(subject, "A subject")
    if reply_to:
        _one_line(reply_to, "An address")
    return Statement(
        _insert_each(recipients),
        {
            **params,
            "kind": kind,
            "reply_to": reply_to or None,
            "subject": subject,
            "body": body,
            "id_start": f"<{uuid.uuid4().hex}.",
            "id_end": f"@{_domain(site_url)}>",
            "thread_key": thread_key,
            "queued_at": utcnow(),
        },
    )


@lru_cache(maxsize=16)
def _insert_each(recipients: Select[tuple[int, str]]) -> Insert:
    """The ``INSERT … SELECT`` of ``mail_each`` for one recipients query."""
    row_id, address = recipients.selected_columns
    columns = {
        "kind": bindparam("kind", type_=String()),
        "recipient": address,
        "reply_to": bindparam("reply_to", type_=String()),
        "subject": bindparam("subject", type_=String()),
        "body": bindparam("body", type_=Text()),
        "message_id": bindparam("id_start", type_=String())
        + cast(row_id, String())
        + bindparam("id_end", type_=String()),
        "thread_key": bindparam("thread_key", type_=String()),
        # The columns' defaults, given: SQLAlchemy fills in Python-side
        # defaults of an INSERT … SELECT itself, but not once it has a WITH
        # clause of another INSERT (db.insert_row).
        "state": literal("queued", String()),
        "attempts": literal(0, Integer()),
        "next_attempt_at": bindparam("queued_at", type_=UTCDateTime()),
        "created_at": bindparam("queued_at", type_=UTCDateTime()),
    }
    rows = recipients.with_only_columns(
        *(value.label(name) for name, value in columns.items())
    )
    return _INSERT.from_select(list(columns), rows)


def queue_mail(
    session: Session,
    *,
    kind: str,
    to: str,
    subject: str,
    body: str,
    site_url: str,
    reply_to: str | None = None,
    thread_key: str | None = None,
    list_unsubscribe: str | None = None,
) -> OutboxMessage:
    """Queue one plain-text message in the caller's transaction; return it.

    Messages with the same ``thread_key`` to the same recipient thread
    together: each answers (In-Reply-To, References) the one before.

    :raise HeaderError: if an address is invalid or a header value has a
        line break.
    """
    recipient = checked_address(to)
    connection = session.connection()
    in_reply_to = references = None
    if thread_key:
        parent = connection.execute(
            _THREAD_PARENT, {"thread_key": thread_key, "recipient": recipient}
        ).first()
        if parent is not None:
            # RFC 5322 3.6.4: the parent's References, then the parent.
            in_reply_to = parent.message_id
            references = " ".join(filter(None, (parent.references, in_reply_to)))
    message_id = new_message_id(site_url)
    connection.execute(
        _INSERT,
        {
            "kind": kind,
            "recipient": recipient,
            "reply_to": checked_address(reply_to) if reply_to else None,
            "subject": _one_line(subject, "A subject"),
            "body": body,
            "message_id": message_id,
            "in_reply_to": in_reply_to,
            "references": references,
            "thread_key": thread_key,
            "list_unsubscribe": (
                _one_line(list_unsubscribe, "List-Unsubscribe")
                if list_unsubscribe
                else None
            ),
        },
    )
    return session.execute(
        select(OutboxMessage).where(OutboxMessage.message_id == message_id)
    ).scalar_one()


def build_email(message: OutboxMessage, sender: str) -> EmailMessage:
    """Return the EmailMessage for an outbox row (headers encoded properly)."""
    email = EmailMessage()
    email["From"] = sender
    email["To"] = Address(addr_spec=message.recipient)
    if message.reply_to:
        email["Reply-To"] = Address(addr_spec=message.reply_to)
    # Rows queued by older versions may hold line breaks of any kind.
    email["Subject"] = header_text(message.subject)
    email["Date"] = format_datetime(message.created_at)
    email["Message-ID"] = message.message_id
    if message.in_reply_to:
        email["In-Reply-To"] = message.in_reply_to
        email["References"] = message.references or message.in_reply_to
    if message.list_unsubscribe:
        # RFC 8058: one POST to this address unsubscribes, no page needed.
        email["List-Unsubscribe"] = f"<{header_text(message.list_unsubscribe)}>"
        email["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    # Quoted-printable keeps the text readable in any mail store.
    email.set_content(message.body, cte="quoted-printable")
    return email


# --- transports ------------------------------------------------------------------


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int
    tls: str  # "none", "starttls" or "tls"
    username: str | None
    password: str | None
    timeout: float
    ca_file: str | None = None

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
    )


def deliver_smtp(settings: SmtpSettings, email: EmailMessage) -> None:
    """Send one message over SMTP, sorting failures into temporary/permanent."""
    try:
        if settings.tls == "tls":
            client: smtplib.SMTP = smtplib.SMTP_SSL(
                settings.host,
                settings.port,
                timeout=settings.timeout,
                context=settings.tls_context(),
            )
        else:
            client = smtplib.SMTP(
                settings.host, settings.port, timeout=settings.timeout
            )
        with client:
            if settings.tls == "starttls":
                client.starttls(context=settings.tls_context())
            if settings.username:
                client.login(settings.username, settings.password or "")
            client.send_message(email)
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


def deliver_maildir(folder: Path, email: EmailMessage) -> None:
    """Keep one message in a local Maildir (the offline default)."""
    box = mailbox.Maildir(folder, create=True)
    box.add(email)


# --- sending ------------------------------------------------------------------------


@dataclass
class SendResult:
    sent: int = 0
    retried: int = 0
    failed: int = 0


def backoff(attempts: int) -> timedelta:
    """Return the wait before attempt ``attempts + 1``: 30 s doubling, to 1 h."""
    return timedelta(seconds=min(30 * 2 ** max(attempts - 1, 0), 3600))


def send_due(app: Flask, limit: int = 20) -> SendResult:
    """Deliver the messages that are due; return what happened."""
    db = get_db(app)
    config = app.config
    claim = uuid.uuid4().hex
    now = utcnow()
    with db.write() as session:
        due = session.scalars(
            select(OutboxMessage)
            .where(
                or_(
                    (OutboxMessage.state == "queued")
                    & (OutboxMessage.next_attempt_at <= now),
                    (OutboxMessage.state == "sending")
                    & (OutboxMessage.claimed_until < now),
                )
            )
            .order_by(OutboxMessage.id)
            .limit(limit)
            # Senders on other hosts pass over rows being claimed instead of
            # waiting for them or claiming them too (PostgreSQL; SQLite's
            # writers take turns anyway and it has no FOR UPDATE).
            .with_for_update(skip_locked=True)
        ).all()
        for message in due:
            message.state = "sending"
            message.claimed_until = now + LEASE
            message.claimed_by = claim
    result = SendResult()
    if not due:
        return result
    smtp = smtp_settings(config)
    maildir = Path(config["MAILDIR_PATH"])
    for message in due:
        # Renew the claim just before sending: a batch slowed by a hanging
        # server may outlive its lease, and then another sender owns it.
        if not _renew(db, message.id, claim):
            continue
        try:
            email = build_email(message, config["MAIL_FROM"])
            if smtp is None:
                deliver_maildir(maildir, email)
            else:
                deliver_smtp(smtp, email)
        except TemporaryFailure as exc:
            state = _finish(
                db, message, claim, retry=True, error=str(exc), config=config
            )
        except PermanentFailure as exc:
            state = _finish(
                db, message, claim, retry=False, error=str(exc), config=config
            )
        except Exception as exc:  # a message that cannot be built or sent at all
            logger.exception("mail #%s cannot be sent", message.id)
            error = f"{type(exc).__name__}: {exc}"
            state = _finish(db, message, claim, retry=False, error=error, config=config)
        else:
            state = _finish(db, message, claim, retry=None, error=None, config=config)
        if state == "sent":
            result.sent += 1
            logger.info("mail #%s sent (%s)", message.id, message.kind)
        elif state == "queued":
            result.retried += 1
            logger.warning(
                "mail #%s (%s) deferred: %s",
                message.id,
                message.kind,
                loggable(message.last_error),
            )
        else:
            result.failed += 1
            logger.error(
                "mail #%s (%s) failed: %s",
                message.id,
                message.kind,
                loggable(message.last_error),
            )
    return result


_ADDRESS = re.compile(r"[^\s<>\"'@,;:]+@[^\s<>\"'@,;:]+")


def loggable(text: str | None) -> str:
    """``text`` (a mail server's answer) without the addresses it may quote:
    the logs name messages by number and kind, never by person."""
    return _ADDRESS.sub("<address>", text or "")


def _renew(db: Any, message_id: int, claim: str) -> bool:
    """Extend this sender's claim on a message; tell whether it still holds it."""
    with db.write() as session:
        renewed = session.execute(
            update(OutboxMessage)
            .where(
                OutboxMessage.id == message_id,
                OutboxMessage.state == "sending",
                OutboxMessage.claimed_by == claim,
            )
            .values(claimed_until=utcnow() + LEASE)
        )
    return renewed.rowcount == 1


def _finish(
    db: Any,
    message: OutboxMessage,
    claim: str,
    *,
    retry: bool | None,
    error: str | None,
    config: Any,
) -> str:
    """Record how a delivery attempt ended; return the message's new state.

    ``retry`` None means it was delivered; True, a temporary failure (failed
    for good after ``OUTBOX_MAX_ATTEMPTS``); False, a permanent one.
    """
    attempts = message.attempts + 1
    values: dict[str, Any] = {"attempts": attempts, "claimed_until": None}
    if retry is None:
        values |= {"state": "sent", "sent_at": utcnow(), "last_error": None}
    elif retry and attempts < config["OUTBOX_MAX_ATTEMPTS"]:
        values |= {
            "state": "queued",
            "next_attempt_at": utcnow() + backoff(attempts),
            "last_error": error,
        }
    else:
        values |= {"state": "failed", "last_error": error}
    message.last_error = error
    with db.write() as session:
        session.execute(
            update(OutboxMessage)
            .where(
                OutboxMessage.id == message.id,
                OutboxMessage.state == "sending",
                OutboxMessage.claimed_by == claim,
            )
            .values(**values)
        )
    return values["state"]


class OutboxWorker:
    """Send due mail every few seconds in a background thread (``make serve``).

    It also queues the daily digests, and once an hour purges old spam and
    trash (``reader_data.purge``).
    """

    PURGE_EVERY = 3600.0

    def __init__(self, app: Flask, interval: float | None = None) -> None:
        self.app = app
        self.interval = interval or app.config["OUTBOX_POLL_INTERVAL"]
        self._next_purge = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="outbox", daemon=True)

    def start(self) -> OutboxWorker:
        self._thread.start()
        return self

    def stop(self, timeout: float = 10) -> None:
        self._stop.set()
        self._thread.join(timeout)

    def _run(self) -> None:
        from .messages import digests_wanted, send_digests

        while not self._stop.is_set():
            try:
                # Look before taking the write lock: most sites have no one
                # on the digest, and this runs every few seconds.
                if digests_wanted(self.app):
                    with self.app.app_context(), get_db(self.app).write() as session:
                        send_digests(session, self.app.config)
                send_due(self.app)
                if time.monotonic() >= self._next_purge:
                    self._next_purge = time.monotonic() + self.PURGE_EVERY
                    self._purge()
            except Exception:  # keep the worker alive; the next round retries
                logger.exception("outbox round failed")
            self._stop.wait(self.interval)

    def _purge(self) -> None:
        from ..services.reader_data import purge

        days = self.app.config["PURGE_AFTER_DAYS"]
        if days:
            with get_db(self.app).write() as session:
                purged = purge(session, days)
            if purged.comments or purged.feedback:
                logger.info(
                    "purged %d comments and %d feedback older than %d days",
                    purged.comments,
                    purged.feedback,
                    days,
                )
