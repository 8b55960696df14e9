"""The sender: empties the outbox.

``send_due`` delivers what is due:

* it **claims** a batch first (state ``sending`` until a lease runs out, in a
  write transaction), so two senders never send the same message; a sender
  that dies mid-batch lets its lease expire and the message is retried;
* a **temporary** failure (refused or dropped connection, timeout, a 4xx
  answer) is retried with exponential backoff; a **permanent** one (a 5xx
  answer) marks the message ``failed`` with the server's words;
* mail to an address that bounced for good (``bounced_address``) is not
  sent: it is marked ``failed``, "not sent: …" with the bounce's date and
  reason, until the address is given again (which removes the row);
* every message keeps the ``Message-ID`` it got when queued; its envelope
  sender is its own bounce address (``conversations.bounce_address``).

``OutboxWorker`` runs ``send_due`` every few seconds in a thread, with the
periodic jobs it is given (digests, purging: see ``feedback_app.services.jobs``).
"""

from __future__ import annotations

import logging
import re
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from flask import Flask
from sqlalchemy import (
    func,
    or_,
    select,
    update,
)

from ..core.db import get_db
from ..core.models import BouncedAddress, OutboxMessage, utcnow
from ..site.index import site_index
from . import conversations
from .outbox import build_email, envelope_sender, wire_bytes
from .transport import (
    PermanentFailure,
    TemporaryFailure,
    deliver_maildir,
    deliver_smtp,
    smtp_settings,
)

logger = logging.getLogger(__name__)

#: How long a sender may hold a claimed message before another may retry it.
LEASE = timedelta(minutes=5)


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
        # Only with something to send: the worker asks every few seconds.
        bounced = _bounced(session, {m.recipient for m in due}) if due else {}
        # Each feedback conversation's salt, for its Reply-To.
        salts = conversations.salts(session, {m.thread_key for m in due})
    result = SendResult()
    if not due:
        return result
    smtp = smtp_settings(config)
    maildir = Path(config["MAILDIR_PATH"])
    # The sender runs outside any request: the site's name is read here.
    site_name = site_index(app).current().name
    for message in due:
        # Renew the claim just before sending: a batch slowed by a hanging
        # server may outlive its lease, and then another sender owns it.
        if not _renew(db, message.id, claim):
            continue
        try:
            if message.recipient.lower() in bounced:
                raise NotSent(bounced[message.recipient.lower()])
            email = build_email(
                message,
                config,
                site_name=site_name,
                salt=salts.get(message.thread_key or "", ""),
            )
            content = wire_bytes(email)
            mail_from = envelope_sender(message, config)
            if smtp is None:
                deliver_maildir(maildir, content, mail_from=mail_from)
            else:
                deliver_smtp(
                    smtp, content, mail_from=mail_from, rcpt_to=message.recipient
                )
        except NotSent as exc:
            state = _finish(
                db,
                message,
                claim,
                retry=False,
                error=str(exc),
                config=config,
                attempted=False,
            )
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


class NotSent(Exception):
    """The message is not sent at all (its address bounced for good)."""


def _bounced(session: Any, recipients: set[str]) -> dict[str, str]:
    """Return why each of ``recipients`` that bounced for good gets no mail,
    by address in lower case: "not sent: …" with the bounce's date and reason."""
    wanted = sorted({r.lower() for r in recipients})
    rows = session.scalars(
        select(BouncedAddress).where(func.lower(BouncedAddress.email).in_(wanted))
    )
    return {
        row.email.lower(): (
            f"not sent: the address bounced on {row.bounced_at:%Y-%m-%d %H:%M} UTC"
            f" ({row.reason}); it gets no mail until it is given again"
        )
        for row in rows
    }


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
    attempted: bool = True,
) -> str:
    """Record how a delivery attempt ended; return the message's new state.

    ``retry`` None means it was delivered; True, a temporary failure (failed
    for good after ``OUTBOX_MAX_ATTEMPTS``); False, a permanent one.
    ``attempted`` False: it was not tried at all (not counted as a try).
    """
    attempts = message.attempts + attempted
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


@dataclass(frozen=True)
class Job:
    """A periodic job the sender runs between rounds: ``run(app)`` at most
    once every ``every`` seconds (0: every round)."""

    name: str
    every: float
    run: Callable[[Flask], None]


class OutboxWorker:
    """Send due mail every few seconds in a background thread, and run the
    periodic jobs it is given (``feedback_app.services.jobs.periodic``: the daily
    digests, the hourly purge of old spam and trash).
    """

    def __init__(
        self, app: Flask, jobs: Sequence[Job] = (), interval: float | None = None
    ) -> None:
        self.app = app
        self.jobs = tuple(jobs)
        self.interval = interval or app.config["OUTBOX_POLL_INTERVAL"]
        self._next_run = dict.fromkeys((job.name for job in self.jobs), 0.0)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="outbox", daemon=True)

    def start(self) -> OutboxWorker:
        self._thread.start()
        return self

    def stop(self, timeout: float = 10) -> None:
        self._stop.set()
        self._thread.join(timeout)

    def run_once(self) -> None:
        """One round: the jobs that are due, then the mail that is due."""
        for job in self.jobs:
            if time.monotonic() >= self._next_run[job.name]:
                self._next_run[job.name] = time.monotonic() + job.every
                job.run(self.app)
        send_due(self.app)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.run_once()
            except Exception:  # keep the worker alive; the next round retries
                logger.exception("outbox round failed")
            self._stop.wait(self.interval)
