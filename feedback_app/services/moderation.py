"""Moderating comments and publishing the result, for every way in.

The desk, the one-action links in mail and the CLI all change comments
through these functions: ``moderate`` (approve, unapprove, spam, trash,
delete), ``reply_as_author`` (approving the comment first if it is held) and
``edit``. Each is one write transaction for the change and the reply
notifications it causes, then a rebuild of the articles whose published
comments changed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from flask import current_app
from sqlalchemy.orm import Session

from ..core.db import get_db
from ..core.models import Comment
from ..core.rendering import render_comment
from ..mail import subscriptions
from ..site import ownership
from ..site.index import SiteIndex, site_index
from ..site.publishing import publisher
from ..site.threads import comment_link
from ..store import comments as cm


def moderate(
    ids: Iterable[int],
    state: str | None,
    *,
    allowed: Callable[[Comment], bool] | None = None,
    wait: bool = False,
) -> list[Comment]:
    """Move comments ``ids`` to ``state`` (None: delete them for good).

    Newly approved comments notify the commenters they answer. Every article
    whose published comments changed is republished: at once if ``wait``,
    else by the publisher's background thread. Returns the comments as they
    are now (deleted ones as they were).

    :raise CommentError: if a comment does not exist or ``allowed`` refuses
        it; nothing is changed then.
    """
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    site = site_index(app)
    changed: list[Comment] = []
    page_urls: set[str] = set()
    with get_db().write() as session:
        for comment_id in ids:
            comment = session.get(Comment, comment_id)
            if comment is None or (allowed is not None and not allowed(comment)):
                raise cm.CommentError(f"No comment #{comment_id}.")
            if _change(session, comment, state, site, app.config):
                page_urls.add(comment.article_page_url)
            changed.append(comment)
    publisher(app).publish(page_urls, wait=wait)
    return changed


def _change(
    session: Session,
    comment: Comment,
    state: str | None,
    site: SiteIndex,
    config: Any,
) -> bool:
    """Move one comment to ``state`` (None: delete it) and queue the reply
    notification a newly public comment causes; tell whether its article's
    published comments changed."""
    was_public = comment.state == "approved"
    if state is None:
        cm.delete_comment(session, comment.id)
    else:
        cm.set_state(session, comment.id, state)
        article = site.article(comment.article_page_url)
        if state == "approved" and not was_public and article is not None:
            subscriptions.reply_published(
                session,
                comment,
                article.title,
                # Only a reply tells anyone: only its page is looked for.
                comment_link(session, article, comment.id)
                if comment.parent_id is not None
                else article.url,
                config,
            )
    return was_public or state == "approved"


class NotAnAuthor(cm.CommentError):
    """Only an author recorded with the comment may reply with the badge."""


class ArticleNotPublished(cm.CommentError):
    """The comment's article is not on the site (any more)."""


def reply_as_author(
    comment_id: int,
    author: str,
    body: str,
    *,
    allowed: Callable[[Comment], bool] | None = None,
    wait: bool = False,
) -> Comment:
    """Publish ``author``'s reply to comment ``comment_id``, with the Author
    badge, approving the comment first if it is held (as the desk's "Approve
    and reply" does), in one transaction; notify whoever asked; republish.

    :raise CommentError: if the comment does not exist or ``allowed`` refuses
        it.
    :raise ArticleNotPublished: if its article is not on the site.
    :raise NotAnAuthor: if ``author`` is not recorded as an author of the
        article the comment is on (``ownership.py``).
    """
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    index = site_index(app)
    site = index.current()
    html = render_comment(body)  # before taking the write lock
    with get_db().write() as session:
        parent = session.get(Comment, comment_id)
        if parent is None or (allowed is not None and not allowed(parent)):
            raise cm.CommentError(f"No comment #{comment_id}.")
        article = site.articles.get(parent.article_page_url)
        if article is None:
            raise ArticleNotPublished(f"{parent.article_page_url} is not published.")
        if not ownership.is_author(parent, author):
            raise NotAnAuthor(f"{author} is not an author of “{article.title}”.")
        if parent.state != "approved":
            _change(session, parent, "approved", index, app.config)
        reply = cm.author_reply(
            session,
            article,
            author,
            body,
            comment_id,
            site.comments.max_depth,
            html=html,
        )
        subscriptions.reply_published(
            session,
            reply,
            article.title,
            comment_link(session, article, reply.id, app=app),
            app.config,
        )
    publisher(app).publish({article.page_url}, wait=wait)
    return reply


def edit(
    comment_id: int,
    *,
    name: str,
    website: str | None,
    body: str,
    allowed: Callable[[Comment], bool] | None = None,
) -> Comment:
    """Correct a comment's name, website or text; republish it if public.

    :raise CommentError: if it does not exist or ``allowed`` refuses it.
    """
    html = render_comment(body)
    with get_db().write() as session:
        comment = session.get(Comment, comment_id)
        if comment is None or (allowed is not None and not allowed(comment)):
            raise cm.CommentError(f"No comment #{comment_id}.")
        comment.name = name
        comment.website = website
        comment.body = body
        comment.html = html
        public, page_url = comment.state == "approved", comment.article_page_url
    if public:
        publisher().publish({page_url})
    return comment
