"""Public comments as stored: a reader's judged comment, the author's reply,
a state change, a deletion, the desk's lists.

Each function takes the session of the transaction it runs in. Judging a
new comment is ``readers/comment_rules.py``; what an article's page shows is
``site/threads.py``; publishing what changed is the caller's next step
(``services.moderation``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import (
    Boolean,
    Integer,
    String,
    and_,
    bindparam,
    case,
    cast,
    null,
    or_,
    select,
    union_all,
    update,
)
from sqlalchemy.orm import Session

from ..core import reasons
from ..core.models import COMMENT_STATES, Comment, UTCDateTime, utcnow
from ..core.rendering import render_comment
from ..site.index import Article
from ..site.ownership import decode_authors, encode_authors
from .rows import Statement, insert_row

#: A second identical comment within this time is the same comment (a
#: double-click or a retry without JavaScript's idempotency key).
DUPLICATE_WINDOW = timedelta(minutes=10)


# What a new comment may repeat, and whose it is, in one query run in the
# post's write transaction (built once): the same comment again (the same
# fingerprint, under the same idempotency key, however late, or lately: a
# double click without JavaScript), or another comment under its key; then
# the names its address has had approved, for the rule that approves a known
# commenter. The address is compared as stored (normalised by
# email-validator) so the (email, state) index serves; names are compared
# casefolded in Python (SQL's lower() is ASCII-only). Almost every post
# finds nothing, and then this is three index lookups.
_EARLIER = select(
    Comment.id.label("id"),
    (Comment.fingerprint == bindparam("fingerprint")).label("same"),
    cast(null(), String).label("name"),
).where(
    or_(
        Comment.submission_key == bindparam("key"),
        and_(
            Comment.fingerprint == bindparam("fingerprint"),
            Comment.created_at >= bindparam("since", type_=UTCDateTime()),
        ),
    )
)
_KNOWN_NAMES = (
    # Typed NULLs: PostgreSQL resolves a DISTINCT's untyped NULL to text.
    # The state is tested in the columns, not the WHERE clause, so that the
    # address is the only thing looked up and the (email, state) index the
    # only one that serves: a plan PostgreSQL cached while the table was
    # empty once took the state's index, and then read every approved
    # comment on every post. A name only where approved.
    select(
        cast(null(), Integer),
        cast(null(), Boolean),
        case((Comment.state == "approved", Comment.name)),
    )
    .where(Comment.email == bindparam("email"))
    .distinct()
)
_QUERIES = {
    # if_known: the statement, built once.
    False: _EARLIER,
    True: union_all(_EARLIER, _KNOWN_NAMES),
}
_KEY_TAKEN = select(Comment.id).where(Comment.submission_key == bindparam("key"))


class CommentError(ValueError):
    """Raised for a comment that cannot be stored as asked; says why."""


@dataclass(frozen=True)
class Verdict:
    """What the moderation rules decided for a new comment, and why."""

    state: str
    reason: str | None = None


#: A comment with an address its sender never had approved under its name.
FIRST_FROM_ADDRESS = Verdict("pending", reasons.FIRST_FROM_ADDRESS.say())


def fingerprint(
    page_url: str, parent_id: int | None, name: str, email: str | None, body: str
) -> str:
    """Return what identifies the same comment sent twice (on the article
    at ``page_url``)."""
    text = "\0".join((page_url, str(parent_id or ""), name, email or "", body))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class NewComment:
    """A reader's comment as the rules judged it, ready to store.

    ``comment_rules.prepare_comment`` makes one without the database; ``store_comment``
    stores it in a write transaction. ``parent_id`` is the comment it
    answers, as the reader asked. ``if_known``: approved only if its address
    had a comment approved under its name (the one rule that needs the
    database), else held.
    """

    article_slug: str
    article_page_url: str
    article_authors: str  # ownership.encode_authors
    parent_id: int | None
    name: str
    email: str | None
    website: str | None
    body: str
    html: str
    state: str
    reason: str | None
    fingerprint: str
    if_known: bool = False
    lang: str | None = None  # of the page it was sent from


_STORED = (
    "article_slug",
    "article_page_url",
    "article_authors",
    "name",
    "email",
    "website",
    "body",
    "html",
    "fingerprint",
    "lang",
)


def store_comment(
    session: Session,
    new: NewComment,
    *,
    max_depth: int = 5,
    submission_key: str | None = None,
    notify_replies: bool = False,
    admit: Callable[[], None] | None = None,
    then: Callable[[Comment], Statement | None] | None = None,
) -> tuple[Comment, bool]:
    """Store a prepared comment in the caller's write transaction; return it
    and whether it is new.

    A comment already stored under the same ``submission_key``, or the same
    text from the same person on the same article moments ago, is returned
    instead of storing a second one. A reply is placed in its thread (see
    ``place_reply``). ``admit`` is called before a new comment is stored
    (not for a duplicate): the rate limit, which raises to refuse it. Every
    post runs this while holding the write lock, so it speaks SQL directly
    (one query, then ``db.insert_row``); the comment returned is a
    persistent ORM object all the same, for the caller's updates. ``then``
    makes the statement stored with a new comment (its authors' mail), run
    after it.

    :raise CommentError: if the comment answers no approved comment of the
        same article.
    """
    connection = session.connection()
    rows = connection.execute(
        _QUERIES[new.if_known],
        {
            "key": submission_key or "",
            "fingerprint": new.fingerprint,
            "since": utcnow() - DUPLICATE_WINDOW,
            "email": new.email,
        },
    ).all()
    # Rows: earlier comments (id, same), approved names (name).
    earlier = sorted((r for r in rows if r.same is not None), key=lambda r: not r.same)
    if earlier and earlier[0].same:
        return session.get_one(Comment, earlier[0].id), False
    if earlier:
        # A new comment under a key already used (the form came back from the
        # browser's history with it): a comment of its own, without the key.
        submission_key = None
    parent_id, depth = place_reply(
        session, new.article_page_url, new.parent_id, max_depth
    )
    state, reason = new.state, new.reason
    if new.if_known:
        names = {r.name.casefold() for r in rows if r.name is not None}
        if new.name.casefold() not in names:
            state, reason = FIRST_FROM_ADDRESS.state, FIRST_FROM_ADDRESS.reason
    if admit is not None:
        admit()
    now = utcnow()
    values = {field: getattr(new, field) for field in _STORED} | {
        "parent_id": parent_id,
        "depth": depth,
        "state": state,
        "reason": reason,
        "submission_key": submission_key,
        "notify_replies": notify_replies,
        "is_author": False,
        "reply_notified": False,
        "created_at": now,
        "updated_at": now,
    }
    return insert_row(session, Comment, values, then=then), True


def place_reply(
    session: Session, page_url: str, parent_id: int | None, max_depth: int
) -> tuple[int | None, int]:
    """Return where a reply to ``parent_id`` goes: its parent and its depth.

    Past the deepest level a reply joins its parent's level, as WordPress
    does, so threads never nest deeper than ``max_depth``.

    :raise CommentError: if ``parent_id`` names no approved comment of the
        article at ``page_url``.
    """
    if parent_id is None:
        return None, 1
    parent = session.get(Comment, parent_id)
    if (
        parent is None
        or parent.article_page_url != page_url
        or parent.state != "approved"
    ):
        raise CommentError("The comment you are replying to is not published.")
    while parent.depth >= max_depth and parent.parent_id is not None:
        parent = session.get(Comment, parent.parent_id)
    return parent.id, parent.depth + 1


def by_submission_key(session: Session, key: str) -> Comment | None:
    """Return the comment stored under an idempotency key, if any."""
    found = session.scalar(_KEY_TAKEN, {"key": key})
    return None if found is None else session.get(Comment, found)


def author_reply(
    session: Session,
    article: Article,
    author: str,
    body: str,
    parent_id: int | None,
    max_depth: int = 5,
    html: str | None = None,
) -> Comment:
    """Publish the article's author's own comment, with the Author badge.

    ``html`` is ``render_comment(body)``, if the caller rendered it before
    opening the transaction. A reply gets the badge only from an author
    recorded with the comment it answers (``ownership.py``), whoever the
    site index names today; a top-level comment, from an author the index
    names. The reply records the same authors.

    :raise CommentError: if ``author`` is not an author of the article, or
        ``parent_id`` names no approved comment of it.
    """
    if parent_id is None:
        owners = article.authors
    else:
        answered = session.get(Comment, parent_id)
        owners = (
            decode_authors(answered.article_authors)
            if answered is not None and answered.article_page_url == article.page_url
            else ()
        )
    if author not in owners:
        raise CommentError(f"{author} is not an author of “{article.title}”.")
    parent_id, depth = place_reply(session, article.page_url, parent_id, max_depth)
    comment = Comment(
        article_slug=article.slug,
        article_page_url=article.page_url,
        article_authors=encode_authors(owners),
        parent_id=parent_id,
        depth=depth,
        name=author,
        body=body,
        html=render_comment(body) if html is None else html,
        state="approved",
        is_author=True,
        fingerprint=fingerprint(article.page_url, parent_id, author, None, body),
    )
    session.add(comment)
    session.flush()
    return comment


def set_state(session: Session, comment_id: int, state: str) -> Comment:
    """Move a comment to ``state``; return it.

    :raise CommentError: if there is no such comment or state.
    """
    if state not in COMMENT_STATES:
        raise CommentError(f"No such state: {state}.")
    comment = session.get(Comment, comment_id)
    if comment is None:
        raise CommentError(f"No comment #{comment_id}.")
    comment.state = state
    comment.reason = None if state == "approved" else comment.reason
    session.flush()
    return comment


def delete_comment(session: Session, comment_id: int) -> str:
    """Delete a comment for good; return its article's ``page_url``.

    Its replies move up to its own parent, so a thread keeps its answers.

    :raise CommentError: if there is no such comment.
    """
    comment = session.get(Comment, comment_id)
    if comment is None:
        raise CommentError(f"No comment #{comment_id}.")
    # Everything below it moves up one level.
    below, level = [], [comment.id]
    while level:
        level = list(
            session.scalars(select(Comment.id).where(Comment.parent_id.in_(level)))
        )
        below += level
    session.execute(
        update(Comment)
        .where(Comment.parent_id == comment.id)
        .values(parent_id=comment.parent_id)
    )
    if below:
        session.execute(
            update(Comment).where(Comment.id.in_(below)).values(depth=Comment.depth - 1)
        )
    page_url = comment.article_page_url
    session.delete(comment)
    session.flush()
    return page_url


def list_comments(
    session: Session,
    states: Iterable[str] = ("pending",),
    article: str | None = None,
    limit: int = 50,
) -> list[Comment]:
    """Return comments in ``states``, newest first (on the article at
    ``article``, a ``page_url``, if given)."""
    query = select(Comment).where(Comment.state.in_(tuple(states)))
    if article:
        query = query.where(Comment.article_page_url == article)
    return list(session.scalars(query.order_by(Comment.id.desc()).limit(limit)))
