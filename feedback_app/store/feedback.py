"""Private feedback: storing it, finding it by its reply token, changing it.

The views and, later, the author's desk and the CLI call these functions;
each takes the session of the transaction it runs in.
"""

from __future__ import annotations

import hashlib
import re
import secrets

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from ..core.models import Feedback, FeedbackMessage, utcnow
from ..site.index import Article
from ..site.ownership import encode_authors
from .rows import insert_row

# 32 random bytes, URL-safe base64 without padding.
TOKEN_PATTERN = re.compile(r"[A-Za-z0-9_-]{43}")


def hash_token(token: str) -> str:
    """Return the stored form of a reply token (SHA-256, hex)."""
    return hashlib.sha256(token.encode("ascii")).hexdigest()


def submit_feedback(
    session: Session,
    article: Article,
    *,
    message: str,
    name: str | None = None,
    email: str | None = None,
    may_quote: bool = False,
    spam: bool = False,
) -> tuple[Feedback, str]:
    """Store a reader's feedback; return it and its new reply token.

    The token is returned once and never stored: only its hash is. Every
    reader's post runs this in its write transaction, so it is a Core
    ``INSERT`` (``db.insert_row``; the ORM's flush was 8 % of a feedback
    post's CPU); the feedback returned is a persistent ORM object all the
    same.
    """
    token = secrets.token_urlsafe(32)
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
        "state": "spam" if spam else "new",
        "post_slug": None,
        "post_source": None,
        "reply_token_hash": hash_token(token),
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
