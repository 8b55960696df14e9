"""The periodic jobs the outbox sender runs between its rounds: the daily
digests, the hourly purge of old spam and trash, and the poll of the IMAP
mailbox for replies and bounces (every ``IMAP_POLL_INTERVAL``, if
``IMAP_URL`` is set).

They live here, with the app, and are handed to the sender
(``OutboxWorker(app, periodic())``) so that the bottom of the mail stack
imports neither the digests above it nor the reader-data service.
"""

from __future__ import annotations

import logging
import time

from flask import Flask

from ..core.db import get_db
from ..mail import imap
from ..mail.digests import digests_wanted, send_digests
from ..mail.sender import Job
from .inbound import NotAMessage, receive
from .reader_data import purge

logger = logging.getLogger(__name__)

#: Seconds between two purges.
PURGE_EVERY = 3600.0


def digests(app: Flask) -> None:
    """Queue the digests that are due."""
    # Look before taking the write lock: most sites have no one on the
    # digest, and this runs every few seconds.
    if digests_wanted(app):
        with app.app_context(), get_db(app).write() as session:
            send_digests(session, app.config)


def purge_old(app: Flask) -> None:
    """Delete spam and trash older than ``PURGE_AFTER_DAYS`` (if set)."""
    days = app.config["PURGE_AFTER_DAYS"]
    if not days:
        return
    with get_db(app).write() as session:
        purged = purge(session, days)
    if purged.comments or purged.feedback or purged.mail_received:
        logger.info(
            "purged %d comments, %d feedback and %d mail received older than %d days",
            purged.comments,
            purged.feedback,
            purged.mail_received,
            days,
        )


def poll_mailbox(app: Flask) -> imap.PollResult:
    """Read the IMAP mailbox once: store and apply each message, delete what
    was stored. A message that is no e-mail, or that the database could not
    take, stays on the server.

    :raise imap.ImapError: if the mailbox cannot be read.
    """
    settings = imap.imap_settings(app.config)
    if settings is None:
        return imap.PollResult()

    def store(raw: bytes, truncated: bool) -> str | None:
        try:
            with app.app_context():
                return receive(raw, "imap", truncated=truncated).line()
        except NotAMessage as exc:
            logger.warning("IMAP: a message that is no e-mail is left: %s", exc)
        except Exception:
            logger.exception("IMAP: a message could not be stored; left on the server")
        return None

    return imap.poll(settings, store)


def poll_imap(app: Flask) -> None:
    """Poll the IMAP mailbox if ``IMAP_URL`` is set and
    ``IMAP_POLL_INTERVAL`` has passed since the last poll."""
    if not app.config.get("IMAP_URL"):
        return
    due = app.extensions.get("imap_next_poll", 0.0)
    if time.monotonic() < due:
        return
    app.extensions["imap_next_poll"] = (
        time.monotonic() + app.config["IMAP_POLL_INTERVAL"]
    )
    try:
        result = poll_mailbox(app)
    except imap.ImapError as exc:
        logger.error("IMAP poll failed: %s", exc)
        return
    for line in result.lines:
        logger.info("IMAP: %s", line)


def periodic() -> list[Job]:
    """The jobs ``make serve`` and ``flask outbox run`` give the sender (the
    IMAP poll keeps its own interval, a setting)."""
    return [
        Job("digests", 0.0, digests),
        Job("purge", PURGE_EVERY, purge_old),
        Job("imap", 0.0, poll_imap),
    ]
