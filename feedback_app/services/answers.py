"""Answering feedback, for every way in (the desk, ``flask feedback reply``):
privately (on the reader's reply page, and by mail when they left an
address), in a draft post, or both; and saving and publishing that post.

Each function changes the state, queues the mail it causes and builds what
must be built; the views and commands only turn the result into a page or a
line of output. A draft file is written inside the transaction that records
it and removed again if that transaction fails, so no orphan is published;
a post whose build fails is put back as it was.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import Session

from ..core.db import get_db
from ..core.models import Author, Feedback, FeedbackMessage, OutboxMessage
from ..core.translations import gettext as _
from ..mail.messages import answer_to_reader, post_answer_to_reader
from ..site import drafts, post_fields
from ..site.files import write_atomically
from ..site.index import site_index
from ..site.publishing import PublishCommandError, PublishError, build_site

logger = logging.getLogger(__name__)


class AnswerError(ValueError):
    """An answer that cannot be given as asked; ``field`` names the form
    field at fault, if any. Nothing was changed."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class NoSuchFeedback(LookupError):
    """The feedback does not exist, or this author may not see it."""


@dataclass(frozen=True)
class PostRequest:
    """The fields of a post asked for with an answer."""

    title: str
    summary: str = ""
    category: str = ""
    tags: str = ""


@dataclass(frozen=True)
class Answered:
    """What an answer did."""

    private: bool
    by_mail: bool
    post: post_fields.Post | None


Allowed = Callable[[Feedback], bool]


def _feedback(session: Session, feedback_id: int, allowed: Allowed | None) -> Feedback:
    feedback = session.get(Feedback, feedback_id)
    if feedback is None or (allowed is not None and not allowed(feedback)):
        raise NoSuchFeedback(f"No feedback #{feedback_id}.")
    return feedback


def answer(
    feedback_id: int,
    author: Author,
    text: str,
    *,
    private: bool = True,
    post: PostRequest | None = None,
    allowed: Allowed | None = None,
) -> Answered:
    """Answer feedback ``feedback_id`` as ``author``.

    ``private``: on the reader's reply page, and by mail if they left an
    address. ``post``: also write a draft post answering it in public.

    :raise NoSuchFeedback: if it does not exist or ``allowed`` refuses it.
    :raise AnswerError: if the post cannot be written (the reader did not
        agree to be quoted and there is no summary, the desk refuses the
        text, the feedback has a post already); nothing is changed then.
    """
    config = current_app.config
    site = site_index().current()
    written: post_fields.Post | None = None
    try:
        with get_db().write() as session:
            feedback = _feedback(session, feedback_id, allowed)
            if (
                feedback.post_source
                and not drafts.content_file(config, feedback.post_source).is_file()
            ):
                feedback.post_source = feedback.post_slug = None  # removed by hand
            if post is not None:
                if feedback.post_source:
                    raise AnswerError(
                        _("This feedback has a post already: edit that one."),
                        "public",
                    )
                try:
                    written = drafts.new_post(
                        config,
                        site,
                        feedback,
                        site.articles.get(feedback.article_page_url),
                        author=author.name,
                        title=post.title,
                        answer=text,
                        summary=post.summary,
                        category=post.category or "Reader mail",
                        tags=post.tags,
                    )
                except post_fields.DraftError as exc:
                    raise AnswerError(str(exc), exc.field) from None
                feedback.post_slug = written.slug
                feedback.post_source = written.source
                if feedback.state == "new":
                    feedback.state = "read"
            if private:
                feedback.messages.append(
                    FeedbackMessage(
                        sender="author",
                        body=text,
                        author_name=author.name,
                        via="page+email" if feedback.email else "page",
                    )
                )
                if feedback.state != "spam":
                    feedback.state = "answered"
                session.flush()
                answer_to_reader(session, feedback, author, text, config)
            by_mail = private and bool(feedback.email)
    except BaseException:
        if written is not None:
            drafts.content_file(config, written.source).unlink(missing_ok=True)
        raise
    return Answered(private=private, by_mail=by_mail, post=written)


def answered_source(feedback: Feedback) -> str | None:
    """The content file of the article ``feedback`` is about: the one
    intrasite link its post may carry."""
    site = site_index().current()
    return drafts.answered_source(site.articles.get(feedback.article_page_url))


def save_post(feedback: Feedback, fields: post_fields.PostFields) -> post_fields.Post:
    """Check ``fields`` and save them as ``feedback``'s post (still a draft
    or published, as it was); record where it is.

    :raise post_fields.DraftError: if the post is refused (nothing is written).
    """
    written = drafts.save_post(
        current_app.config,
        feedback.post_source or "",
        fields,
        answered=answered_source(feedback),
    )
    _record(feedback.id, written)
    return written


@dataclass(frozen=True)
class Published:
    """What publishing a post did: ``built`` False means the build failed and
    the post is a draft again as it was; ``copied`` False means the site was
    built here but the publish command that copies it elsewhere failed."""

    post: post_fields.Post
    built: bool
    copied: bool
    url: str | None


def publish_post(
    feedback: Feedback, fields: post_fields.PostFields, author: Author
) -> Published:
    """Save ``fields`` as ``feedback``'s post, published today, build the
    site, and record the post as the author's public answer. If the build
    fails, the file is put back as it was and nothing is recorded.

    Once the post is live where readers see it (built, and copied if a
    publish command copies it), the reader, if they left an address, is
    mailed its link and their reply page's, once.

    :raise post_fields.DraftError: if the post is refused (nothing is written).
    """
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    site = site_index(app).current()
    path = drafts.content_file(app.config, feedback.post_source or "")
    before = path.read_text(encoding="utf-8")
    published = drafts.mark_published(
        app.config,
        site,
        post_fields.Post(feedback.post_source or "", fields, ""),
        answered=answered_source(feedback),
    )
    copied = True
    try:
        build_site(app)
    except PublishCommandError as exc:
        # Built and live here; only the copy elsewhere failed.
        logger.error("publish command after %s: %s", published.source, exc)
        copied = False
    except PublishError as exc:
        # Back to the file as it was: nothing half-published stays behind.
        written = drafts.content_file(app.config, published.source)
        if written != path:
            written.unlink(missing_ok=True)
        write_atomically(path, before)
        logger.error("publishing %s failed: %s", published.source, exc)
        return Published(published, built=False, copied=False, url=None)
    live = site_index(app).current().article_with_slug(published.slug)
    with get_db().write() as session:
        row = _feedback(session, feedback.id, None)
        if live is not None and copied and not _reader_told_of_post(session, row):
            # Once it is public, the reader hears of it (once), with its link.
            post_answer_to_reader(session, row, author, live, app.config)
        row.post_slug = published.slug
        row.post_source = published.source
        if not any(m.via == "post" for m in row.messages):
            row.messages.append(
                FeedbackMessage(
                    sender="author",
                    author_name=author.name,
                    via="post",
                    body=published.title,
                )
            )
        if row.state != "spam":
            row.state = "answered"
    return Published(
        published, built=True, copied=copied, url=live.url if live else None
    )


def _reader_told_of_post(session: Session, feedback: Feedback) -> bool:
    """Tell whether the reader was mailed about ``feedback``'s public answer."""
    told = select(OutboxMessage.id).where(
        OutboxMessage.thread_key == f"feedback-{feedback.id}",
        OutboxMessage.kind == "post-answer-to-reader",
    )
    return session.scalar(told.limit(1)) is not None


def _record(feedback_id: int, written: post_fields.Post) -> None:
    with get_db().write() as session:
        feedback = _feedback(session, feedback_id, None)
        feedback.post_slug = written.slug
        feedback.post_source = written.source
