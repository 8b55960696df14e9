"""Moderating comments and publishing the result, for every way in.

The desk, the one-action links in mail and the CLI all change comments
through ``moderate``: one write transaction for the change and the reply
notifications it causes, then a rebuild of the articles whose published
comments changed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from flask import current_app

from ..core.db import get_db
from ..core.models import Comment
from ..mail import subscriptions
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
    site = app.extensions["site_index"]
    changed: list[Comment] = []
    page_urls: set[str] = set()
    with get_db().write() as session:
        for comment_id in ids:
            comment = session.get(Comment, comment_id)
            if comment is None or (allowed is not None and not allowed(comment)):
                raise cm.CommentError(f"No comment #{comment_id}.")
            was_public = comment.state == "approved"
            if state is None:
                cm.delete_comment(session, comment_id)
            else:
                cm.set_state(session, comment_id, state)
                article = site.article(comment.article_page_url)
                if state == "approved" and not was_public and article is not None:
                    subscriptions.reply_published(
                        session, comment, article.title, article.url, app.config
                    )
            if was_public or state == "approved":
                page_urls.add(comment.article_page_url)
            changed.append(comment)
    app.extensions["publisher"].publish(page_urls, wait=wait)
    return changed
