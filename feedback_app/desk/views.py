"""The author's desk: sign in, read feedback, moderate comments, answer.

Served by the app on the site's origin under ``/desk``, in the site's look,
without JavaScript. Every page needs a signed-in author; every change is a
POST with a CSRF token (the app-wide ``CSRFProtect``), and no GET changes
anything. An author sees and acts on what readers sent about their own
articles: the feedback and comments whose recorded authors (the article's
``Author`` metadata when each arrived, ``ownership.py``) include them, not
whatever the site index says today; an editor on everything, and only an
editor changes what was recorded (``reassign_article``). Anything out of
reach answers 404, as if it did not exist.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import replace
from functools import wraps
from typing import Any
from urllib.parse import unquote, urlsplit

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    url_for,
)
from sqlalchemy import case, func, or_, select
from sqlalchemy.orm import Session, selectinload

from ..core.db import get_db
from ..core.fields import invalid_status
from ..core.http import keep_private
from ..core.models import COMMENT_STATES, Author, Comment, Feedback, FeedbackMessage
from ..services import answers, moderation, reader_data
from ..site import drafts, ownership
from ..site.index import site_index
from ..store import comments as cm
from . import auth
from .forms import (
    ActionForm,
    AnswerForm,
    CommentEditForm,
    EraseForm,
    PostForm,
    ReaderForm,
    ReassignForm,
    ReplyForm,
    SignInForm,
)

bp = Blueprint("desk", __name__, url_prefix="/desk")

PER_PAGE = 25
#: The inbox's views: which states each shows.
FEEDBACK_VIEWS = {
    "inbox": ("new", "read", "answered"),
    "new": ("new",),
    "read": ("read",),
    "answered": ("answered",),
    "archived": ("archived",),
    "spam": ("spam",),
}
#: What the buttons on feedback do: the state they move it to.
FEEDBACK_ACTIONS = {
    "read": "read",
    "unread": "new",
    "archive": "archived",
    "unarchive": "read",
    "spam": "spam",
    "not-spam": "read",
}
#: The moderation queue's views; "queue" is pending, then spam, then trash.
COMMENT_VIEWS = {
    "queue": ("pending", "spam", "trash"),
    **{state: (state,) for state in COMMENT_STATES},
}
COMMENT_ACTIONS = {
    "approve": "approved",
    "unapprove": "pending",
    "spam": "spam",
    "trash": "trash",
    "delete": None,  # for good
}


# --- access -----------------------------------------------------------------------


bp.after_request(keep_private)


def signed_in(view: Callable[..., Any]) -> Callable[..., Any]:
    """Let only a signed-in author through; send others to sign in."""

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if auth.current_author() is None:
            target = (
                request.script_root + request.full_path.rstrip("?")
                if request.method == "GET"
                else None
            )
            return redirect(url_for(".sign_in", next=target), 303)
        return view(*args, **kwargs)

    return wrapper


def editors_only(view: Callable[..., Any]) -> Callable[..., Any]:
    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if me().role != "editor":
            abort(404)
        return view(*args, **kwargs)

    return signed_in(wrapper)


def me() -> Author:
    """Return the signed-in author (views call it under @signed_in)."""
    author = auth.current_author()
    if author is None:
        abort(401)
    return author


def scope() -> str | None:
    """Return the author name whose recorded articles the signed-in author
    may see: their own (None: an editor, who sees all)."""
    author = me()
    return None if author.role == "editor" else author.name


def _in_scope(query: Any, authors_column: Any) -> Any:
    """Keep ``query`` to rows whose ``authors_column`` records the signed-in
    author (``ownership.written_by``), unless an editor is signed in."""
    name = scope()
    return (
        query
        if name is None
        else query.where(ownership.written_by(authors_column, name))
    )


def _may_see(row: Feedback | Comment) -> bool:
    name = scope()
    return name is None or ownership.is_author(row, name)


def _feedback_or_404(session: Session, feedback_id: int) -> Feedback:
    feedback = session.get(
        Feedback, feedback_id, options=[selectinload(Feedback.messages)]
    )
    if feedback is None or not _may_see(feedback):
        abort(404, "There is no such feedback, or it is not about your articles.")
    return feedback


def _comment_or_404(session: Session, comment_id: int) -> Comment:
    comment = session.get(Comment, comment_id)
    if comment is None or not _may_see(comment):
        abort(404, "There is no such comment, or it is not on your articles.")
    return comment


def _shown_again(view: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Show a page again after a form on it failed, with the banner at the
    top of the page (``desk/layout.html``) and the usual status."""
    g.desk_form_failed = True
    status = invalid_status()
    return view(*args, **kwargs), status


@bp.app_context_processor
def desk_context() -> dict[str, Any]:
    """Give desk pages the signed-in author and the unread counts."""
    if request.blueprint != "desk":
        return {}
    author = auth.current_author()
    if author is None:
        return {"desk_author": None}
    with get_db().read() as session:
        new_feedback = session.scalar(
            _in_scope(
                select(func.count(Feedback.id)).where(Feedback.state == "new"),
                Feedback.article_authors,
            )
        )
        pending = session.scalar(
            _in_scope(
                select(func.count(Comment.id)).where(Comment.state == "pending"),
                Comment.article_authors,
            )
        )
    return {
        "desk_author": author,
        "unread_feedback": new_feedback,
        "pending_comments": pending,
        "sign_out_form": ActionForm(formdata=None),
    }


# --- signing in and out -----------------------------------------------------------


@bp.route("/sign-in", methods=["GET", "POST"])
def sign_in() -> Response | tuple[str, int] | str:
    """Ask for a name and password; sign in, slowly after failures."""
    form = SignInForm()
    if request.method == "GET":
        form.next.data = request.args.get("next", "")
        if auth.current_author() is not None:
            return redirect(_safe_next(form.next.data), 303)
        return render_template("desk/sign_in.html", form=form)
    if not form.validate():
        return _shown_again(render_template, "desk/sign_in.html", form=form)
    try:
        author = auth.sign_in(form.name.data, form.password.data, auth.client_address())
    except auth.SignInRefused as refused:
        status = 429 if refused.retry_after else 401
        page = render_template("desk/sign_in.html", form=form, error=refused.message)
        response = current_app.make_response((page, status))
        if refused.retry_after:
            response.headers["Retry-After"] = str(refused.retry_after)
        return response
    auth.start_session(author)
    return redirect(_safe_next(form.next.data), 303)


def _safe_next(target: str | None) -> str:
    """Return ``target`` if it is a desk page of this app, else the inbox.

    Only a plain path under the desk: no scheme or host, no backslash, and
    no dot segment (browsers resolve "/desk/../x" and "/desk/%2e%2e/x").
    """
    default = url_for(".inbox")
    if not target:
        return default
    parts = urlsplit(target)
    path = unquote(parts.path)
    if (
        parts.scheme
        or parts.netloc
        or "\\" in target
        or not path.startswith(default)
        or any(segment in (".", "..") for segment in path.split("/"))
    ):
        return default
    return target


@bp.post("/sign-out")
def sign_out() -> Response:
    ActionForm().validate()  # the CSRF check (CSRFProtect) has passed already
    auth.end_session()
    flash("You are signed out.")
    return redirect(url_for(".sign_in"), 303)


# --- feedback ---------------------------------------------------------------------


@bp.get("/")
@signed_in
def inbox() -> str:
    """The feedback inbox: newest first, by view, article and search."""
    view = request.args.get("view", "inbox")
    if view not in FEEDBACK_VIEWS:
        abort(404)
    article = request.args.get("article", "")
    q = request.args.get("q", "").strip()[:200]
    page = _page()
    query = _in_scope(
        select(Feedback).where(Feedback.state.in_(FEEDBACK_VIEWS[view])),
        Feedback.article_authors,
    )
    if article:
        query = query.where(Feedback.article_page_url == article)
    if q:
        query = query.where(
            or_(
                Feedback.message.icontains(q, autoescape=True),
                Feedback.name.icontains(q, autoescape=True),
                Feedback.messages.any(
                    FeedbackMessage.body.icontains(q, autoescape=True)
                ),
            )
        )
    with get_db().read() as session:
        total = session.scalar(select(func.count()).select_from(query.subquery()))
        rows = session.scalars(
            query.options(selectinload(Feedback.messages))
            .order_by(Feedback.created_at.desc(), Feedback.id.desc())
            .limit(PER_PAGE)
            .offset((page - 1) * PER_PAGE)
        ).all()
    return render_template(
        "desk/inbox.html",
        rows=rows,
        view=view,
        views=FEEDBACK_VIEWS,
        article=article,
        articles=_my_articles(),
        q=q,
        page=page,
        page_count=max(1, math.ceil(total / PER_PAGE)),
        total=total,
        form=ActionForm(formdata=None),
    )


@bp.get("/feedback/<int:feedback_id>")
@signed_in
def feedback_item(feedback_id: int, answer_form: AnswerForm | None = None) -> str:
    """One feedback as a conversation, with the answer form."""
    with get_db().read() as session:
        feedback = _feedback_or_404(session, feedback_id)
    site = site_index().current()
    article = site.articles.get(feedback.article_page_url)
    if answer_form is None:
        answer_form = AnswerForm(formdata=None)
        answer_form.title.data = f"Reader mail: on “{feedback.article_title}”"
        answer_form.category.data = "Reader mail"
        answer_form.tags.data = ", ".join(
            [*(article.tags if article else ()), "reader feedback"]
        )
        answer_form.public.data = feedback.post_source is None and not feedback.email
    post = None
    if feedback.post_source:
        try:
            post = drafts.read_fields(current_app.config, feedback.post_source)
        except drafts.DraftError:
            post = None
    return render_template(
        "desk/feedback.html",
        feedback=feedback,
        article=article,
        post=post,
        post_live=site.article_with_slug(feedback.post_slug or ""),
        answer_form=answer_form,
        form=ActionForm(formdata=None),
    )


@bp.post("/feedback/<int:feedback_id>/state")
@signed_in
def feedback_state(feedback_id: int) -> Response:
    """Mark one feedback read, unread, archived, spam or not spam."""
    target = FEEDBACK_ACTIONS.get(request.form.get("action", ""))
    if target is None:
        abort(400, "Unknown action.")
    with get_db().write() as session:
        feedback = _feedback_or_404(session, feedback_id)
        feedback.state = _restored(feedback, target)
        target = feedback.state
    flash(f"Feedback #{feedback_id} is now {target}.")
    back = request.form.get("back") == "inbox"
    return redirect(
        url_for(".inbox")
        if back
        else url_for(".feedback_item", feedback_id=feedback_id),
        303,
    )


@bp.post("/feedback/bulk")
@signed_in
def feedback_bulk() -> Response:
    """Apply one action to the selected feedback."""
    target = FEEDBACK_ACTIONS.get(request.form.get("action", ""))
    ids = _ids()
    if target is None or not ids:
        flash("Select some feedback and an action.")
        return redirect(_back_to_list(".inbox"), 303)
    with get_db().write() as session:
        rows = session.scalars(select(Feedback).where(Feedback.id.in_(ids))).all()
        if len(rows) != len(ids) or not all(_may_see(f) for f in rows):
            abort(404, "Some of the selected feedback is not yours to change.")
        for feedback in rows:
            feedback.state = _restored(feedback, target)
    flash(f"{len(rows)} feedback marked {target}.")
    return redirect(_back_to_list(".inbox"), 303)


@bp.post("/feedback/<int:feedback_id>/answer")
@signed_in
def answer(feedback_id: int) -> Response | tuple[str, int]:
    """Answer privately (reply page, and mail if possible), in a post, or both."""
    form = AnswerForm()
    if not form.validate():
        return _shown_again(feedback_item, feedback_id, answer_form=form)
    post = (
        answers.PostRequest(
            title=form.title.data,
            summary=form.summary.data or "",
            category=form.category.data or "",
            tags=form.tags.data or "",
        )
        if form.public.data
        else None
    )
    try:
        done = answers.answer(
            feedback_id,
            me(),
            form.answer.data,
            private=form.private.data,
            post=post,
            allowed=_may_see,
        )
    except answers.NoSuchFeedback:
        abort(404, "There is no such feedback, or it is not about your articles.")
    except answers.AnswerError as exc:
        fields = {"body": "answer"}
        target = getattr(form, fields.get(exc.field or "", exc.field or ""), None)
        (target or form.answer).errors.append(str(exc))
        if exc.field != "public":
            g.desk_form_error = str(exc)
        return _shown_again(feedback_item, feedback_id, answer_form=form)
    said = []
    if done.private:
        said.append(
            "your answer on the reader's reply page"
            + (" and by e-mail" if done.by_mail else "")
        )
    if done.post is not None:
        said.append(f"a draft post, content/{done.post.source}")
    flash("Done: " + " and ".join(said) + ".")
    if done.post is not None:
        return redirect(url_for(".post", feedback_id=feedback_id), 303)
    return redirect(url_for(".feedback_item", feedback_id=feedback_id), 303)


# --- the post answering a feedback ------------------------------------------------


def _post_of(feedback_id: int) -> tuple[Feedback, drafts.PostFields]:
    with get_db().read() as session:
        feedback = _feedback_or_404(session, feedback_id)
    if not feedback.post_source:
        abort(404, "This feedback has no post.")
    try:
        return feedback, drafts.read_fields(current_app.config, feedback.post_source)
    except drafts.DraftError as exc:
        abort(404, str(exc))


def _may_edit(fields: drafts.PostFields) -> bool:
    """Authors change their own posts; editors anyone's."""
    return me().role == "editor" or fields.author == me().name


def _post_form(fields: drafts.PostFields | None = None) -> PostForm:
    """The editor's form: filled from ``fields``, or from the request."""
    form = PostForm(formdata=None) if fields is not None else PostForm()
    if me().role == "editor":
        with get_db().read() as session:
            names = session.scalars(select(Author.name).order_by(Author.name)).all()
        current = fields.author if fields is not None else None
        form.author.choices = [(n, n) for n in names] + (
            [(current, current)] if current and current not in names else []
        )
    else:
        del form.author
    if fields is not None:
        form.title.data = fields.title
        form.summary.data = fields.summary
        form.category.data = fields.category
        form.tags.data = ", ".join(fields.tags)
        form.body.data = fields.body
        if "author" in form:
            form.author.data = fields.author
    return form


@bp.get("/feedback/<int:feedback_id>/post")
@signed_in
def post(
    feedback_id: int,
    post_form: PostForm | None = None,
    preview: drafts.Post | None = None,
) -> str:
    """Preview the post answering a feedback, and edit or publish it."""
    feedback, fields = _post_of(feedback_id)
    site = site_index().current()
    checked, problem = preview, None
    if checked is None:
        try:
            checked = drafts.check(
                current_app.config, fields, answered=answers.answered_source(feedback)
            )
        except drafts.DraftError as exc:
            problem = str(exc)
    return render_template(
        "desk/post.html",
        feedback=feedback,
        post=fields,
        source=feedback.post_source,
        preview=(
            drafts.preview_html(
                checked, site, drafts.pelican_settings(current_app.config)
            )
            if checked is not None
            else None
        ),
        unsaved=preview is not None,
        problem=problem,
        may_edit=_may_edit(fields),
        live=site.article_with_slug(fields.slug),
        post_form=post_form or _post_form(fields),
        form=ActionForm(formdata=None),
    )


@bp.post("/feedback/<int:feedback_id>/post")
@signed_in
def save_post(feedback_id: int) -> Response | tuple[str, int]:
    """Preview, save, or save and publish the edited post.

    One form, three buttons: "Publish" saves what the author sees before it
    publishes, so no edit is lost. A refused edit is shown again with the
    reason at the top of the page; the file is left as it was.
    """
    feedback, saved = _post_of(feedback_id)
    if not _may_edit(saved):
        abort(404, "This post is not yours to change.")
    form = _post_form()
    action = request.form.get("action", "save")
    if action not in ("preview", "save", "publish"):
        abort(400, "Unknown action.")
    if not form.validate():
        return _shown_again(post, feedback_id, post_form=form)
    config = current_app.config
    answered = answers.answered_source(feedback)
    try:
        fields = replace(
            saved,
            title=drafts.one_line(form.title.data, "title"),
            summary=drafts.one_line(form.summary.data or "", "summary"),
            category=drafts.one_line(form.category.data or "", "category"),
            tags=drafts.split_tags(form.tags.data or ""),
            body=drafts.normal_body(form.body.data),
            author=(form.author.data if "author" in form else None) or saved.author,
        )
        if action == "preview":
            checked = drafts.check(config, fields, answered=answered)
            return post(feedback_id, post_form=form, preview=checked)
        if action == "publish":
            return _published(feedback, answers.publish_post(feedback, fields, me()))
        answers.save_post(feedback, fields)
    except drafts.DraftError as exc:
        target = getattr(form, exc.field or "body", None) or form.body
        target.errors = [*target.errors, str(exc)]
        g.desk_form_error = str(exc)
        return _shown_again(post, feedback_id, post_form=form)
    flash("The post is saved.")
    return redirect(url_for(".post", feedback_id=feedback_id), 303)


@bp.post("/feedback/<int:feedback_id>/post/publish")
@signed_in
def publish_post(feedback_id: int) -> Response | tuple[str, int]:
    """Publish the post as saved (the editor's own button saves first)."""
    feedback, saved = _post_of(feedback_id)
    if not _may_edit(saved):
        abort(404, "This post is not yours to change.")
    try:
        return _published(feedback, answers.publish_post(feedback, saved, me()))
    except drafts.DraftError as exc:
        g.desk_form_error = str(exc)
        return _shown_again(post, feedback_id)


def _published(feedback: Feedback, done: answers.Published) -> Response:
    """Say how publishing went, and go where the author goes next."""
    if not done.built:
        flash(
            "The site could not be built, so the post is still a draft; see the "
            "app's log for Pelican's message, fix the post and publish again."
        )
        return redirect(url_for(".post", feedback_id=feedback.id), 303)
    if not done.copied:
        flash(
            "The post is published, but the publish command that copies the "
            "site failed; see the app's log. The next publish copies it again."
        )
    flash(
        f"Published: “{done.post.title}” is on the site"
        + (f" at {done.url}" if done.url else "")
        + ". The reader's reply page links to it."
    )
    return redirect(url_for(".feedback_item", feedback_id=feedback.id), 303)


# --- comments ---------------------------------------------------------------------


@bp.get("/comments")
@signed_in
def comments() -> str:
    """The moderation queue: pending first, then spam, then trash."""
    view = request.args.get("view", "queue")
    if view not in COMMENT_VIEWS:
        abort(404)
    article = request.args.get("article", "")
    page = _page()
    states = COMMENT_VIEWS[view]
    order = case({s: i for i, s in enumerate(states)}, value=Comment.state)
    query = _in_scope(
        select(Comment).where(Comment.state.in_(states)), Comment.article_authors
    )
    if article:
        query = query.where(Comment.article_page_url == article)
    with get_db().read() as session:
        total = session.scalar(select(func.count()).select_from(query.subquery()))
        rows = session.scalars(
            query.order_by(order, Comment.created_at.desc(), Comment.id.desc())
            .limit(PER_PAGE)
            .offset((page - 1) * PER_PAGE)
        ).all()
        parent_ids = {c.parent_id for c in rows if c.parent_id}
        parents = {
            c.id: c
            for c in session.scalars(select(Comment).where(Comment.id.in_(parent_ids)))
        }
        counts = dict(
            session.execute(
                _in_scope(
                    select(Comment.state, func.count(Comment.id)).group_by(
                        Comment.state
                    ),
                    Comment.article_authors,
                )
            ).all()
        )
    return render_template(
        "desk/comments.html",
        rows=rows,
        parents=parents,
        counts=counts,
        view=view,
        views=COMMENT_VIEWS,
        article=article,
        articles=_my_articles(),
        site=site_index().current(),
        page=page,
        page_count=max(1, math.ceil(total / PER_PAGE)),
        total=total,
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
        the_comment = _comment_or_404(session, comment_id)
        parent = session.get(Comment, the_comment.parent_id or 0)
        replies = session.scalars(
            select(Comment)
            .where(Comment.parent_id == comment_id)
            .order_by(Comment.created_at)
        ).all()
    if edit_form is None:
        edit_form = CommentEditForm(formdata=None, obj=the_comment)
    return render_template(
        "desk/comment.html",
        comment=the_comment,
        parent=parent,
        replies=replies,
        article=site_index().article(the_comment.article_page_url),
        edit_form=edit_form,
        reply_form=reply_form or ReplyForm(formdata=None),
        form=ActionForm(formdata=None),
    )


@bp.post("/comments/<int:comment_id>/state")
@signed_in
def comment_state(comment_id: int) -> Response:
    """Approve, unapprove, spam, trash or delete one comment."""
    action = request.form.get("action", "")
    if action not in COMMENT_ACTIONS:
        abort(400, "Unknown action.")
    _change_comments([comment_id], action)
    if action == "delete" or request.form.get("back") == "queue":
        return redirect(_back_to_list(".comments"), 303)
    return redirect(url_for(".comment", comment_id=comment_id), 303)


@bp.post("/comments/bulk")
@signed_in
def comments_bulk() -> Response:
    """Apply one action to the selected comments."""
    action = request.form.get("action", "")
    ids = _ids()
    if action not in COMMENT_ACTIONS or not ids:
        flash("Select some comments and an action.")
    else:
        _change_comments(ids, action)
    return redirect(_back_to_list(".comments"), 303)


def _change_comments(ids: list[int], action: str) -> None:
    state = COMMENT_ACTIONS[action]
    try:
        changed = moderation.moderate(ids, state, allowed=_may_see)
    except cm.CommentError:
        abort(404, "There is no such comment, or it is not on your articles.")
    what = "deleted for good" if state is None else state
    live = (
        " The article's page is updated in a moment."
        if state == "approved" or any(c.state == "approved" for c in changed)
        else ""
    )
    flash(f"{len(changed)} comment{'s' if len(changed) != 1 else ''} {what}.{live}")


@bp.post("/comments/<int:comment_id>/edit")
@signed_in
def edit_comment(comment_id: int) -> Response | tuple[str, int]:
    """Correct a comment's name, website or text; republish it if public."""
    form = CommentEditForm()
    if not form.validate():
        return _shown_again(comment, comment_id, edit_form=form)
    try:
        edited = moderation.edit(
            comment_id,
            name=form.name.data,
            website=form.website.data,
            body=form.body.data,
            allowed=_may_see,
        )
    except cm.CommentError:
        abort(404, "There is no such comment, or it is not on your articles.")
    flash(
        "The comment is saved."
        + (" The page is updated in a moment." if edited.state == "approved" else "")
    )
    return redirect(url_for(".comment", comment_id=comment_id), 303)


@bp.post("/comments/<int:comment_id>/reply")
@signed_in
def reply_to_comment(comment_id: int) -> Response | tuple[str, int]:
    """Approve a comment (if it is not yet) and publish the author's reply."""
    form = ReplyForm()
    if not form.validate():
        return _shown_again(comment, comment_id, reply_form=form)
    try:
        moderation.reply_as_author(
            comment_id, me().name, form.body.data, allowed=_may_see
        )
    except (moderation.NotAnAuthor, moderation.ArticleNotPublished):
        form.body.errors.append(
            "Only an author of this article can reply with the Author badge."
        )
        return _shown_again(comment, comment_id, reply_form=form)
    except cm.CommentError:
        abort(404, "There is no such comment, or it is not on your articles.")
    flash("Approved, and your reply is published. The page is updated in a moment.")
    return redirect(url_for(".comment", comment_id=comment_id), 303)


# --- readers' data (editors) ------------------------------------------------------


@bp.route("/readers", methods=["GET", "POST"])
@editors_only
def readers() -> str | tuple[str, int]:
    """Look up what is stored about an address; offer export and erasure.

    A POST, so that the address never appears in a URL or an access log.
    """
    form = ReaderForm()
    found = None
    if request.method == "POST":
        if not form.validate():
            return _shown_again(
                render_template, "desk/readers.html", form=form, found=None
            )
        with get_db().read() as session:
            found = reader_data.export(session, form.email.data)
    return render_template(
        "desk/readers.html",
        form=form,
        found=found,
        erase_form=EraseForm(formdata=None, email=form.email.data),
    )


@bp.post("/readers/export")
@editors_only
def export_reader() -> Response | tuple[str, int]:
    """Download everything stored about an address, as JSON."""
    form = ReaderForm()
    if not form.validate():
        return _shown_again(render_template, "desk/readers.html", form=form, found=None)
    with get_db().read() as session:
        data = reader_data.export(session, form.email.data)
    response = current_app.response_class(
        json.dumps(data, indent=2, ensure_ascii=False) + "\n",
        mimetype="application/json",
    )
    response.headers["Content-Disposition"] = 'attachment; filename="reader-data.json"'
    return response


@bp.post("/readers/erase")
@editors_only
def erase_reader() -> str | tuple[str, int]:
    """Erase what is stored about an address (published text stays, anonymous)."""
    form = EraseForm()
    if not form.validate():
        with get_db().read() as session:
            found = (
                reader_data.export(session, form.email.data)
                if form.email.data
                else None
            )
        return _shown_again(
            render_template,
            "desk/readers.html",
            form=ReaderForm(formdata=None, email=form.email.data),
            found=found,
            erase_form=form,
        )
    erased = reader_data.erase_reader(form.email.data)
    return render_template(
        "desk/erased.html", erased=erased, form=ReaderForm(formdata=None)
    )


# --- articles' recorded authors (editors) ------------------------------------------


@bp.route("/articles/reassign", methods=["GET", "POST"])
@editors_only
def reassign_article() -> Response | str | tuple[str, int]:
    """Show whom an article's feedback and comments were recorded for; let
    an editor give them other authors (``ownership.reassign``).

    A new ``Author`` in an article's metadata moves nothing already
    received: only this does, and only for an editor.
    """
    form = ReassignForm()
    if request.method == "GET":
        form.page_url.data = request.args.get("page_url", "")[:1000]
    elif form.validate():
        names = form.names()
        with get_db().write() as session:
            known = set(
                session.scalars(select(Author.name).where(Author.name.in_(names)))
            )
            unknown = [n for n in names if n not in known]
            if unknown:
                session.rollback()
                form.authors.errors.append(
                    "No author account named " + ", ".join(unknown) + "."
                )
            else:
                changed = ownership.reassign(session, form.page_url.data, names)
        if not form.authors.errors:
            flash(
                f"{changed} feedback and comments on {form.page_url.data} now "
                f"belong to {', '.join(names) or 'no author (editors only)'}."
            )
            return redirect(
                url_for(".reassign_article", page_url=form.page_url.data), 303
            )
    recorded: list[tuple[tuple[str, ...], int]] = []
    if form.page_url.data:
        with get_db().read() as session:
            counts: dict[str, int] = {}
            for model in (Feedback, Comment):
                for stored, count in session.execute(
                    select(model.article_authors, func.count(model.id))
                    .where(model.article_page_url == form.page_url.data)
                    .group_by(model.article_authors)
                ):
                    counts[stored] = counts.get(stored, 0) + count
        recorded = [(ownership.decode_authors(k), n) for k, n in counts.items()]
    if form.errors:
        g.desk_form_failed = True  # the banner at the top (desk/layout.html)
    page = render_template(
        "desk/reassign.html",
        form=form,
        recorded=recorded,
        article=site_index().article(form.page_url.data or ""),
        articles=_my_articles(),
    )
    return (page, invalid_status()) if form.errors else page


# --- helpers ----------------------------------------------------------------------


def _restored(feedback: Feedback, target: str) -> str:
    """Return ``target``, or "answered" for answered feedback back from the
    archive, from spam or marked read again."""
    answered = any(m.sender == "author" for m in feedback.messages)
    return "answered" if target == "read" and answered else target


def _page() -> int:
    """Return the page asked for (1 to 100,000; anything else is 1)."""
    try:
        page = int(request.args.get("page", "1"))
    except ValueError:
        return 1
    return page if 1 <= page <= 100_000 else 1


def _ids() -> list[int]:
    from ..core.ids import form_id

    ids = []
    for value in request.form.getlist("ids"):
        id_ = form_id(value)
        if id_ is None:
            abort(400, "A selected item is not one of ours.")
        ids.append(id_)
    return sorted(set(ids))[: PER_PAGE * 4]


def _back_to_list(endpoint: str) -> str:
    """Return the list the form came from (its query), or the list itself."""
    back = request.form.get("back_to", "")
    base = url_for(endpoint)
    return back if back.startswith(base) and "//" not in back else base


def _my_articles() -> list[tuple[str, str]]:
    """Return (page URL, title) of the articles the signed-in author may
    filter by: for an editor every published one, for an author those that
    feedback or comments recorded as theirs."""
    site = site_index().current()
    if scope() is None:
        urls = set(site.articles)
    else:
        with get_db().read() as session:
            urls = {
                url
                for model in (Feedback, Comment)
                for url in session.scalars(
                    _in_scope(
                        select(model.article_page_url).distinct(),
                        model.article_authors,
                    )
                )
            }
    titles = {
        url: site.articles[url].title if url in site.articles else url for url in urls
    }
    return sorted(titles.items(), key=lambda pair: (pair[1].casefold(), pair[0]))
