"""Each conversation's own address on the site's mailbox, and its tokens.

Mail about a feedback or a comment goes out with ``Reply-To`` set to
``MAIL_REPLY_ADDRESS`` with a token in it naming the conversation and the
role of the person it was sent to, signed for that person's address: a reply
is accepted only from the address it was sent to (``services/inbound.py``).
Every message's envelope sender carries a token naming the message itself
(VERP), so a bounce says which message bounced and to whom.

A token is lower-case letters, digits and one ``-`` (some mail servers
lower-case local parts), short enough for any local part (64 octets):

``f12a-<sig>``   feedback 12, sent to one of its authors
``f12r-<sig>``   feedback 12, sent to the reader who wrote it
``c34a-<sig>``   comment 34, sent to one of its article's authors
``b567-<sig>``   outbox message 567 (the envelope sender: bounces)

``<sig>`` is 80 bits of HMAC-SHA-256 under the app's secret key over the
token's head, the recipient's address and the conversation's ``salt``, in
base 32. A feedback's salt is its ``reply_token_nonce``, random per row, so
a token never fits another feedback that later gets the same number (SQLite
reuses the highest id once its row is deleted). Nothing else is stored: a
new secret key ends every open conversation (replies to older mail are held
for an editor, never lost).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..core.models import Feedback

Kind = Literal["feedback", "comment", "bounce"]
Role = Literal["author", "reader", ""]

#: Outbox kinds sent to the reader of a feedback; the other kinds of a
#: feedback's thread go to its authors.
TO_READER = frozenset({"reply-to-reader", "feedback-ack", "post-answer-to-reader"})

_LETTER = {"feedback": "f", "comment": "c", "bounce": "b"}
_KIND = {v: k for k, v in _LETTER.items()}
_ROLE_LETTER = {"author": "a", "reader": "r", "": ""}
_ROLE = {v: k for k, v in _ROLE_LETTER.items()}
_TOKEN = re.compile(r"([fcb])([0-9]{1,18})([ar]?)-([a-z2-7]{16})")


@dataclass(frozen=True)
class Token:
    """What a token names: a conversation (``kind``, ``id``, ``role``) or,
    for ``kind`` "bounce", the outbox message ``id``."""

    kind: Kind
    id: int
    role: Role
    signature: str = ""

    @property
    def head(self) -> str:
        return f"{_LETTER[self.kind]}{self.id}{_ROLE_LETTER[self.role]}"


def _sign(head: str, address: str, secret: str | bytes, salt: str = "") -> str:
    key = secret.encode() if isinstance(secret, str) else secret
    data = f"reply-address\0{head}\0{address.strip().lower()}".encode()
    if salt:
        data += f"\0{salt}".encode()
    digest = hmac.new(key, data, hashlib.sha256).digest()[:10]
    return base64.b32encode(digest).decode("ascii").lower()


def make_token(
    token: Token, recipient: str, secret: str | bytes, salt: str = ""
) -> str:
    """Return ``token`` as text, signed for ``recipient`` (and ``salt``)."""
    return f"{token.head}-{_sign(token.head, recipient, secret, salt)}"


def address_with(token: str, config: Mapping[str, Any]) -> str | None:
    """Return ``MAIL_REPLY_ADDRESS`` with ``token`` in it; None when replies
    by mail are off."""
    template = config.get("MAIL_REPLY_ADDRESS")
    return template.replace("{token}", token) if template else None


def conversation_of(thread_key: str | None, kind: str) -> Token | None:
    """Return the conversation an outbox message belongs to (by its
    ``thread_key``, "feedback-12" or "comment-34", and its kind), or None."""
    if not thread_key:
        return None
    name, _, number = thread_key.partition("-")
    if not number.isdigit():
        return None
    if name == "feedback":
        role: Role = "reader" if kind in TO_READER else "author"
        return Token("feedback", int(number), role)
    if name == "comment":
        return Token("comment", int(number), "author")
    return None


def reply_address(
    thread_key: str | None,
    kind: str,
    recipient: str,
    config: Mapping[str, Any],
    salt: str = "",
) -> str | None:
    """Return the Reply-To address of an outbox message to ``recipient`` in
    the conversation whose salt is ``salt``, or None if it belongs to no
    conversation or replies by mail are off."""
    token = conversation_of(thread_key, kind)
    if token is None:
        return None
    secret = config["SECRET_KEY"]
    return address_with(make_token(token, recipient, secret, salt), config)


def bounce_address(
    outbox_id: int, recipient: str, config: Mapping[str, Any]
) -> str | None:
    """Return the envelope sender of outbox message ``outbox_id``, or None
    (then ``MAIL_FROM`` is the envelope sender)."""
    token = Token("bounce", outbox_id, "")
    return address_with(make_token(token, recipient, config["SECRET_KEY"]), config)


def read_token(address: str, config: Mapping[str, Any]) -> Token | None:
    """Return the (not yet verified) token in ``address``, one of the site's
    reply addresses, or None if it is not one."""
    template = config.get("MAIL_REPLY_ADDRESS")
    if not template or not address:
        return None
    before, _, after = template.partition("{token}")
    pattern = re.escape(before) + r"(?P<token>[^@\s]+)" + re.escape(after)
    found = re.fullmatch(pattern, address.strip(), flags=re.IGNORECASE)
    if found is None:
        return None
    parts = _TOKEN.fullmatch(found["token"].lower())
    if parts is None:
        return None
    letter, number, role, signature = parts.groups()
    if (letter == "b") != (role == "") or (letter == "c" and role != "a"):
        return None
    return Token(_KIND[letter], int(number), _ROLE[role], signature)


def issued_to(
    token: Token, address: str, config: Mapping[str, Any], salt: str = ""
) -> bool:
    """Tell whether ``token`` was issued to ``address`` by this site, in the
    conversation whose salt is ``salt``."""
    expected = _sign(token.head, address, config["SECRET_KEY"], salt)
    return hmac.compare_digest(expected, token.signature)


def salts(session: Session, thread_keys: Iterable[str | None]) -> dict[str, str]:
    """Return the salt of each feedback conversation among ``thread_keys``
    ("feedback-12": its ``reply_token_nonce``), in one query."""
    ids = {}
    for key in thread_keys:
        token = conversation_of(key, "")
        if token is not None and token.kind == "feedback":
            ids[token.id] = key
    if not ids:
        return {}
    rows = session.execute(
        select(Feedback.id, Feedback.reply_token_nonce).where(Feedback.id.in_(ids))
    )
    return {ids[row.id]: row.reply_token_nonce or "" for row in rows}


def salt_of(session: Session, token: Token) -> str:
    """Return the salt of the conversation ``token`` names ("" if none)."""
    if token.kind != "feedback":
        return ""
    nonce = session.scalar(
        select(Feedback.reply_token_nonce).where(Feedback.id == token.id)
    )
    return nonce or ""
