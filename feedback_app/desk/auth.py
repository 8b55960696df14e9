"""Authors' accounts on the desk: passwords, sign-in and its throttle, sessions.

Passwords are stored as scrypt hashes (Werkzeug's ``scrypt:32768:8:1``).

Guessing is slowed, then stopped. Every failed sign-in is recorded by what
was typed (trimmed, casefolded: ``account_key``) and by a keyed hash of the
client's address; over ``SIGNIN_WINDOW_MINUTES``:

- from ``SIGNIN_SLOW_AFTER`` failures on, the next try must wait 1 s, then
  2 s, 4 s and so on after the last failure (a 429 with Retry-After);
- at ``SIGNIN_LOCK_AFTER`` failures of an account, or
  ``SIGNIN_LOCK_AFTER_CLIENT`` from one address, sign-in is refused until
  enough of them are older than the window, and the author is told by mail.

What was typed is the key whether or not an account answers to it, and an
author's name and address are two keys. Counting them as one account (as
an earlier version did) let anyone link a name to an address: fail as the
name until it locks, then try the address, and a lock told they were the
same account. Now the answers (status, message, Retry-After) and the
counts are those of a name nobody has. The price: guessing one account's
password by both its name and its address gets twice ``SIGNIN_LOCK_AFTER``
tries per window, and the client's own limit still bounds any one client.
A right password clears the failures of what was typed.

A try is recorded as a failure *before* the password is checked, in the
same write transaction as the count, and forgotten if the password was
right: counts are exact across workers, and the slow password check never
holds the database's write lock. A refused try is not checked at all, so a
locked account cannot be probed. With ``RATELIMIT_STORAGE_URL``, the counts
live in Redis, shared by every app host (``shared_limits.py``).

A desk session is a row of ``desk_session``; the signed Flask session cookie
holds only its random token (the table, its hash). It ends after
``DESK_SESSION_HOURS`` whatever the cookie says, at sign-out (for every copy
of the cookie), and on every device when the password changes.

A new password, chosen anywhere (the command line, the desk's password
page, a link from "Forgot your password?", ``recovery.py``), meets the
rules of ``password_problem`` and is stored by ``replace_password``.

Longer than 400 lines because passwords, the throttle and the sessions
are one account's keys, each checked against the others (a new password
ends the sessions; a right one clears the throttle's count).
"""

from __future__ import annotations

import functools
import hashlib
import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from flask import current_app, g, request, session
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from ..core import counters as shared_limits
from ..core.db import get_db
from ..core.http import address_key
from ..core.http import client_address as address_of
from ..core.models import Author, DeskSession, OutboxMessage, SignInFailure, utcnow
from ..core.translations import gettext
from ..mail.messages import sign_in_locked
from .words import duration

logger = logging.getLogger(__name__)

# A hash method, not a password.
PASSWORD_METHOD = "scrypt"  # noqa: S105  # nosec B105
MAX_PASSWORD_LENGTH = 1024


@functools.cache
def dummy_hash() -> str:
    """Return the hash checked when no account matches, so that a wrong name
    costs as much time as a wrong password and the answer's timing reveals
    nothing. Made on the first sign-in (or by ``factory.warm_up`` in a
    server), not at import: hashing is slow on purpose, and every command
    would pay for it.
    """
    return generate_password_hash("not a password", method=PASSWORD_METHOD)


class PasswordError(ValueError):
    """Raised for a password that cannot be used; says why."""


class SignInRefused(Exception):
    """Raised when a sign-in is refused; ``retry_after`` is in seconds."""

    def __init__(self, message: str, retry_after: int = 0) -> None:
        super().__init__(message)
        self.message = message
        self.retry_after = retry_after


def change_password(name: str, password: str) -> None:
    """Give author ``name`` a new password and end every session of theirs:
    they sign in again with the new one.

    :raise PasswordError: if it is too short, too long, or only spaces.
    :raise LookupError: if there is no author ``name``.
    """
    hashed = hash_password(password, current_app.config["MIN_PASSWORD_LENGTH"])
    with get_db().write() as db_session:  # after hashing: hashing is slow
        author = db_session.scalar(select(Author).where(Author.name == name))
        if author is None:
            raise LookupError(f"No author {name!r}.")
        replace_password(db_session, author, hashed)


def replace_password(db_session: Session, author: Author, hashed: str) -> None:
    """Store ``hashed`` (``hash_password``) as ``author``'s password and end
    every session of theirs, in the caller's transaction: the one way a
    password is changed (the command line, the desk's password page, a
    link from "Forgot your password?")."""
    _store(author, hashed)
    end_sessions_of(db_session, author)


def set_password(author: Author, password: str, min_length: int) -> None:
    """Give ``author`` (a row in the caller's transaction) a new password;
    every session older than it ends at its next request.

    :raise PasswordError: if it is too short, too long, or only spaces.
    """
    _store(author, hash_password(password, min_length))


def _store(author: Author, hashed: str) -> None:
    author.password_hash = hashed
    author.password_changed_at = utcnow()


def password_problem(
    password: str, min_length: int, _: Callable[[str], str] = str
) -> str | None:
    """Say what makes ``password`` unusable as a new one, or None: the rules
    of every place a password is chosen. ``_`` translates (the desk's
    ``gettext``; the command line speaks English)."""
    if len(password) < min_length:
        return _("Use at least {count} characters.").format(count=min_length)
    if len(password) > MAX_PASSWORD_LENGTH:
        return _("Use at most {count} characters.").format(count=MAX_PASSWORD_LENGTH)
    if not password.strip():
        return _("A password of only spaces is no password.")
    return None


def hash_password(password: str, min_length: int) -> str:
    """Return the stored form of a new password (slow: outside transactions).

    :raise PasswordError: if it is too short, too long, or only spaces.
    """
    problem = password_problem(password, min_length)
    if problem is not None:
        raise PasswordError(problem)
    return generate_password_hash(password, method=PASSWORD_METHOD)


def account_key(name: str) -> str:
    """Return how a typed account name is counted: trimmed, casefolded."""
    return " ".join(name.split()).casefold()[:254]


def find_account(session: Session, name: str) -> Author | None:
    """Return the author whose name or address is ``name`` (any case).

    Compared casefolded in Python ("Straße" is "STRASSE"): SQL's lower() is
    not casefolding. The author table is a handful of rows.
    """
    key = account_key(name)
    if not key:
        return None
    matches = [
        a
        for a in session.scalars(select(Author))
        if key in (account_key(a.name), account_key(a.email))
    ]
    return matches[0] if len(matches) == 1 else None


@dataclass(frozen=True)
class Attempt:
    """A sign-in try that the throttle let through, recorded as a failure
    (a row's id in the database, or an event's in Redis)."""

    failure_id: int | str
    account: str
    client: str


def _refusal(seconds: int, locked: bool) -> SignInRefused:
    said = (
        gettext(
            "Too many failed sign-ins: sign-in is locked for a while. "
            "Try again in {duration}."
        )
        if locked
        else gettext(
            "Too many failed sign-ins in a row. Wait {duration} and try again."
        )
    )
    return SignInRefused(said.format(duration=duration(seconds)), seconds)


def begin_attempt(session: Session, name: str, client: str, config: Any) -> Attempt:
    """Let a sign-in try through the throttle and record it, or refuse it.

    :raise SignInRefused: if the account or the client must wait or is locked.
    """
    now = utcnow()
    window = timedelta(minutes=config["SIGNIN_WINDOW_MINUTES"])
    # Counted by what was typed, never by the account it names: whether one
    # exists, or two keys are one account, must not show (module docstring).
    account = account_key(name)
    shared = shared_limits.shared(config)
    if shared is not None:
        try:
            failure_id, seconds, locked = shared.begin_signin(account, client, config)
        except shared_limits.Unavailable as exc:
            logger.error("sign-in refused, Redis unavailable: %s", exc)
            raise SignInRefused(
                gettext(
                    "Sign-in is not available just now. Please try again in a minute."
                ),
                60,
            ) from None
        if seconds:
            raise _refusal(seconds, locked)
        return Attempt(failure_id, account, client)
    stale = delete(SignInFailure).where(SignInFailure.created_at < now - window)
    session.execute(stale)
    for column, value, limit in (
        (SignInFailure.account, account, config["SIGNIN_LOCK_AFTER"]),
        (SignInFailure.client_hash, client, config["SIGNIN_LOCK_AFTER_CLIENT"]),
    ):
        times = list(
            session.scalars(
                select(SignInFailure.created_at)
                .where(column == value)
                .order_by(SignInFailure.created_at)
            )
        )
        wait = _wait(times, now, window, limit, config["SIGNIN_SLOW_AFTER"])
        if wait is not None:
            raise _refusal(*wait)
    failure = SignInFailure(account=account, client_hash=client, created_at=now)
    session.add(failure)
    session.flush()
    return Attempt(failure.id, account, client)


def _wait(
    times: list[datetime], now: datetime, window: timedelta, limit: int, slow: int
) -> tuple[int, bool] | None:
    """Return how long to wait and whether it is a lock; None: go ahead."""
    n = len(times)
    if n >= limit:
        # Locked until enough failures leave the window to fall below limit.
        until = times[n - limit] + window
        return max(1, int((until - now).total_seconds()) + 1), True
    if n >= slow:
        until = times[-1] + timedelta(seconds=2 ** (n - slow))
        if until > now:
            return max(1, int((until - now).total_seconds()) + 1), False
    return None


def sign_in(name: str, password: str, client_address: str) -> Author:
    """Check a name (or address) and password; return the author.

    :raise SignInRefused: for a wrong name or password (the same message for
        both), or a try the throttle refuses.
    """
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    config = app.config
    client = address_key(client_address, app.secret_key)
    db = get_db()
    with db.write() as s:
        attempt = begin_attempt(s, name, client, config)
    with db.read() as s:
        author = find_account(s, name)
    # Made (once) whether or not the name matched, so that the first try's
    # extra cost does not tell the two apart either.
    dummy = dummy_hash()
    hashed = author.password_hash if author and author.password_hash else None
    ok = check_password_hash(hashed or dummy, password[:MAX_PASSWORD_LENGTH])
    shared = shared_limits.shared(config)
    if ok and author is not None and hashed is not None and shared is not None:
        shared.signin_succeeded(
            attempt.account, attempt.client, str(attempt.failure_id)
        )
        return author
    if ok and author is not None and hashed is not None:
        with db.write() as s:
            # Right password: this try, and the earlier failures typed the
            # same way, no longer count against it.
            s.execute(
                delete(SignInFailure).where(SignInFailure.account == attempt.account)
            )
        return author
    if author is not None:
        with db.write() as s:
            _tell_author_if_locked(s, author, attempt.account, config)
    raise SignInRefused(gettext("That name and password do not match an account."))


def _tell_author_if_locked(
    session: Session, author: Author, account: str, config: Any
) -> None:
    """Mail the author once when their account's failures reach the lock."""
    window = timedelta(minutes=config["SIGNIN_WINDOW_MINUTES"])
    since = utcnow() - window
    shared = shared_limits.shared(config)
    if shared is not None:
        failures = shared.account_failures(account)
    else:
        failures = session.scalar(
            select(func.count(SignInFailure.id)).where(
                SignInFailure.account == account, SignInFailure.created_at >= since
            )
        )
    if failures < config["SIGNIN_LOCK_AFTER"]:
        return
    told = session.scalar(
        select(OutboxMessage.id).where(
            OutboxMessage.kind == "sign-in-locked",
            OutboxMessage.recipient == author.email,
            OutboxMessage.created_at >= since,
        )
    )
    if told:
        return
    sign_in_locked(session, author, failures, config)


# --- the signed-in author ----------------------------------------------------------


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("ascii")).hexdigest()


def start_session(author: Author) -> None:
    """Sign ``author`` in: a new session, nothing kept from before.

    The cookie holds a random token; the database, its hash and the time the
    session ends. Expired sessions of anyone are cleared on the way.
    """
    token = secrets.token_urlsafe(32)
    now = utcnow()
    earlier = session.get("desk")
    with get_db().write() as s:
        s.execute(delete(DeskSession).where(DeskSession.expires_at <= now))
        if isinstance(earlier, str):  # signing in again ends the session before
            s.execute(
                delete(DeskSession).where(
                    DeskSession.token_hash == _token_hash(earlier)
                )
            )
        s.add(
            DeskSession(
                token_hash=_token_hash(token),
                author_id=author.id,
                created_at=now,
                expires_at=now + current_app.config["PERMANENT_SESSION_LIFETIME"],
            )
        )
    session.clear()
    session.permanent = True
    session["desk"] = token


def end_session() -> None:
    """Sign out: the session ends for every copy of its cookie."""
    token = session.get("desk")
    if isinstance(token, str):
        with get_db().write() as s:
            s.execute(
                delete(DeskSession).where(DeskSession.token_hash == _token_hash(token))
            )
    session.clear()


def end_sessions_of(db_session: Session, author: Author) -> None:
    """End every desk session of ``author`` (after a password change)."""
    db_session.execute(delete(DeskSession).where(DeskSession.author_id == author.id))


def current_author() -> Author | None:
    """Return the signed-in author, or None (once per request)."""
    if "desk_author" in g:
        return g.desk_author
    g.desk_author = _load_author()
    return g.desk_author


def _load_author() -> Author | None:
    token = session.get("desk")
    if not isinstance(token, str):
        return None
    with get_db().read() as s:
        found = s.execute(
            select(Author, DeskSession.created_at)
            .join(DeskSession, DeskSession.author_id == Author.id)
            .where(
                DeskSession.token_hash == _token_hash(token),
                DeskSession.expires_at > utcnow(),
            )
        ).first()
    if found is None:
        return None
    author, started = found
    changed = author.password_changed_at
    if author.password_hash is None or (changed is not None and started < changed):
        return None
    return author


def client_address() -> str:
    """Return the client's address (through TRUSTED_PROXIES, see core/http.py)."""
    return address_of(request)
