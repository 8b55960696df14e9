"""The lock that lets one writer at a time change the built site: a full
build and its switch (``live_site.py``), or the app's publishing of a thread
(``publishing.py``), on this host and, on PostgreSQL, on every host of the
database. Every publish passes through it, so it also records when the last
one ended and how (``last_publish``, for ``/health``).
"""

from __future__ import annotations

import fcntl
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from flask import Flask
from sqlalchemy.exc import OperationalError, SQLAlchemyError

from ..core.db import get_db
from .files import write_atomically


class PublishError(RuntimeError):
    """Raised when Pelican fails to rebuild; carries its output."""


#: The PostgreSQL advisory lock that one host at a time holds to publish.
PUBLISH_LOCK_KEY = 0x7075_626C_6973_68  # "publish"


@contextmanager
def publish_lock(app: Flask) -> Iterator[None]:
    """Hold the lock that lets one Pelican run at a time write the site.

    The app's rebuilds and ``invoke build``/``preview``/``publish`` take it,
    so a full build never interleaves with a page rebuild: a lock file in
    the instance folder for this host's processes, and on PostgreSQL a
    transaction advisory lock, in a transaction kept open for the build, for
    every host of the database. It ends with the transaction, whatever
    happens: a host that dies or loses its connection frees it.

    :raise PublishError: if another host held it longer than
        ``PUBLISH_LOCK_TIMEOUT`` seconds.
    """
    with _exclusive(Path(app.instance_path) / "publish.lock"):
        try:
            with _held(app):
                yield
        except BaseException as exc:
            _record(app, exc)
            raise
        _record(app, None)


#: Where the last publish's end is recorded, in the instance folder.
LAST_PUBLISH = "last-publish.json"


def last_publish(app: Flask) -> dict[str, Any] | None:
    """Return when the last publish on this instance folder ended and how:
    ``{"at": ISO time, "result": "ok"}`` or ``{…, "result": "failed",
    "error": its first line}``; None if none is recorded."""
    try:
        data = json.loads((Path(app.instance_path) / LAST_PUBLISH).read_bytes())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _record(app: Flask, error: BaseException | None) -> None:
    """Record the end of a publish (never failing it for that)."""
    outcome: dict[str, Any] = {
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
        "result": "ok" if error is None else "failed",
    }
    if error is not None:
        lines = str(error).strip().splitlines() or [type(error).__name__]
        outcome["error"] = lines[0][:300]
    with suppress(OSError):
        write_atomically(
            Path(app.instance_path) / LAST_PUBLISH,
            json.dumps(outcome) + "\n",
            durable=False,
        )


@contextmanager
def _held(app: Flask) -> Iterator[None]:
    """Hold the database's part of the lock (PostgreSQL), inside the file's."""
    engine = get_db(app).engine
    if engine.dialect.name != "postgresql":
        yield
        return
    with engine.connect() as connection:
        try:
            connection.exec_driver_sql(
                "SELECT set_config('lock_timeout', %(ms)s, true)",
                {"ms": f"{int(app.config['PUBLISH_LOCK_TIMEOUT'] * 1000)}"},
            )
            connection.exec_driver_sql(
                "SELECT pg_advisory_xact_lock(%(key)s)", {"key": PUBLISH_LOCK_KEY}
            )
        except OperationalError as exc:
            raise PublishError(
                "Another host has been publishing for too long; try again."
            ) from exc
        try:
            yield
        finally:
            try:
                connection.rollback()  # ends the transaction and the lock
            except SQLAlchemyError:
                connection.invalidate()  # gone already, and the lock with it


@contextmanager
def _exclusive(path: Path):  # type: ignore[no-untyped-def]
    """Hold an exclusive lock on ``path`` (created if needed)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)
