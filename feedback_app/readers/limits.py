"""Rate limits on what readers post, exact across workers and processes.

Each post counts against two buckets over ``POST_LIMIT_WINDOW`` seconds:
its client's address (as a keyed hash: the address itself is never
stored) and its article, counted by ``core/rate_events.py``: in the
post's own write transaction, exact with any number of workers. A limit
of 0 turns a bucket off. With ``RATELIMIT_STORAGE_URL`` set, the
counts live in Redis instead, shared by every host (``shared_limits.py``).

The client's address is the peer's, unless the peer is one of
``TRUSTED_PROXIES``: then ``X-Forwarded-For`` is read from the right,
skipping trusted proxies, so a header sent by anyone else changes nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from flask import Request, current_app
from sqlalchemy.orm import Session
from werkzeug.exceptions import TooManyRequests

from ..core import counters as shared_limits
from ..core.http import address_key, client_address
from ..core.rate_events import count_event
from ..core.translations import gettext as _

logger = logging.getLogger(__name__)


class RateLimited(TooManyRequests):
    """429 with Retry-After, and a sentence a reader understands."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(
            _(
                "Too many posts in a short time. Please wait {seconds} seconds and"
                " send it again (your browser's Back button brings your text back)."
            ).format(seconds=retry_after),
            retry_after=retry_after,
        )


def admit(session: Session, buckets: Iterable[tuple[str, int]], config: Any) -> None:
    """Count a post against ``buckets`` (name, limit), or refuse it.

    :raise RateLimited: if any bucket is full; nothing is counted then.
    """
    try:
        wait = count_event(session, buckets, config["POST_LIMIT_WINDOW"], config)
    except shared_limits.Unavailable as exc:
        logger.warning("rate limits not applied, Redis unavailable: %s", exc)
        return
    if wait:
        raise RateLimited(wait)


def buckets_for(request: Request, page_url: str) -> list[tuple[str, int]]:
    """Return the buckets a reader's post on the article at ``page_url``
    counts against."""
    config = current_app.config
    who = address_key(client_address(request), current_app.secret_key)
    return [
        (f"address:{who}", config["POST_LIMIT_PER_ADDRESS"]),
        (f"article:{page_url}", config["POST_LIMIT_PER_ARTICLE"]),
    ]
