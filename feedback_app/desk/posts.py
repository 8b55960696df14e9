"""The post answering a feedback in public: preview it, edit its fields, save
it and publish it (through ``services.answers``)."""

from __future__ import annotations

from dataclasses import replace

from flask import (
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
from sqlalchemy import select

from ..core.db import get_db
from ..core.models import Author, Feedback
from ..core.translations import gettext
from ..services import answers
from ..site import drafts, post_check, post_fields
from ..site.index import site_index
from .access import bp, feedback_or_404, me, shown_again, signed_in
from .forms import (
    ActionForm,
    PostForm,
)


def _post_of(feedback_id: int) -> tuple[Feedback, post_fields.PostFields]:
    with get_db().read() as session:
        feedback = feedback_or_404(session, feedback_id)
    if not feedback.post_source:
        abort(404, gettext("This feedback has no post."))
    try:
        return feedback, drafts.read_fields(current_app.config, feedback.post_source)
    except post_fields.DraftError as exc:
        abort(404, str(exc))


def _may_edit(fields: post_fields.PostFields) -> bool:
    """Authors change their own posts; editors anyone's."""
    return me().role == "editor" or fields.author == me().name


def _post_form(fields: post_fields.PostFields | None = None) -> PostForm:
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
    preview: post_fields.Post | None = None,
) -> str:
    """Preview the post answering a feedback, and edit or publish it."""
    feedback, fields = _post_of(feedback_id)
    site = site_index().current()
    checked, problem = preview, None
    if checked is None:
        try:
            checked = post_check.check(
                current_app.config, fields, answered=answers.answered_source(feedback)
            )
        except post_fields.DraftError as exc:
            problem = str(exc)
    return render_template(
        "desk/post.html",
        feedback=feedback,
        post=fields,
        source=feedback.post_source,
        preview=(
            post_check.preview_html(
                checked, site, post_check.pelican_settings(current_app.config)
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
        abort(404, gettext("This post is not yours to change."))
    form = _post_form()
    action = request.form.get("action", "save")
    if action not in ("preview", "save", "publish"):
        abort(400, gettext("Unknown action."))
    if not form.validate():
        return shown_again(post, feedback_id, post_form=form)
    config = current_app.config
    answered = answers.answered_source(feedback)
    try:
        fields = replace(
            saved,
            title=post_fields.one_line(form.title.data, "title"),
            summary=post_fields.one_line(form.summary.data or "", "summary"),
            category=post_fields.one_line(form.category.data or "", "category"),
            tags=post_fields.split_tags(form.tags.data or ""),
            body=post_fields.normal_body(form.body.data),
            author=(form.author.data if "author" in form else None) or saved.author,
        )
        if action == "preview":
            checked = post_check.check(config, fields, answered=answered)
            return post(feedback_id, post_form=form, preview=checked)
        if action == "publish":
            return _published(feedback, answers.publish_post(feedback, fields, me()))
        answers.save_post(feedback, fields)
    except post_fields.DraftError as exc:
        target = getattr(form, exc.field or "body", None) or form.body
        target.errors = [*target.errors, str(exc)]
        g.desk_form_error = str(exc)
        return shown_again(post, feedback_id, post_form=form)
    flash(gettext("The post is saved."))
    return redirect(url_for(".post", feedback_id=feedback_id), 303)


@bp.post("/feedback/<int:feedback_id>/post/publish")
@signed_in
def publish_post(feedback_id: int) -> Response | tuple[str, int]:
    """Publish the post as saved (the editor's own button saves first)."""
    feedback, saved = _post_of(feedback_id)
    if not _may_edit(saved):
        abort(404, gettext("This post is not yours to change."))
    try:
        return _published(feedback, answers.publish_post(feedback, saved, me()))
    except post_fields.DraftError as exc:
        g.desk_form_error = str(exc)
        return shown_again(post, feedback_id)


def _published(feedback: Feedback, done: answers.Published) -> Response:
    """Say how publishing went, and go where the author goes next."""
    if not done.built:
        flash(
            gettext(
                "The site could not be built, so the post is still a draft; see "
                "the app's log for Pelican's message, fix the post and publish "
                "again."
            )
        )
        return redirect(url_for(".post", feedback_id=feedback.id), 303)
    if not done.copied:
        flash(
            gettext(
                "The post is published, but the publish command that copies the "
                "site failed; see the app's log. The next publish copies it again."
            )
        )
    flash(
        (
            gettext(
                "Published: “{title}” is on the site at {url}. "
                "The reader's reply page links to it."
            )
            if done.url
            else gettext(
                "Published: “{title}” is on the site. "
                "The reader's reply page links to it."
            )
        ).format(title=done.post.title, url=done.url)
    )
    return redirect(url_for(".feedback_item", feedback_id=feedback.id), 303)
