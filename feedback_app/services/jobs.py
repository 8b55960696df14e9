"""The periodic jobs the outbox sender runs between its rounds: the daily
digests and the hourly purge of old spam and trash.

They live here, with the app, and are handed to the sender
(``OutboxWorker(app, periodic())``) so that the bottom of the mail stack
imports neither the digests above it nor the reader-data service.
"""

from __future__ import annotations

import logging

from flask import Flask

from ..core.db import get_db
from ..mail.digests import digests_wanted, send_digests
from ..mail.sender import Job
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
    if purged.comments or purged.feedback:
        logger.info(
            "purged %d comments and %d feedback older than %d days",
            purged.comments,
            purged.feedback,
            days,
        )


def periodic() -> list[Job]:
    """The jobs ``make serve`` and ``flask outbox run`` give the sender."""
    return [Job("digests", 0.0, digests), Job("purge", PURGE_EVERY, purge_old)]
