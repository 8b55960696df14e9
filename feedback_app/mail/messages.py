"""What the site tells people by mail, in its own voice.

Each function queues mail in the caller's transaction, so a notification
exists exactly when the event that caused it does. Bodies are plain text: a
reader's text is quoted as text, so no link or image in it can be dressed
up by the mail.

Mail about a reader's new post is queued inside the post's write
transaction, which on SQLite every writer waits for: one ``INSERT …
SELECT`` queues a message to each of the article's authors who wants one
(``mail.mail_each``), with nothing to read first.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache
from typing import Any
from urllib.parse import urljoin

from sqlalchemy import Select, bindparam, select
from sqlalchemy.orm import Session

from ..core.models import Author, Comment, Feedback, FeedbackMessage
from ..site.index import Article
from ..site.ownership import decode_authors
from ..store.rows import Statement
from .links import external_url, moderation_urls
from .outbox import mail_each, queue_mail


@lru_cache(maxsize=8)
def _told_at_once(n: int) -> Select[tuple[int, str]]:
    """Each of ``n`` authors (``name0`` …) who wants mail at once. Built once
    per number of authors, with plain parameters: an expanding ``IN``
    rewrites the statement's text on every post."""
    return select(Author.id, Author.email).where(
        Author.name.in_([bindparam(f"name{i}") for i in range(n)]),
        Author.notify == "immediate",
    )


def authors_told_at_once(
    names: Iterable[str],
) -> tuple[Select[tuple[int, str]], dict[str, str]]:
    """Who hears at once of a reader's message about an article by ``names``:
    the authors among them who chose mail at once (the others get the
    digest). A query of (id, address) and its parameters: the one way every
    message to authors chooses its recipients."""
    names = tuple(names)
    return _told_at_once(len(names)), {f"name{i}": n for i, n in enumerate(names)}


def absolute_url(url: str, config: Any) -> str:
    """Return a link usable in mail (the build's URLs may be root-relative)."""
    return urljoin(config["SITE_URL"] + "/", url)


def desk_url(endpoint: str, **values: Any) -> str:
    """Return the absolute address of a desk page, for mail to authors."""
    return external_url(endpoint, **values)


def quoted(text: str) -> str:
    """Quote a reader's text for a plain-text mail, line by line."""
    return "\n".join(f"> {line}" if line else ">" for line in text.splitlines())


def feedback_received(
    session: Session,
    feedback: Feedback,
    article: Article,
    config: Any,
) -> None:
    """Tell the article's authors about new private feedback."""
    who = feedback.name or "A reader"
    reach = (
        f"{feedback.email} (reply by e-mail and on their reply page)"
        if feedback.email
        else "no address: you can answer only on their private reply page"
    )
    quote = "yes, without name or address" if feedback.may_quote else "no"
    body = (
        f"{who} sent you private feedback on “{article.title}”\n"
        f"<{absolute_url(article.url, config)}>:\n\n"
        f"{quoted(feedback.message)}\n\n"
        f"Reader's address: {reach}\n"
        f"Quote publicly: {quote}\n\n"
        f"Read and answer it on your desk:\n"
        f"{desk_url('desk.feedback_item', feedback_id=feedback.id)}\n"
    )
    mail = mail_each(
        *authors_told_at_once(article.authors),
        kind="feedback-to-author",
        reply_to=feedback.email,
        subject=f"Feedback on “{article.title}”",
        body=body,
        site_url=config["SITE_URL"],
        thread_key=f"feedback-{feedback.id}",
    )
    session.connection().execute(*mail)


def follow_up_received(
    session: Session, feedback: Feedback, follow_up: FeedbackMessage, config: Any
) -> None:
    """Tell the authors recorded with the feedback that a reader added to it
    (``ownership.py``: never whoever the site index names today)."""
    query, params = authors_told_at_once(decode_authors(feedback.article_authors))
    for _, email in session.execute(query, params).all():
        queue_mail(
            session,
            kind="follow-up-to-author",
            to=email,
            reply_to=feedback.email,
            subject=f"Re: Feedback on “{feedback.article_title}”",
            body=(
                f"{feedback.name or 'The reader'} added to their feedback on "
                f"“{feedback.article_title}”:\n\n{quoted(follow_up.body)}\n\n"
                f"The whole conversation, on your desk:\n"
                f"{desk_url('desk.feedback_item', feedback_id=feedback.id)}\n"
            ),
            site_url=config["SITE_URL"],
            thread_key=f"feedback-{feedback.id}",
        )


def comment_received_mail(
    comment: Comment, article: Article, config: Any
) -> Statement | None:
    """Return the statement that tells the article's authors about a new
    comment, held or published, to be run with the comment's own ``INSERT``
    (``comments.store_comment``'s ``then``); None for spam, which nobody is
    told of."""
    if comment.state == "spam":
        return None
    if comment.state == "approved":
        status = "It is published."
    else:
        days = config["MAIL_LINK_DAYS"]
        links = moderation_urls(comment.id)
        status = (
            f"It is held for moderation ({comment.reason}). Each link below shows\n"
            f"the comment and asks you to confirm; they work for {days} days.\n\n"
            f"Approve: {links['approve']}\n"
            f"Spam:    {links['spam']}\n"
            f"Trash:   {links['trash']}"
        )
    address = comment.email or "no address"
    body = (
        f"{comment.name} ({address}) commented on “{article.title}”\n"
        f"<{absolute_url(article.url, config)}#comment-{comment.id}>:\n\n"
        f"{quoted(comment.body)}\n\n{status}\n\n"
        f"Edit it, reply or moderate on your desk:\n"
        f"{desk_url('desk.comment', comment_id=comment.id)}\n"
    )
    # Reply-To the commenter, as WordPress does: the author can answer by
    # mail, and the reader's data requests find the message by its headers.
    return mail_each(
        *authors_told_at_once(article.authors),
        kind="comment-to-author",
        reply_to=comment.email,
        subject=f"Comment on “{article.title}” from {comment.name}",
        body=body,
        site_url=config["SITE_URL"],
        # The conversation its Reply-To names (``conversations.py``).
        thread_key=f"comment-{comment.id}",
    )


def answer_to_reader(
    session: Session, feedback: Feedback, author: Author, body: str, config: Any
) -> None:
    """Queue the mail carrying an author's answer to the reader, if they left
    an address: from the site, with the author's address as Reply-To,
    threaded with the author's earlier answers on the same feedback."""
    if not feedback.email:
        return
    queue_mail(
        session,
        kind="reply-to-reader",
        to=feedback.email,
        reply_to=author.email,
        subject=f"{author.name} answered your feedback on “{feedback.article_title}”",
        body=(
            f"Hello{' ' + feedback.name if feedback.name else ''},\n\n"
            f"{author.name} answered the feedback you sent about "
            f"“{feedback.article_title}”:\n\n{body}\n\n"
            f"You wrote:\n{quoted(feedback.message)}\n\n"
            "Reply to this message to write back, or use your private reply "
            "page, whose link you were given when you sent the feedback.\n"
        ),
        site_url=config["SITE_URL"],
        thread_key=f"feedback-{feedback.id}",
    )


def sign_in_locked(
    session: Session, author: Author, failures: int, config: Any
) -> None:
    """Tell an author that sign-in to their account is locked for a while."""
    minutes = config["SIGNIN_WINDOW_MINUTES"]
    queue_mail(
        session,
        kind="sign-in-locked",
        to=author.email,
        subject="Sign-in to the desk is locked for a while",
        body=(
            f"Hello {author.name},\n\n"
            f"Someone failed to sign in to the desk of {config['SITE_URL']} as "
            f"you {failures} times\nin the last {minutes} minutes, so sign-in to "
            f"your account is locked for up to {minutes} minutes.\n\n"
            "If it was you, wait and try again. If it was not, your password "
            "held; to be\nsafe, choose a new one:\n\n"
            f"  flask --app feedback_app authors set-password {author.name!r}\n"
        ),
        site_url=config["SITE_URL"],
    )
