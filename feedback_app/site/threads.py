"""What an article's page shows of its thread: the published comments, in
order, with the replies whose parents are hidden moved up to the nearest
shown ancestor. Read by publishing when it writes an article's comment file,
and to link a comment where it is shown (``comment_link``).
"""

from __future__ import annotations

from collections.abc import Container
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..core.models import Comment

if TYPE_CHECKING:
    from flask import Flask
from .index import Article, site_index


def comment_link(
    session: Session,
    article: Article,
    comment_id: int,
    via: str | None = None,
    *,
    app: Flask | None = None,
) -> str:
    """Return the URL (as ``article.url``: with the site's address) of the
    page that shows the comment ``comment_id``, with its ``#comment-N``:
    the comment page of a long thread that holds it, on the article's own
    page or on the translation at the site-relative ``via``."""
    index = site_index(app)
    site, renderer = index.current(), index.renderer()
    view = site.view(article, via)
    if renderer is None or view is None:
        return f"{article.url}#comment-{comment_id}"
    rows = published_comments(session, article.page_url)
    return f"{site.url}/{renderer.location(view, rows, comment_id)}"


def published_comments(session: Session, page_url: str) -> list[dict[str, Any]]:
    """Return what the site publishes of the approved comments of the article
    at ``page_url``.

    Only public fields: never the address, the moderation reason or the
    Markdown source. A reply whose parent is not approved is shown at its
    parent's place in the thread, so nothing refers to a hidden comment.
    """
    rows = session.execute(
        select(
            Comment.id,
            Comment.parent_id,
            Comment.name,
            Comment.website,
            Comment.created_at,
            Comment.is_author,
            Comment.html,
            Comment.anchor,
        )
        .where(Comment.article_page_url == page_url, Comment.state == "approved")
        .order_by(Comment.created_at, Comment.id)
    ).all()
    approved = {row.id for row in rows}
    hidden_parents = _hidden_ancestors(
        session, {row.parent_id for row in rows} - approved - {None}, approved
    )
    published = []
    for c in rows:
        parent = c.parent_id
        while parent is not None and parent not in approved:
            parent = hidden_parents.get(parent)
        published.append(
            {
                "id": c.id,
                "parent": parent,
                "name": c.name,
                "website": c.website,
                "date": c.created_at.isoformat(timespec="seconds"),
                "author": c.is_author,
                "html": c.html,
            }
            # Only an imported comment has one: every other file stays as
            # it was.
            | ({"anchor": c.anchor} if c.anchor else {})
        )
    return published


def _hidden_ancestors(
    session: Session, todo: set[int], approved: Container[int]
) -> dict[int, int | None]:
    """Map each unapproved comment of ``todo`` and its unapproved ancestors
    to their own parents."""
    parents: dict[int, int | None] = {}
    while todo:
        found = session.execute(
            select(Comment.id, Comment.parent_id).where(Comment.id.in_(todo))
        ).all()
        todo = set()
        for cid, parent in found:
            parents[cid] = parent
            if parent and parent not in approved and parent not in parents:
                todo.add(parent)
    return parents
