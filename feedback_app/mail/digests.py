"""The daily digest, for authors who chose it instead of a mail per message.

Run by the sender as a periodic job (``feedback_app.services.jobs``) and by
``flask outbox digest``.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from sqlalchemy import select, true
from sqlalchemy.orm import Session

from ..core.db import get_db
from ..core.models import Author, Comment, Feedback, utcnow
from ..core.translations import translations
from ..site.index import site_index
from ..site.ownership import decode_authors, written_by
from .messages import author_language, desk_url, title_in_quotes
from .outbox import queue_mail

#: How often an author who chose the digest hears from the site.
DIGEST_EVERY = timedelta(days=1)


def digests_wanted(app: Any) -> bool:
    """Tell whether any author chose the digest (a read, no write lock)."""
    with get_db(app).read() as session:
        chosen = select(Author.id).where(Author.notify == "digest").limit(1)
        return session.scalar(chosen) is not None


def _editors_share(name: str, accounts: frozenset[str]) -> Callable[[str], bool]:
    """What editor ``name``'s digest lists: what readers sent about their own
    articles, and about articles none of whose authors has an account."""

    def mine(stored: str) -> bool:
        authors = decode_authors(stored)
        return name in authors or not accounts.intersection(authors)

    return mine


def send_digests(session: Session, config: Any, *, force: bool = False) -> int:
    """Queue the daily digest for each author who chose it and is due.

    A digest lists the feedback and comments (not spam) that arrived since
    the last one on articles the author was recorded as writing when they
    arrived (``ownership.py``), and for an editor also those on articles
    none of whose authors has an account; with nothing new, none is sent.
    Returns how many digests were queued.
    """

    site = site_index().current()
    now = utcnow()
    queued = 0
    accounts: frozenset[str] | None = None
    for author in session.scalars(select(Author).where(Author.notify == "digest")):
        since = author.digest_sent_at or author.created_at
        if not force and now - since < DIGEST_EVERY:
            continue
        if author.role == "editor":
            # Editors also hear of what nobody with an account wrote.
            if accounts is None:
                accounts = frozenset(session.scalars(select(Author.name)))
            mine = _editors_share(author.name, accounts)
            on_feedback = on_comments = true()
        else:
            mine = None
            on_feedback = written_by(Feedback.article_authors, author.name)
            on_comments = written_by(Comment.article_authors, author.name)
        feedback = [
            f
            for f in session.scalars(
                select(Feedback).where(
                    on_feedback,
                    Feedback.state != "spam",
                    Feedback.created_at > since,
                )
            )
            if mine is None or mine(f.article_authors)
        ]
        comments = [
            c
            for c in session.scalars(
                select(Comment).where(
                    on_comments,
                    Comment.state != "spam",
                    Comment.is_author.is_(False),
                    Comment.created_at > since,
                )
            )
            if mine is None or mine(c.article_authors)
        ]
        author.digest_sent_at = now
        if not feedback and not comments:
            continue
        words = translations(author_language(author.lang))
        _, ngettext = words.gettext, words.ngettext
        states = {"approved": _("approved"), "pending": _("held")}
        lines = [_("Hello {name},").format(name=author.name), ""]
        lines += [_("Since your last digest:"), ""]
        for f in feedback:
            first = f.message.splitlines()[0][:100]
            line = _("Feedback #{id} on {title}: {start}")
            lines.append(
                "- "
                + line.format(
                    id=f.id, title=title_in_quotes(f.article_title), start=first
                )
            )
        for c in comments:
            known = site.articles.get(c.article_page_url)
            title = known.title if known else c.article_page_url
            first = c.body.splitlines()[0][:100] if c.body else ""
            line = _("Comment #{id} ({state}) by {name} on {title}: {start}")
            lines.append(
                "- "
                + line.format(
                    id=c.id,
                    state=states.get(c.state, c.state),
                    name=c.name,
                    title=title_in_quotes(title),
                    start=first,
                )
            )
        lines += [
            "",
            _("Feedback:") + f" {desk_url('desk.inbox')}",
            _("Comments:") + f" {desk_url('desk.comments')}",
        ]
        queue_mail(
            session,
            kind="digest",
            to=author.email,
            subject=_("Digest: {feedback} and {comments} on your articles").format(
                feedback=ngettext("{n} feedback", "{n} feedback", len(feedback)).format(
                    n=len(feedback)
                ),
                comments=ngettext("{n} comment", "{n} comments", len(comments)).format(
                    n=len(comments)
                ),
            ),
            body="\n".join(lines) + "\n",
            site_url=config["SITE_URL"],
        )
        queued += 1
    return queued
