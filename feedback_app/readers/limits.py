"""Rate limits on what readers post, exact across workers and processes.

Each post counts against two buckets over ``POST_LIMIT_WINDOW`` seconds:
its client's address (as a keyed hash: the address itself is never
stored) and its article. The count and the new event are written in the
post's own write transaction, which SQLite serialises (``BEGIN
IMMEDIATE``) and PostgreSQL does with a transaction-scoped advisory lock
per bucket, so with any number of workers exactly the limit gets through.
A limit of 0 turns a bucket off. With ``RATELIMIT_STORAGE_URL`` set, the
counts live in Redis instead, shared by every host (``shared_limits.py``).

The client's address is the peer's, unless the peer is one of
``TRUSTED_PROXIES``: then ``X-Forwarded-For`` is read from the right,
skipping trusted proxies, so a header sent by anyone else changes nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import timedelta
from functools import lru_cache
from typing import Any

from flask import Request, current_app
from sqlalchemy import Delete, Select, bindparam, delete, func, insert, select, text
from sqlalchemy.orm import Session
from werkzeug.exceptions import TooManyRequests

from ..core import counters as shared_limits
from ..core.http import address_key, client_address
from ..core.models import RateEvent, UTCDateTime, utcnow
from ..core.translations import gettext as _

logger = logging.getLogger(__name__)

# PostgreSQL: one transaction-scoped lock per bucket, taken in the array's
# order (output expressions are evaluated after ORDER BY: the SELECT
# reference page, "SELECT List").
_LOCK = text(
    "SELECT pg_advisory_xact_lock(hashtextextended(b, 0)) "
    "FROM unnest(CAST(:buckets AS text[])) WITH ORDINALITY AS t(b, n) ORDER BY n"
)
_RECORD = insert(RateEvent)


@lru_cache(maxsize=4)
def _for_buckets(n: int) -> tuple[Delete, Select[Any]]:
    """The statements that forget and count the events of ``n`` buckets
    (``b0`` … ``b<n-1>``), all in one statement each; built once per ``n``
    (a post has two buckets), with plain parameters: an expanding ``IN``
    costs each post a new SQL string."""
    buckets = RateEvent.bucket.in_([bindparam(f"b{i}") for i in range(n)])
    since = bindparam("since", type_=UTCDateTime())
    forget = delete(RateEvent).where(buckets, RateEvent.created_at <= since)
    count = (
        select(
            RateEvent.bucket, func.count(RateEvent.id), func.min(RateEvent.created_at)
        )
        .where(buckets, RateEvent.created_at > since)
        .group_by(RateEvent.bucket)
    )
    return forget, count


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
    active = sorted((b, n) for b, n in buckets if n > 0)
    shared = shared_limits.shared(config)
    if shared is not None:
        try:
            wait = shared.admit(active, config["POST_LIMIT_WINDOW"])
        except shared_limits.Unavailable as exc:
            logger.warning("rate limits not applied, Redis unavailable: %s", exc)
            return
        if wait:
            raise RateLimited(wait)
        return
    if not active:
        return
    window = timedelta(seconds=config["POST_LIMIT_WINDOW"])
    now = utcnow()
    names = [b for b, _ in active]
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        # Always in the same (sorted) order: no deadlock.
        connection.execute(_LOCK, {"buckets": names})
    forget, count_them = _for_buckets(len(names))
    params = {f"b{i}": b for i, b in enumerate(names)} | {"since": now - window}
    connection.execute(forget, params)
    counts = {b: (n, first) for b, n, first in connection.execute(count_them, params)}
    for bucket, limit in active:
        count, oldest = counts.get(bucket, (0, None))
        if count >= limit:
            wait = (oldest + window - now).total_seconds() if oldest else 1
            raise RateLimited(max(1, int(wait) + 1))
    connection.execute(_RECORD, [{"bucket": b, "created_at": now} for b in names])


def buckets_for(request: Request, page_url: str) -> list[tuple[str, int]]:
    """Return the buckets a reader's post on the article at ``page_url``
    counts against."""
    config = current_app.config
    who = address_key(client_address(request), current_app.secret_key)
    return [
        (f"address:{who}", config["POST_LIMIT_PER_ADDRESS"]),
        (f"article:{page_url}", config["POST_LIMIT_PER_ARTICLE"]),
    ]
