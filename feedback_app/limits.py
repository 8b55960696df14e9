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

import hashlib
import hmac
import ipaddress
import logging
from collections.abc import Iterable
from datetime import timedelta
from typing import Any

from flask import Request, current_app
from sqlalchemy import bindparam, delete, func, select, text
from sqlalchemy.orm import Session
from werkzeug.exceptions import TooManyRequests

from . import shared_limits
from .models import RateEvent, UTCDateTime, utcnow

logger = logging.getLogger(__name__)

_COUNT = select(func.count(RateEvent.id), func.min(RateEvent.created_at)).where(
    RateEvent.bucket == bindparam("bucket"),
    RateEvent.created_at > bindparam("since", type_=UTCDateTime()),
)
_FORGET = delete(RateEvent).where(
    RateEvent.bucket == bindparam("bucket"),
    RateEvent.created_at <= bindparam("since", type_=UTCDateTime()),
)


class RateLimited(TooManyRequests):
    """429 with Retry-After, and a sentence a reader understands."""

    def __init__(self, retry_after: int, what: str) -> None:
        super().__init__(
            f"Too many {what} in a short time. Please wait {retry_after} seconds "
            "and send it again (your browser's Back button brings your text back).",
            retry_after=retry_after,
        )


def _networks(config: Any) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    return [
        ipaddress.ip_network(n, strict=False) for n in config["TRUSTED_PROXIES"] or ()
    ]


def client_address(request: Request, config: Any | None = None) -> str:
    """Return the address of the client that sent ``request``."""
    config = config or current_app.config
    peer = request.environ.get("REMOTE_ADDR", "") or ""
    trusted = _networks(config)
    if not trusted:
        return peer
    hops = [peer] + [
        h.strip()
        for h in reversed(request.headers.get("X-Forwarded-For", "").split(","))
        if h.strip()
    ]
    for i, hop in enumerate(hops):
        try:
            address = ipaddress.ip_address(hop)
        except ValueError:
            return hops[i - 1] if i else peer  # garbage: stop at the last good
        if not any(address in net for net in trusted) or i == len(hops) - 1:
            return hop
    return peer


def address_key(address: str, secret: str | bytes) -> str:
    """Return the keyed hash under which an address is counted."""
    key = secret.encode("utf-8") if isinstance(secret, str) else secret
    return hmac.new(key, address.encode("utf-8"), hashlib.sha256).hexdigest()


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
            raise RateLimited(wait, "posts")
        return
    window = timedelta(seconds=config["POST_LIMIT_WINDOW"])
    now = utcnow()
    if session.get_bind().dialect.name == "postgresql":
        for bucket, _ in active:  # always in the same order: no deadlock
            session.execute(
                text("SELECT pg_advisory_xact_lock(hashtextextended(:b, 0))"),
                {"b": bucket},
            )
    for bucket, limit in active:
        session.execute(_FORGET, {"bucket": bucket, "since": now - window})
        count, oldest = session.execute(
            _COUNT, {"bucket": bucket, "since": now - window}
        ).one()
        if count >= limit:
            wait = (oldest + window - now).total_seconds() if oldest else 1
            raise RateLimited(max(1, int(wait) + 1), "posts")
    session.add_all(RateEvent(bucket=b, created_at=now) for b, _ in active)


def buckets_for(request: Request, article_slug: str) -> list[tuple[str, int]]:
    """Return the buckets a reader's post on ``article_slug`` counts against."""
    config = current_app.config
    who = address_key(client_address(request), current_app.secret_key)
    return [
        (f"address:{who}", config["POST_LIMIT_PER_ADDRESS"]),
        (f"article:{article_slug}", config["POST_LIMIT_PER_ARTICLE"]),
    ]
