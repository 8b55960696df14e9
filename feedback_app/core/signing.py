"""The app's signers, one per purpose (salt), each made once per key.

A signer holds nothing but its key and salt, so one serves every request;
every reader's post checks a form ticket and signs its confirmation link,
and a held comment's mail signs three moderation links.
"""

from __future__ import annotations

from functools import lru_cache
from typing import TypeVar

from flask import current_app
from itsdangerous import Signer, TimestampSigner

AnySigner = TypeVar("AnySigner", bound=Signer)


def signer(salt: str) -> Signer:
    """Return the app's ``Signer`` for ``salt`` (plain text, no time)."""
    return _made(Signer, current_app.secret_key, salt)


def timestamp_signer(salt: str) -> TimestampSigner:
    """Return the app's ``TimestampSigner`` for ``salt``."""
    return _made(TimestampSigner, current_app.secret_key, salt)


@lru_cache(maxsize=16)
def _made(kind: type[AnySigner], key: str | bytes, salt: str) -> AnySigner:
    return kind(key, salt=salt)
