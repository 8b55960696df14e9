"""Applying a message received by mail, for both ways in (``flask mail
receive`` from the mail server's pipe, and the IMAP poll): one function,
``receive``.

Every message is stored once, by its Message-ID, in ``inbound_message``;
the same Message-ID again is reported as a duplicate and changes nothing.
The row is written (claimed) before anything is applied, so a message is
applied at most once even if the mail server delivers it again after a
crash.

A reply is applied only when its address's token was issued by this site to
the address in ``From`` (``conversations.issued_to``) and the conversation
still takes it:

* feedback, to an author: an author with that address who may see the
  feedback answers it, exactly as on the desk (``answers.answer``);
* feedback, to the reader: the reader, still at that address, adds a
  follow-up; the authors are told as for one sent from the reply page;
* a comment, to an author: an approved author reply under the comment,
  approving the comment if it was held (``moderation.reply_as_author``).

Anything else is **held** for an editor with a reason (no token, a forged
or replayed one, another sender, a conversation gone or spam, no text of its
own, too long), never published; auto-replies are **ignored**. A bounce
(``b<outbox id>`` token, verified against that message's recipient) marks
the outbox message ``bounced``; a hard one (5.x.x) also puts the address in
``bounced_address``.

Longer than 400 lines because each kind of conversation has its own checks
before it is applied, and they belong together with the one door they guard.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from typing import Any

from flask import current_app
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..core.db import get_db
from ..core.models import (
    Author,
    BouncedAddress,
    Comment,
    Feedback,
    InboundMessage,
    OutboxMessage,
    utcnow,
)
from ..mail import messages as notify
from ..mail.conversations import issued_to, salt_of
from ..mail.inbound import Bounce, Inbound, NotAMessage, parse
from ..site import ownership
from ..store import comments as cm
from ..store import feedback as fb
from . import answers, moderation

__all__ = ["NotAMessage", "Received", "receive"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Received:
    """What became of one received message: ``state`` is ``applied``,
    ``held``, ``ignored`` or ``duplicate``; ``reason`` says why or what it
    did, never quoting the message."""

    id: int
    state: str
    kind: str | None
    reason: str

    def line(self) -> str:
        """One line for a log or a terminal."""
        return f"{self.state}: {self.reason} (inbound message #{self.id})"


class _Held(Exception):
    """The message cannot be applied; the text says why."""


def receive(
    raw: bytes, via: str, recipient: str | None = None, *, truncated: bool = False
) -> Received:
    """Store and apply the message ``raw`` received ``via`` "pipe" or "imap"
    (sent to ``recipient``, if the mail server said; ``truncated`` if it was
    longer than what was read).

    :raise NotAMessage: if ``raw`` is not an e-mail message at all.
    :raise sqlalchemy.exc.OperationalError: if the database is unreachable
        (nothing is stored then: the mail server should try again).
    """
    config = current_app.config
    try:
        message = parse(raw, config, recipient, truncated=truncated)
    except NotAMessage:
        raise
    except (RecursionError, ValueError, LookupError, TypeError) as exc:
        # A message too broken (or too deep) to read is kept, not retried
        # for ever: an editor sees that it came.
        return _unreadable(raw, via, recipient, exc)
    with get_db().read() as session:
        known = _stored(session, message.message_id)
    if known is not None:
        return known
    kind = _kind(message)
    row = {
        "message_id": message.message_id,
        "received_via": via,
        "sender": message.sender,
        "recipient": message.recipient,
        "subject": message.subject,
        "body": message.text,
        "kind": kind,
    }
    if message.bounce is not None:
        return _store_bounce(row, message.bounce, message, config)
    if message.auto_reply:
        return _store(row, "ignored", f"an automatic reply ({message.auto_reply})")
    held = _why_held(message, config)
    if held:
        return _store(row, "held", held, **_ids(message))
    # Claim it first: a second delivery of the same message finds it.
    claimed = _store(row, "held", "being applied", **_ids(message))
    if claimed.state == "duplicate":
        return claimed
    try:
        done = _apply(message, claimed.id, config)
    except _Held as exc:
        return _finish(claimed.id, "held", str(exc))
    except Exception as exc:
        why = f"could not be applied: {type(exc).__name__}"
        try:
            _finish(claimed.id, "held", why)
        except Exception:  # the database went away: the row says "being applied"
            logger.exception("inbound message #%d: %s", claimed.id, why)
        raise
    return _finish(claimed.id, "applied", done)


# --- storing -----------------------------------------------------------------------


def _stored(session: Session, message_id: str) -> Received | None:
    found = session.scalar(
        select(InboundMessage).where(InboundMessage.message_id == message_id)
    )
    if found is None:
        return None
    return Received(
        found.id, "duplicate", found.kind, f"already received ({found.state})"
    )


def _store(row: dict[str, Any], state: str, reason: str, **ids: Any) -> Received:
    try:
        with get_db().write() as session:
            # Only rows that exist: a forged token names any number.
            models = {
                "feedback_id": Feedback,
                "comment_id": Comment,
                "outbox_message_id": OutboxMessage,
            }
            ids = {k: v for k, v in ids.items() if session.get(models[k], v)}
            message = InboundMessage(**row, state=state, reason=reason, **ids)
            session.add(message)
            session.flush()
            stored = Received(message.id, state, message.kind, reason)
    except IntegrityError:  # received at the same moment by another process
        with get_db().read() as session:
            known = _stored(session, row["message_id"])
        if known is None:
            raise
        return known
    return stored


def _unreadable(
    raw: bytes, via: str, recipient: str | None, exc: Exception
) -> Received:
    message_id = "sha256:" + hashlib.sha256(raw).hexdigest()
    with get_db().read() as session:
        known = _stored(session, message_id)
    if known is not None:
        return known
    row = {
        "message_id": message_id,
        "received_via": via,
        "sender": None,
        "recipient": (recipient or "")[:254] or None,
        "subject": None,
        "body": "",
        "kind": None,
    }
    return _store(row, "held", f"could not be read ({type(exc).__name__})")


def _finish(inbound_id: int, state: str, reason: str) -> Received:
    with get_db().write() as session:
        message = session.get(InboundMessage, inbound_id)
        message.state = state
        message.reason = reason[:500]
        return Received(message.id, state, message.kind, message.reason)


def _kind(message: Inbound) -> str | None:
    if message.bounce is not None:
        return "bounce"
    token = message.token
    if token is None:
        return None
    if token.kind == "feedback":
        return "answer" if token.role == "author" else "follow-up"
    if token.kind == "comment":
        return "comment-reply"
    return None


def _ids(message: Inbound) -> dict[str, int]:
    token = message.token
    if token is None or token.kind == "bounce":
        return {}
    return {f"{token.kind}_id": token.id}


# --- deciding ----------------------------------------------------------------------


def _why_held(message: Inbound, config: Any) -> str | None:
    """Why ``message`` cannot be applied, as far as it can be told without
    the database; None if it may be."""
    token = message.token
    if token is None:
        return "not sent to a conversation's reply address"
    if token.kind == "bounce":
        return "sent to a bounce address but not a delivery report"
    if not message.sender:
        return "no sender address"
    with get_db().read() as session:
        salt = salt_of(session, token)
    if not issued_to(token, message.sender, config, salt):
        return (
            "the reply address was not issued to the sender "
            "(forged, or forwarded from another address)"
        )
    if message.authenticated is False:
        return (
            "its sender was not authenticated by the site's mail server "
            "(no DMARC or DKIM pass for the From domain)"
        )
    if message.truncated:
        return "too large: only its beginning was read"
    if message.text_cut:
        return "its text is too long to apply"
    if not message.text.strip():
        return "no text of its own (only quoted text, or empty)"
    return None


def _apply(message: Inbound, inbound_id: int, config: Any) -> str:
    """Apply a verified reply; return what it did.

    :raise _Held: if the conversation does not take it.
    """
    token = message.token
    if token is None or not message.sender:  # _why_held let it through
        raise _Held("not sent to a conversation's reply address")
    if token.kind == "feedback" and token.role == "author":
        return _answer(token.id, message.sender, message.text, config)
    if token.kind == "feedback":
        return _follow_up(token.id, message.sender, message.text, config)
    return _comment_reply(token.id, message.sender, message.text, config)


def _authors_at(session: Session, address: str) -> list[Author]:
    return list(
        session.scalars(
            select(Author)
            .where(func.lower(Author.email) == address.strip().lower())
            .order_by(Author.id)
        )
    )


def _may_see(author: Author, row: Feedback | Comment) -> bool:
    return author.role == "editor" or ownership.is_author(row, author.name)


def _answer(feedback_id: int, sender: str, text: str, config: Any) -> str:
    if len(text) > config["MAX_REPLY_LENGTH"]:
        raise _Held(f"longer than an answer may be ({config['MAX_REPLY_LENGTH']})")
    with get_db().read() as session:
        feedback = session.get(Feedback, feedback_id)
        if feedback is None:
            raise _Held(f"feedback #{feedback_id} no longer exists")
        if feedback.state == "spam":
            raise _Held(f"feedback #{feedback_id} is marked as spam")
        authors = [a for a in _authors_at(session, sender) if _may_see(a, feedback)]
    if not authors:
        raise _Held("the sender is no author who may answer this feedback")
    author = authors[0]
    try:
        answers.answer(
            feedback_id,
            author,
            text,
            private=True,
            allowed=lambda row: _may_see(author, row) and row.state != "spam",
        )
    except answers.NoSuchFeedback:
        raise _Held(f"feedback #{feedback_id} is not there any more") from None
    return f"answer by {author.name} to feedback #{feedback_id}"


def _follow_up(feedback_id: int, sender: str, text: str, config: Any) -> str:
    if len(text) > config["MAX_MESSAGE_LENGTH"]:
        raise _Held(f"longer than a message may be ({config['MAX_MESSAGE_LENGTH']})")
    with get_db().write() as session:
        feedback = session.get(Feedback, feedback_id)
        if feedback is None:
            raise _Held(f"feedback #{feedback_id} no longer exists")
        if feedback.state == "spam":
            raise _Held(f"feedback #{feedback_id} is marked as spam")
        if (feedback.email or "").strip().lower() != sender.strip().lower():
            raise _Held("the reader's address on this feedback has changed")
        follow_up = fb.add_follow_up(session, feedback, text)
        notify.follow_up_received(session, feedback, follow_up, config)
    return f"follow-up from the reader to feedback #{feedback_id}"


def _comment_reply(comment_id: int, sender: str, text: str, config: Any) -> str:
    if len(text) > config["MAX_REPLY_LENGTH"]:
        raise _Held(f"longer than a reply may be ({config['MAX_REPLY_LENGTH']})")
    with get_db().read() as session:
        comment = session.get(Comment, comment_id)
        if comment is None:
            raise _Held(f"comment #{comment_id} no longer exists")
        if comment.state not in {"pending", "approved"}:
            raise _Held(f"comment #{comment_id} is {comment.state}")
        authors = [
            a
            for a in _authors_at(session, sender)
            if ownership.is_author(comment, a.name)
        ]
    if not authors:
        raise _Held("the sender is no author of the comment's article")
    author = authors[0]
    try:
        reply = moderation.reply_as_author(
            comment_id,
            author.name,
            text,
            allowed=lambda row: row.state in {"pending", "approved"},
            # Now: ``flask mail receive`` is a process that ends at once.
            wait=True,
        )
    except cm.CommentError as exc:
        raise _Held(str(exc)) from None
    return f"reply by {author.name} to comment #{comment_id} (comment #{reply.id})"


# --- bounces -----------------------------------------------------------------------


def _store_bounce(
    row: dict[str, Any], bounce: Bounce, message: Inbound, config: Any
) -> Received:
    token = message.token
    if token is None or token.kind != "bounce":
        return _store(row, "held", "a delivery report for no message of ours")
    if not bounce.failed:
        return _store(
            row,
            "ignored",
            f"a delivery report: {bounce.action}",
            outbox_message_id=token.id,
        )
    try:
        with get_db().write() as session:
            outbox = session.get(OutboxMessage, token.id)
            if outbox is None or not issued_to(token, outbox.recipient, config):
                reason = "a delivery report with a forged or unknown bounce address"
                session.add(InboundMessage(**row, state="held", reason=reason))
                session.flush()
                return Received(_last_id(session, row), "held", "bounce", reason)
            reason = bounce.reason()[:500]
            outbox.state = "bounced"
            outbox.last_error = reason
            suppressed = ""
            if bounce.hard:
                _suppress(session, outbox, reason)
                suppressed = "; no more mail goes there"
            # The line the mail server may log: the message, never the person.
            done = f"mail #{outbox.id} ({outbox.kind}) bounced{suppressed}"
            inbound = InboundMessage(
                **row,
                state="applied",
                reason=f"{reason}"[:500],
                outbox_message_id=outbox.id,
            )
            session.add(inbound)
            session.flush()
            return Received(inbound.id, "applied", "bounce", done)
    except IntegrityError:
        with get_db().read() as session:
            known = _stored(session, row["message_id"])
        if known is None:
            raise
        return known


def _last_id(session: Session, row: dict[str, Any]) -> int:
    return session.scalar(
        select(InboundMessage.id).where(InboundMessage.message_id == row["message_id"])
    )


def _suppress(session: Session, outbox: OutboxMessage, reason: str) -> None:
    address = outbox.recipient.strip().lower()
    known = session.scalar(
        select(BouncedAddress).where(BouncedAddress.email == address)
    )
    if known is None:
        session.add(
            BouncedAddress(email=address, reason=reason, outbox_message_id=outbox.id)
        )
    else:
        known.reason = reason
        known.outbox_message_id = outbox.id
        known.bounced_at = utcnow()


def forget_bounce(session: Session, address: str | None) -> None:
    """Let mail go to ``address`` again (a reader gave it again)."""
    if address:
        session.execute(
            BouncedAddress.__table__.delete().where(
                BouncedAddress.email == address.strip().lower()
            )
        )


def bounced(session: Session, address: str | None) -> BouncedAddress | None:
    """Return the bounce recorded for ``address``, if any."""
    if not address:
        return None
    return session.scalar(
        select(BouncedAddress).where(BouncedAddress.email == address.strip().lower())
    )
