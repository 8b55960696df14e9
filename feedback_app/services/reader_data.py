"""What the site keeps about a reader's address: export it, erase it, purge.

An address is what a reader can prove is theirs, so it is the key for
requests about their data (as in WordPress's privacy tools):

- ``export`` returns everything stored under it, as one JSON document;
- ``erase`` deletes their private feedback (with its conversation, and the
  mail received in it), their unpublished comments, their subscription, the
  mail sent to them or about them (with them as Reply-To), the mail received
  from them and the record of their address bouncing, and keeps the text of
  their published
  comments, unattributed: the name becomes "Anonymous", the address and
  website go. Threads stay whole.

Mail is matched by its To and Reply-To fields only, never by the address
appearing in its text, which would take in other readers' mail.

``purge`` deletes, for good, comments and feedback left in spam or trash,
and received mail ignored or discarded, for longer than
``PURGE_AFTER_DAYS``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import delete, func, or_, select
from sqlalchemy.orm import Session, selectinload

from ..core.db import get_db
from ..core.models import (
    BouncedAddress,
    Comment,
    Feedback,
    InboundMessage,
    OutboxMessage,
    Subscription,
    utcnow,
)
from ..site.publishing import publisher
from ..store.comments import delete_comment, fingerprint

ANONYMOUS = "Anonymous"


def _key(email: str) -> str:
    return email.strip().lower()


def _same(column: Any, email: str) -> Any:
    # Addresses are stored as email-validator normalised them; compare
    # without case so that a request in another case still finds them. Each
    # such column has an index of ``lower(column)`` (models.py): this is the
    # expression it holds.
    return func.lower(column) == _key(email)


def _mail_about(session: Session, email: str) -> list[int]:
    """Return the ids of mail to the address or with it as Reply-To.

    Only the headers say whose a message is. An address in a body proves
    nothing: another reader may quote it, and erasing by body would delete
    (and export would show) someone else's mail. Notifications about a
    reader's feedback or comment carry the reader as Reply-To, so they are
    found.
    """
    return list(
        session.scalars(
            select(OutboxMessage.id).where(
                or_(
                    _same(OutboxMessage.recipient, email),
                    _same(OutboxMessage.reply_to, email),
                )
            )
        )
    )


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat(timespec="seconds") if moment else None


def export(session: Session, email: str) -> dict[str, Any]:
    """Return everything stored about ``email``."""
    feedback = session.scalars(
        select(Feedback)
        .where(_same(Feedback.email, email))
        .options(selectinload(Feedback.messages))
        .order_by(Feedback.id)
    ).all()
    comments = session.scalars(
        select(Comment).where(_same(Comment.email, email)).order_by(Comment.id)
    ).all()
    subscription = session.scalar(
        select(Subscription).where(_same(Subscription.email, email))
    )
    mail = session.scalars(
        select(OutboxMessage)
        .where(OutboxMessage.id.in_(_mail_about(session, email)))
        .order_by(OutboxMessage.id)
    ).all()
    received = session.scalars(
        select(InboundMessage)
        .where(_same(InboundMessage.sender, email))
        .order_by(InboundMessage.id)
    ).all()
    bounced = session.scalar(
        select(BouncedAddress).where(BouncedAddress.email == _key(email))
    )
    return {
        "address": email,
        "exported_at": _iso(utcnow()),
        "feedback": [
            {
                "id": f.id,
                "article": {
                    "slug": f.article_slug,
                    "title": f.article_title,
                    "url": f.article_url,
                },
                "sent_at": _iso(f.created_at),
                "name": f.name,
                "email": f.email,
                "message": f.message,
                "may_quote": f.may_quote,
                "state": f.state,
                "conversation": [
                    {
                        "from": m.sender,
                        "at": _iso(m.created_at),
                        "text": m.body,
                    }
                    for m in f.messages
                    if m.via != "post"
                ],
            }
            for f in feedback
        ],
        "comments": [
            {
                "id": c.id,
                "article": c.article_slug,
                "sent_at": _iso(c.created_at),
                "name": c.name,
                "email": c.email,
                "website": c.website,
                "text": c.body,
                "state": c.state,
                "in_reply_to": c.parent_id,
                "wants_reply_notifications": c.notify_replies,
            }
            for c in comments
        ],
        "subscription": None
        if subscription is None
        else {
            "email": subscription.email,
            "asked_at": _iso(subscription.created_at),
            "confirmed_at": _iso(subscription.confirmed_at),
            "unsubscribed_at": _iso(subscription.unsubscribed_at),
        },
        "mail": [
            {
                "to": m.recipient,
                "reply_to": m.reply_to,
                "subject": m.subject,
                "text": m.body,
                "state": m.state,
                "queued_at": _iso(m.created_at),
                "sent_at": _iso(m.sent_at),
            }
            for m in mail
        ],
        "mail_received": [
            {
                "from": m.sender,
                "subject": m.subject,
                "text": m.body,
                "state": m.state,
                "received_at": _iso(m.received_at),
            }
            for m in received
        ],
        "bounced": None
        if bounced is None
        else {"reason": bounced.reason, "at": _iso(bounced.bounced_at)},
    }


@dataclass
class Erased:
    """What ``erase`` did, for the record and the confirmation page."""

    feedback: int = 0
    comments_deleted: int = 0
    comments_anonymised: int = 0
    subscriptions: int = 0
    mail: int = 0
    mail_received: int = 0
    bounced: int = 0
    # Articles whose published comments changed: publish them again.
    articles: set[str] = field(default_factory=set)

    @property
    def anything(self) -> bool:
        return bool(
            self.feedback
            + self.comments_deleted
            + self.comments_anonymised
            + self.subscriptions
            + self.mail
            + self.mail_received
            + self.bounced
        )


def erase_reader(email: str, *, wait: bool = False) -> Erased:
    """Erase what is stored about ``email`` (``erase``) and republish the
    articles whose comments changed: at once if ``wait``, else in the
    background. The desk and ``flask readers erase`` both come here."""
    with get_db().write() as session:
        erased = erase(session, email)
    publisher(current_app._get_current_object()).publish(  # type: ignore[attr-defined]
        erased.articles, wait=wait
    )
    return erased


def erase(session: Session, email: str) -> Erased:
    """Erase what is stored about ``email`` (see the module's docstring)."""
    done = Erased()
    feedback_ids = list(
        session.scalars(select(Feedback.id).where(_same(Feedback.email, email)))
    )
    # The mail received in those conversations (the author's answers by
    # mail too): it goes with them.
    done.mail_received = session.execute(
        delete(InboundMessage).where(
            or_(
                InboundMessage.feedback_id.in_(feedback_ids),
                _same(InboundMessage.sender, email),
            )
        )
    ).rowcount
    for feedback in session.scalars(
        select(Feedback).where(Feedback.id.in_(feedback_ids))
    ):
        session.delete(feedback)
    done.feedback = len(feedback_ids)

    comments = session.scalars(select(Comment).where(_same(Comment.email, email))).all()
    for comment in comments:
        if comment.state == "approved":
            comment.name = ANONYMOUS
            comment.email = None
            comment.website = None
            comment.notify_replies = False
            comment.submission_key = None
            # The old fingerprint was a hash of the address too.
            comment.fingerprint = fingerprint(
                comment.article_page_url,
                comment.parent_id,
                ANONYMOUS,
                None,
                comment.body,
            )
            done.comments_anonymised += 1
            done.articles.add(comment.article_page_url)
        else:
            # Unpublished: nothing of it needs to stay. Replies it had while
            # it was published move up, as with any deleted comment.
            delete_comment(session, comment.id)
            done.comments_deleted += 1

    done.subscriptions = (
        session.execute(delete(Subscription).where(_same(Subscription.email, email)))
    ).rowcount
    done.mail = session.execute(
        delete(OutboxMessage).where(OutboxMessage.id.in_(_mail_about(session, email)))
    ).rowcount
    done.bounced = session.execute(
        delete(BouncedAddress).where(BouncedAddress.email == _key(email))
    ).rowcount
    session.flush()
    return done


@dataclass(frozen=True)
class Purged:
    comments: int
    feedback: int
    mail_received: int = 0


def purge(session: Session, days: int) -> Purged:
    """Delete spam and trash comments and feedback older than ``days``.

    Age counts from when a comment or feedback last changed (was moved to
    spam or trash), not from when it arrived. ``days`` of 0 purges nothing. Nothing
    published changes: replies to a purged comment move up to its parent,
    which is where the site already shows them.
    """
    if days <= 0:
        return Purged(0, 0, 0)
    before = utcnow() - timedelta(days=days)
    old = list(
        session.scalars(
            select(Comment.id).where(
                Comment.state.in_(("spam", "trash")), Comment.updated_at < before
            )
        )
    )
    for comment_id in old:
        delete_comment(session, comment_id)
    spam = session.execute(
        delete(Feedback).where(
            Feedback.state.in_(("spam", "trash")), Feedback.updated_at < before
        )
    ).rowcount
    received = session.execute(
        delete(InboundMessage).where(
            InboundMessage.state.in_(("ignored", "discarded")),
            InboundMessage.received_at < before,
        )
    ).rowcount
    session.flush()
    return Purged(len(old), spam, received)
