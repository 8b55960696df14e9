"""Moderating comments on the desk: the queue, one comment, its state, an
edit, and the author's reply (all through ``services.moderation``).

Spam, trash and every change to a selection can be undone from the next
page; deleting for good asks first."""

from __future__ import annotations

import math

from flask import (
    Response,
    abort,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from sqlalchemy import func, select

from ..core.db import get_db
from ..core.models import COMMENT_STATES, Comment
from ..core.translations import gettext
from ..services import moderation
from ..site.index import site_index
from ..site.threads import comment_link
from ..store import comments as cm
from .access import (
    PER_PAGE,
    asked_first,
    back_to_desk,
    back_to_list,
    bp,
    comment_or_404,
    in_scope,
    may_see,
    me,
    my_articles,
    offer_undo,
    page_number,
    restore_list,
    selected_ids,
    shown_again,
    signed_in,
)
from .forms import (
    ActionForm,
    CommentEditForm,
    ReplyForm,
)
from .words import ngettext

#: The moderation queue's views: one a state, "pending" ("To moderate") first.
COMMENT_VIEWS = {state: (state,) for state in COMMENT_STATES}

#: Changes to one comment that can be undone (deleting for good asks first).
UNDOABLE = ("spam", "trash")


COMMENT_ACTIONS = {
    "approve": "approved",
    "unapprove": "pending",
    "spam": "spam",
    "trash": "trash",
    "delete": None,  # for good
}


@bp.get("/comments")
@signed_in
def comments() -> str:
    """The moderation queue, a state at a time (held comments first), with
    each state's count for the article chosen; ``select=all`` ticks every
    comment on the page (no script)."""
    # "queue" was the held comments, then spam and trash: old links still work.
    view = request.args.get("view", "pending").replace("queue", "pending")
    if view not in COMMENT_VIEWS:
        abort(404)
    article = request.args.get("article", "")
    page = page_number()
    query = in_scope(
        select(Comment).where(Comment.state.in_(COMMENT_VIEWS[view])),
        Comment.article_authors,
    )
    counted = in_scope(
        select(Comment.state, func.count(Comment.id)).group_by(Comment.state),
        Comment.article_authors,
    )
    if article:
        query = query.where(Comment.article_page_url == article)
        counted = counted.where(Comment.article_page_url == article)
    with get_db().read() as session:
        total = session.scalar(select(func.count()).select_from(query.subquery()))
        rows = session.scalars(
            query.order_by(Comment.created_at.desc(), Comment.id.desc())
            .limit(PER_PAGE)
            .offset((page - 1) * PER_PAGE)
        ).all()
        parent_ids = {c.parent_id for c in rows if c.parent_id}
        parents = {
            c.id: c
            for c in session.scalars(select(Comment).where(Comment.id.in_(parent_ids)))
        }
        counts = dict(session.execute(counted).all())
    return render_template(
        "desk/comments.html",
        rows=rows,
        parents=parents,
        counts=counts,
        view=view,
        views=COMMENT_VIEWS,
        article=article,
        articles=my_articles(),
        site=site_index().current(),
        page=page,
        page_count=max(1, math.ceil(total / PER_PAGE)),
        total=total,
        all_selected=request.args.get("select") == "all",
        form=ActionForm(formdata=None),
    )


@bp.get("/comments/<int:comment_id>")
@signed_in
def comment(
    comment_id: int,
    edit_form: CommentEditForm | None = None,
    reply_form: ReplyForm | None = None,
) -> str:
    """One comment in context: the article, the comment it answers."""
    with get_db().read() as session:
        the_comment = comment_or_404(session, comment_id)
        parent = session.get(Comment, the_comment.parent_id or 0)
        replies = session.scalars(
            select(Comment)
            .where(Comment.parent_id == comment_id)
            .order_by(Comment.created_at)
        ).all()
        article = site_index().article(the_comment.article_page_url)
        # Where it is shown: the comment page of a long thread that holds it.
        shown_at = (
            comment_link(session, article, comment_id)
            if article is not None and the_comment.state == "approved"
            else None
        )
    if edit_form is None:
        edit_form = CommentEditForm(formdata=None, obj=the_comment)
    return render_template(
        "desk/comment.html",
        comment=the_comment,
        parent=parent,
        replies=replies,
        # Not ``article``: a page speaks its ``article``'s language.
        on_article=article,
        shown_at=shown_at,
        edit_form=edit_form,
        reply_form=reply_form or ReplyForm(formdata=None),
        form=ActionForm(formdata=None),
    )


@bp.post("/comments/<int:comment_id>/state")
@signed_in
def comment_state(comment_id: int) -> Response | str:
    """Approve, unapprove, spam, trash or delete one comment (deleting asks
    first; spam and trash can be undone)."""
    action = request.form.get("action", "")
    if action not in COMMENT_ACTIONS:
        abort(400, gettext("Unknown action."))
    to_queue = request.form.get("back") == "queue"
    if action == "delete":
        return _delete_for_good(
            [comment_id],
            back_to_list(".comments")
            if to_queue
            else url_for(".comments", view="trash"),
        )
    _change_comments([comment_id], action)
    if to_queue or COMMENT_ACTIONS[action] in UNDOABLE:
        return redirect(back_to_list(".comments"), 303)
    return redirect(url_for(".comment", comment_id=comment_id), 303)


@bp.post("/comments/bulk")
@signed_in
def comments_bulk() -> Response | str:
    """Apply one action to the selected comments: it can be undone, and
    deleting for good asks first."""
    action = request.form.get("action", "")
    ids = selected_ids()
    if action not in COMMENT_ACTIONS or not ids:
        flash(gettext("Select some comments and an action."))
    elif action == "delete":
        return _delete_for_good(ids, back_to_list(".comments"))
    else:
        _change_comments(ids, action, always_undo=True)
    return redirect(back_to_list(".comments"), 303)


@bp.post("/comments/undo")
@signed_in
def comments_undo() -> Response:
    """Put comments back in the states they had before the last change
    (republishing the pages of those approved again)."""
    before = restore_list(COMMENT_STATES)
    by_state: dict[str, list[int]] = {}
    for comment_id, state in before.items():
        by_state.setdefault(state, []).append(comment_id)
    changed: list[Comment] = []
    for state, ids in sorted(by_state.items()):
        changed += _moderate(ids, state)
    said = ngettext(
        "Undone: {count} comment is back where it was.",
        "Undone: {count} comments are back where they were.",
        len(changed),
    ).format(count=len(changed))
    if "approved" in by_state:
        said += " " + gettext("The article's page is updated in a moment.")
    flash(said)
    return redirect(back_to_desk(), 303)


def _moderate(ids: list[int], state: str | None) -> list[Comment]:
    try:
        return moderation.moderate(ids, state, allowed=may_see)
    except cm.CommentError:
        abort(404, gettext("There is no such comment, or it is not on your articles."))


def _change_comments(ids: list[int], action: str, *, always_undo: bool = False) -> None:
    """Move comments ``ids`` as ``action`` says; say so, with an Undo button
    for spam and trash (or any change, if ``always_undo``)."""
    state = COMMENT_ACTIONS[action]
    with get_db().read() as session:
        before = dict(
            session.execute(
                select(Comment.id, Comment.state).where(Comment.id.in_(ids))
            ).all()
        )
    changed = _moderate(ids, state)
    said = _moved(state, len(changed))
    if state == "approved" or any(s == "approved" for s in before.values()):
        said += " " + gettext("The article's page is updated in a moment.")
    if always_undo or state in UNDOABLE:
        offer_undo(".comments_undo", said, before)
    else:
        flash(said)


def _delete_for_good(ids: list[int], back: str) -> Response | str:
    """Ask first; once confirmed, delete comments ``ids`` for good."""
    with get_db().read() as session:
        rows = session.scalars(
            select(Comment).where(Comment.id.in_(ids)).order_by(Comment.id)
        ).all()
    if len(rows) != len(ids) or not all(may_see(c) for c in rows):
        abort(404, gettext("There is no such comment, or it is not on your articles."))
    if (question := asked_first("comments", list(rows), back)) is not None:
        return question
    _change_comments(ids, "delete")
    return redirect(back, 303)


def _moved(state: str | None, n: int) -> str:
    """Say that ``n`` comments are now in ``state`` (None: deleted)."""
    if state == "approved":
        said = ngettext("{count} comment approved.", "{count} comments approved.", n)
    elif state == "pending":
        said = ngettext(
            "{count} comment back in moderation.",
            "{count} comments back in moderation.",
            n,
        )
    elif state == "spam":
        said = ngettext(
            "{count} comment marked as spam.", "{count} comments marked as spam.", n
        )
    elif state == "trash":
        said = ngettext(
            "{count} comment moved to the trash.",
            "{count} comments moved to the trash.",
            n,
        )
    else:
        said = ngettext(
            "{count} comment deleted for good.", "{count} comments deleted for good.", n
        )
    return said.format(count=n)


@bp.post("/comments/<int:comment_id>/edit")
@signed_in
def edit_comment(comment_id: int) -> Response | tuple[str, int]:
    """Correct a comment's name, website or text; republish it if public."""
    form = CommentEditForm()
    if not form.validate():
        return shown_again(comment, comment_id, edit_form=form)
    try:
        edited = moderation.edit(
            comment_id,
            name=form.name.data,
            website=form.website.data,
            body=form.body.data,
            allowed=may_see,
        )
    except cm.CommentError:
        abort(404, gettext("There is no such comment, or it is not on your articles."))
    flash(
        gettext("The comment is saved.")
        + (
            " " + gettext("The page is updated in a moment.")
            if edited.state == "approved"
            else ""
        )
    )
    return redirect(url_for(".comment", comment_id=comment_id), 303)


@bp.post("/comments/<int:comment_id>/reply")
@signed_in
def reply_to_comment(comment_id: int) -> Response | tuple[str, int]:
    """Approve a comment (if it is not yet) and publish the author's reply."""
    form = ReplyForm()
    if not form.validate():
        return shown_again(comment, comment_id, reply_form=form)
    try:
        moderation.reply_as_author(
            comment_id, me().name, form.body.data, allowed=may_see
        )
    except (moderation.NotAnAuthor, moderation.ArticleNotPublished):
        form.body.errors.append(
            gettext("Only an author of this article can reply with the Author badge.")
        )
        return shown_again(comment, comment_id, reply_form=form)
    except cm.CommentError:
        abort(404, gettext("There is no such comment, or it is not on your articles."))
    flash(
        gettext(
            "Approved, and your reply is published. The page is updated in a moment."
        )
    )
    return redirect(url_for(".comment", comment_id=comment_id), 303)
