"""Counting events in buckets over a window, exact across workers: the one
machinery behind every rate limit (readers' posts, ``readers/limits.py``;
requests for a new desk password, ``desk/recovery.py``).

An event counts against each of its buckets (name, limit). The count and
the new event are written in the caller's write transaction, which SQLite
serialises (``BEGIN IMMEDIATE``) and PostgreSQL does with a
transaction-scoped advisory lock per bucket, so with any number of workers
exactly the limit gets through. A limit of 0 turns a bucket off. With
``RATELIMIT_STORAGE_URL`` set, the counts live in Redis instead, shared by
every host (``counters.py``); what to do when Redis cannot be reached is the
caller's choice (``counters.Unavailable``).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta
from functools import lru_cache
from typing import Any

from sqlalchemy import Delete, Select, bindparam, delete, func, insert, select, text
from sqlalchemy.orm import Session

from . import counters
from .models import RateEvent, UTCDateTime, utcnow

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


def count_event(
    session: Session, buckets: Iterable[tuple[str, int]], window: int, config: Any
) -> int:
    """Count an event against ``buckets`` (name, limit) over ``window``
    seconds; return 0, or the seconds to wait when a bucket is full (then
    nothing is counted).

    :raise counters.Unavailable: if the counts are in Redis and it cannot be
        reached.
    """
    active = sorted((b, n) for b, n in buckets if n > 0)
    shared = counters.shared(config)
    if shared is not None:
        return shared.admit(active, window)
    if not active:
        return 0
    span = timedelta(seconds=window)
    now = utcnow()
    names = [b for b, _ in active]
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        # Always in the same (sorted) order: no deadlock.
        connection.execute(_LOCK, {"buckets": names})
    forget, count_them = _for_buckets(len(names))
    params = {f"b{i}": b for i, b in enumerate(names)} | {"since": now - span}
    connection.execute(forget, params)
    counts = {b: (n, first) for b, n, first in connection.execute(count_them, params)}
    for bucket, limit in active:
        count, oldest = counts.get(bucket, (0, None))
        if count >= limit:
            wait = (oldest + span - now).total_seconds() if oldest else 1
            return max(1, int(wait) + 1)
    connection.execute(_RECORD, [{"bucket": b, "created_at": now} for b in names])
    return 0
