"""Private feedback: storing it, finding it by its reply token, changing it.

The views and, later, the author's desk and the CLI call these functions;
each takes the session of the transaction it runs in.

A reader's reply page is opened by a token: the HMAC-SHA-256 of a random
per-feedback nonce (``reply_token_nonce``) under the app's secret key, in
URL-safe base64 (43 characters). Only the token's SHA-256 is stored, beside
the nonce, so mail sent later (an answer, a public post) can carry the link
again, while a copy of the database alone still opens nobody's reply page:
the token needs the secret key too. Feedback stored before the nonce was
kept has none; its link cannot be made again (``reply_token`` says None).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from collections.abc import Iterable
from typing import Any

from flask import current_app
from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import Session, selectinload

from ..core.models import Feedback, FeedbackMessage, utcnow
from ..site.index import Article
from ..site.ownership import encode_authors
from .rows import insert_row

# 32 bytes (an HMAC-SHA-256; before nonces, random), URL-safe base64
# without padding.
TOKEN_PATTERN = re.compile(r"[A-Za-z0-9_-]{43}")


def hash_token(token: str) -> str:
    """Return the stored form of a reply token (SHA-256, hex)."""
    return hashlib.sha256(token.encode("ascii")).hexdigest()


def _secret(secret: str | bytes | None) -> bytes:
    key = current_app.secret_key if secret is None else secret
    if not key:
        raise RuntimeError("reply tokens need the app's SECRET_KEY")
    return key.encode() if isinstance(key, str) else key


def token_for_nonce(nonce: str, secret: str | bytes | None = None) -> str:
    """Return the reply token of ``nonce`` under ``secret`` (by default the
    app's secret key)."""
    digest = hmac.new(
        _secret(secret), f"reply-page\0{nonce}".encode(), hashlib.sha256
    ).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def reply_token(feedback: Feedback, secret: str | bytes | None = None) -> str | None:
    """Return the token opening ``feedback``'s reply page, or None if it
    cannot be made again: stored before nonces were kept, or under another
    secret key (then the link given when it was sent still works)."""
    if not feedback.reply_token_nonce:
        return None
    token = token_for_nonce(feedback.reply_token_nonce, secret)
    if not hmac.compare_digest(hash_token(token), feedback.reply_token_hash):
        return None
    return token


def submit_feedback(
    session: Session,
    article: Article,
    *,
    message: str,
    name: str | None = None,
    email: str | None = None,
    may_quote: bool = False,
    spam: bool = False,
    lang: str | None = None,
    secret: str | bytes | None = None,
) -> tuple[Feedback, str]:
    """Store a reader's feedback; return it and its new reply token.

    The token is never stored: only its hash and the nonce it is made from
    under ``secret`` (by default the app's secret key) are. Every
    reader's post runs this in its write transaction, so it is a Core
    ``INSERT`` (``db.insert_row``; the ORM's flush was 8 % of a feedback
    post's CPU); the feedback returned is a persistent ORM object all the
    same. ``lang`` is the language of the page it was sent from.
    """
    nonce = secrets.token_urlsafe(32)
    token = token_for_nonce(nonce, secret)
    now = utcnow()
    values = {
        "article_slug": article.slug,
        "article_title": article.title,
        "article_url": article.url,
        # Whose it is, from now on: the article's authors as it arrives.
        "article_page_url": article.page_url,
        "article_authors": encode_authors(article.authors),
        "message": message,
        "name": name or None,
        "email": email or None,
        "may_quote": may_quote,
        "lang": lang,
        "state": "spam" if spam else "new",
        "post_slug": None,
        "post_source": None,
        "reply_token_hash": hash_token(token),
        "reply_token_nonce": nonce,
        "created_at": now,
        "updated_at": now,
    }
    return insert_row(session, Feedback, values), token


def find_by_token(session: Session, token: str) -> Feedback | None:
    """Return the feedback whose reply page ``token`` opens, or None."""
    if not TOKEN_PATTERN.fullmatch(token):
        return None
    return session.scalar(
        select(Feedback)
        .where(Feedback.reply_token_hash == hash_token(token))
        .options(selectinload(Feedback.messages))
    )


def add_follow_up(session: Session, feedback: Feedback, body: str) -> FeedbackMessage:
    """Add a reader's follow-up to ``feedback``; it is new on the desk again."""
    follow_up = FeedbackMessage(sender="reader", body=body)
    feedback.messages.append(follow_up)
    if feedback.state != "spam":
        feedback.state = "new"
    session.flush()
    return follow_up


def set_contact(feedback: Feedback, email: str | None) -> None:
    """Set, change or (with None) remove the reader's contact address."""
    feedback.email = email or None


def delete_feedback(session: Session, feedback: Feedback) -> None:
    """Delete ``feedback`` with its follow-ups and replies."""
    session.delete(feedback)
    session.flush()


def mask_email(email: str) -> str:
    """Return ``email`` with most of its local part hidden: ``j•••@example.org``."""
    local, _, domain = email.rpartition("@")
    return f"{local[:1]}{'•' * 3}@{domain}"


#: The inbox's views (the desk's tabs, ``flask feedback list --view``):
#: which states each shows.
FEEDBACK_VIEWS = {
    "inbox": ("new", "read", "answered"),
    "new": ("new",),
    "read": ("read",),
    "answered": ("answered",),
    "archived": ("archived",),
    "spam": ("spam",),
    "trash": ("trash",),
}


def latest_activity() -> Any:
    """When the reader last wrote: their latest follow-up, or the feedback."""
    follow_up = (
        select(func.max(FeedbackMessage.created_at))
        .where(
            FeedbackMessage.feedback_id == Feedback.id,
            FeedbackMessage.sender == "reader",
        )
        .correlate(Feedback)
        .scalar_subquery()
    )
    return func.coalesce(follow_up, Feedback.created_at)


def listing(
    states: Iterable[str], article: str | None = None, search: str | None = None
) -> Select[tuple[Feedback]]:
    """Return the query of feedback in ``states`` (on the article at
    ``article``, holding ``search`` in its text, name or conversation), what
    the reader last wrote first: the desk's inbox and ``flask feedback
    list`` alike."""
    query = select(Feedback).where(Feedback.state.in_(tuple(states)))
    if article:
        query = query.where(Feedback.article_page_url == article)
    if search:
        query = query.where(
            or_(
                Feedback.message.icontains(search, autoescape=True),
                Feedback.name.icontains(search, autoescape=True),
                Feedback.messages.any(
                    FeedbackMessage.body.icontains(search, autoescape=True)
                ),
            )
        )
    return query.order_by(latest_activity().desc(), Feedback.id.desc())
