"""Recovering a desk account by mail: "Forgot your password?" on the
sign-in page, which also gives an account made without a password
(``authors add``, an import) its first one.

Whoever asks types a name or an address. The answer is the same whether
or not an account answers to it, and so is nearly all the work done
before it: the request is counted against the client
(``PASSWORD_RESET_LIMIT_PER_CLIENT``) and against the account, or what was
typed if there is none
(``PASSWORD_RESET_LIMIT_PER_ACCOUNT``), in one write transaction that, for
an account under its limit, also queues the mail in the outbox: the sender
delivers it later, so no mail server's delay shows in the answer. Only the
client's limit is said (a 429: it is about the client, not the account); an
account past its limit gets no more mail and nobody is told.

The link carries a signed, timestamped token (``PASSWORD_RESET_MINUTES``)
naming the account and bound to its password as it is (its hash, or none
yet; when it was set) and to its address, by a keyed hash. Setting a
password through it changes the password, so the link, and every other one
sent before, stops working: it is single-use without storing anything,
and any other password change (the desk's page, ``authors
set-password``) or a new address ends it too. The token is checked again
inside the write transaction that stores the new password, so two uses at
once set it only once.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from typing import Any

from flask import current_app
from itsdangerous import BadSignature, TimestampSigner, URLSafeTimedSerializer
from sqlalchemy.orm import Session

from ..core import counters
from ..core.db import get_db
from ..core.http import address_key
from ..core.models import Author
from ..core.rate_events import count_event
from ..mail.links import configured_url
from ..mail.messages import password_reset
from . import auth

logger = logging.getLogger(__name__)

SALT = "desk-password-reset"


class ClockedSigner(TimestampSigner):
    """A ``TimestampSigner`` whose "now" may be given: a link made, or
    checked, at a known time (the tests' clock)."""

    def __init__(self, *args: Any, now: float | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.now = now

    def get_timestamp(self) -> int:
        return int(self.now) if self.now is not None else super().get_timestamp()


def _serializer(now: float | None) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(
        current_app.secret_key,
        salt=SALT,
        signer=ClockedSigner,
        signer_kwargs={"now": now},
    )


def _binding(author: Author) -> str:
    """What a link is bound to: the account's password as it is and its
    address, as a keyed hash (the token is signed, not secret)."""
    changed = author.password_changed_at
    material = "\x00".join(
        (
            str(author.id),
            author.password_hash or "",
            changed.isoformat() if changed is not None else "",
            author.email,
        )
    )
    key = current_app.secret_key
    key_bytes = key.encode("utf-8") if isinstance(key, str) else bytes(key or b"")
    return hmac.new(
        key_bytes, f"{SALT}\x00{material}".encode(), hashlib.sha256
    ).hexdigest()[:32]


def reset_token(author: Author, now: float | None = None) -> str:
    """Return the token of a link that sets ``author``'s password (made at
    ``now``, a Unix time; default: now)."""
    return str(_serializer(now).dumps([author.id, _binding(author)]))


def reset_url(author: Author, now: float | None = None) -> str:
    """Return the absolute address of the page a reset link opens, on
    ``APP_URL`` whatever host the request named."""
    return configured_url("desk.reset_password", token=reset_token(author, now))


def lifetime_minutes() -> int:
    return int(current_app.config["PASSWORD_RESET_MINUTES"])


def account_for(
    session: Session, token: str, now: float | None = None
) -> Author | None:
    """Return the account whose password ``token`` may set (checked at
    ``now``; default: now), or None: forged, expired, used, or made before
    the password or the address changed."""
    try:
        payload = _serializer(now).loads(token, max_age=lifetime_minutes() * 60)
    except BadSignature:  # also SignatureExpired
        return None
    if (
        not isinstance(payload, list)
        or len(payload) != 2
        or not isinstance(payload[0], int)
        or not isinstance(payload[1], str)
    ):
        return None
    author = session.get(Author, payload[0])
    if author is None or not hmac.compare_digest(_binding(author), payload[1]):
        return None
    return author


def request_reset(typed: str, client_address: str) -> int:
    """Mail a reset link to the account named or addressed by ``typed``, if
    there is one and it is under its limit; return 0, or the seconds the
    client must wait (its limit, the only one said).

    :raise counters.Unavailable: if the counts are in Redis and it cannot
        be reached (nothing is sent).
    """
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    config = app.config
    window = lifetime_minutes() * 60
    client = address_key(client_address, app.secret_key)
    with get_db().write() as session:
        wait = count_event(
            session,
            [(f"reset-client:{client}", config["PASSWORD_RESET_LIMIT_PER_CLIENT"])],
            window,
            config,
        )
        if wait:
            return wait
        author = auth.find_account(session, typed)
        # An account's bucket is its id; without one, what was typed (keyed):
        # the same work either way.
        account = (
            str(author.id)
            if author is not None
            else "?" + address_key(auth.account_key(typed), app.secret_key)
        )
        try:
            full = count_event(
                session,
                [
                    (
                        f"reset-account:{account}",
                        config["PASSWORD_RESET_LIMIT_PER_ACCOUNT"],
                    )
                ],
                window,
                config,
            )
        except counters.Unavailable as exc:
            logger.error("no password reset mail, Redis unavailable: %s", exc)
            return 0
        if author is None:
            return 0
        if full:
            logger.warning(
                "password reset for author %d not mailed: over its limit", author.id
            )
            return 0
        password_reset(session, author, reset_url(author), lifetime_minutes(), config)
    return 0


def reset_password(
    token: str, password: str, now: float | None = None
) -> Author | None:
    """Set the password of the account ``token`` names, ending every session
    of theirs; return the account, or None if the token no longer works
    (nothing changed then).

    :raise auth.PasswordError: for a password the rules refuse.
    """
    hashed = auth.hash_password(password, current_app.config["MIN_PASSWORD_LENGTH"])
    with get_db().write() as session:  # checked again, in the transaction
        author = account_for(session, token, now)
        if author is None:
            return None
        auth.replace_password(session, author, hashed)
    return author
