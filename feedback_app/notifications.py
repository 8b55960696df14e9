"""What the site tells people by mail, in its own voice.

Each function queues mail in the caller's transaction (``mail.queue_mail``),
so a notification exists exactly when the event that caused it does. Bodies
are plain text: a reader's text is quoted as text, so no link or image in it
can be dressed up by the mail.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from .mail import queue_mail
from .models import Author, Comment, Feedback, FeedbackMessage
from .site_index import Article


def _authors_to_notify(session: Session, names: Iterable[str]) -> list[Author]:
    return list(
        session.scalars(
            select(Author).where(
                Author.name.in_(tuple(names)), Author.notify == "immediate"
            )
        )
    )


def _quoted(text: str) -> str:
    return "\n".join(f"> {line}" if line else ">" for line in text.splitlines())


def feedback_received(
    session: Session, feedback: Feedback, article: Article, config: Any
) -> None:
    """Tell the article's authors about new private feedback."""
    who = feedback.name or "A reader"
    reach = (
        f"{feedback.email} (reply by e-mail and on their reply page)"
        if feedback.email
        else "no address: you can answer only on their private reply page"
    )
    quote = "yes, without name or address" if feedback.may_quote else "no"
    for author in _authors_to_notify(session, article.authors):
        queue_mail(
            session,
            kind="feedback-to-author",
            to=author.email,
            reply_to=feedback.email,
            subject=f"Feedback on “{article.title}”",
            body=(
                f"{who} sent you private feedback on “{article.title}”\n"
                f"<{article.url}>:\n\n{_quoted(feedback.message)}\n\n"
                f"Reader's address: {reach}\n"
                f"Quote publicly: {quote}\n\n"
                f"Read and answer it:\n"
                f"  flask --app feedback_app feedback show {feedback.id}\n"
                f"  flask --app feedback_app feedback reply {feedback.id}\n"
            ),
            site_url=config["SITE_URL"],
            thread_key=f"feedback-{feedback.id}",
        )


def follow_up_received(
    session: Session, feedback: Feedback, follow_up: FeedbackMessage, config: Any
) -> None:
    """Tell the article's authors that a reader added to their feedback."""
    authors = _authors_for_slug(session, feedback.article_slug, config)
    for author in _authors_to_notify(session, authors):
        queue_mail(
            session,
            kind="follow-up-to-author",
            to=author.email,
            reply_to=feedback.email,
            subject=f"Re: Feedback on “{feedback.article_title}”",
            body=(
                f"{feedback.name or 'The reader'} added to their feedback on "
                f"“{feedback.article_title}”:\n\n{_quoted(follow_up.body)}\n\n"
                f"The whole conversation:\n"
                f"  flask --app feedback_app feedback show {feedback.id}\n"
            ),
            site_url=config["SITE_URL"],
            thread_key=f"feedback-{feedback.id}",
        )


def comment_received(
    session: Session, comment: Comment, article: Article, config: Any
) -> None:
    """Tell the article's authors about a new comment, held or published."""
    if comment.state == "spam":
        return
    status = (
        "It is published."
        if comment.state == "approved"
        else f"It is held for moderation ({comment.reason})."
    )
    address = comment.email or "no address"
    for author in _authors_to_notify(session, article.authors):
        queue_mail(
            session,
            kind="comment-to-author",
            to=author.email,
            subject=f"Comment on “{article.title}” from {comment.name}",
            body=(
                f"{comment.name} ({address}) commented on “{article.title}”\n"
                f"<{article.url}#comment-{comment.id}>:\n\n"
                f"{_quoted(comment.body)}\n\n{status}\n\n"
                f"Moderate it:\n"
                f"  flask --app feedback_app comments approve {comment.id}\n"
                f"  flask --app feedback_app comments spam {comment.id}\n"
                f"  flask --app feedback_app comments trash {comment.id}\n"
            ),
            site_url=config["SITE_URL"],
        )


def reply_to_feedback(
    session: Session, feedback: Feedback, author: Author, body: str, config: Any
) -> FeedbackMessage:
    """Store an author's reply; mail it to the reader if they left an address.

    The reply appears on the reader's private reply page either way. By mail,
    it comes from the site with the author's address as Reply-To, threaded
    with the author's earlier replies on the same feedback.
    """
    reply = FeedbackMessage(sender="author", body=body)
    feedback.messages.append(reply)
    session.flush()
    if feedback.email:
        queue_mail(
            session,
            kind="reply-to-reader",
            to=feedback.email,
            reply_to=author.email,
            subject=(
                f"{author.name} answered your feedback on “{feedback.article_title}”"
            ),
            body=(
                f"Hello{' ' + feedback.name if feedback.name else ''},\n\n"
                f"{author.name} answered the feedback you sent about "
                f"“{feedback.article_title}”:\n\n{body}\n\n"
                f"You wrote:\n{_quoted(feedback.message)}\n\n"
                "Reply to this message to write back, or use your private reply "
                "page, whose link you were given when you sent the feedback.\n"
            ),
            site_url=config["SITE_URL"],
            thread_key=f"feedback-{feedback.id}",
        )
    return reply


def _authors_for_slug(session: Session, slug: str, config: Any) -> list[str]:
    from flask import current_app

    article = current_app.extensions["site_index"].article(slug)
    return list(article.authors) if article else []
