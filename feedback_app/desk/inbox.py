"""The inbox: readers' feedback on the author's articles, one message at a
time, and the answer (given through ``services.answers``); its state
changes are ``triage``'s.

The list puts what a reader last wrote first: a follow-up (which makes the
feedback new again, ``store.feedback.add_follow_up``) brings it back to the
top."""

from __future__ import annotations

import math
from typing import Any

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
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from ..core.db import get_db
from ..core.models import Feedback
from ..core.translations import gettext, speaking
from ..mail.formats import answer_as_html, site_links
from ..services import answers
from ..site import drafts, post_fields
from ..site.index import site_index
from ..store import feedback as fb
from ..store.feedback import FEEDBACK_VIEWS, mask_email
from .access import (
    PER_PAGE,
    bp,
    feedback_or_404,
    in_scope,
    may_see,
    me,
    my_articles,
    page_number,
    shown_again,
    signed_in,
)
from .forms import (
    ActionForm,
    AnswerForm,
)
from .language import site_default_language


@bp.get("/")
@signed_in
def inbox() -> str:
    """The feedback inbox: what a reader last wrote first, by view, article
    and search; ``select=all`` ticks every item on the page (no script)."""
    view = request.args.get("view", "inbox")
    if view not in FEEDBACK_VIEWS:
        abort(404)
    article = request.args.get("article", "")
    q = request.args.get("q", "").strip()[:200]
    page = page_number()
    query = in_scope(
        fb.listing(FEEDBACK_VIEWS[view], article, q), Feedback.article_authors
    )
    with get_db().read() as session:
        total = session.scalar(select(func.count()).select_from(query.subquery()))
        rows = session.scalars(
            query.options(selectinload(Feedback.messages))
            .limit(PER_PAGE)
            .offset((page - 1) * PER_PAGE)
        ).all()
    return render_template(
        "desk/inbox.html",
        rows=rows,
        view=view,
        views=FEEDBACK_VIEWS,
        article=article,
        articles=my_articles(),
        q=q,
        page=page,
        page_count=max(1, math.ceil(total / PER_PAGE)),
        total=total,
        all_selected=request.args.get("select") == "all",
        form=ActionForm(formdata=None),
    )


@bp.get("/feedback/<int:feedback_id>")
@signed_in
def feedback_item(feedback_id: int, answer_form: AnswerForm | None = None) -> str:
    """One feedback as a conversation, with the answer form."""
    with get_db().read() as session:
        feedback = feedback_or_404(session, feedback_id)
    site = site_index().current()
    article = site.articles.get(feedback.article_page_url)
    if answer_form is None:
        answer_form = _answer_form(feedback, formdata=None)
        # What a post starts from is the site's, in the site's language.
        with speaking(site_default_language()):
            answer_form.title.data = gettext("Reader mail: on “{title}”").format(
                title=feedback.article_title
            )
            answer_form.category.data = gettext("Reader mail")
            answer_form.tags.data = ", ".join(
                [*(article.tags if article else ()), gettext("reader feedback")]
            )
    post = None
    if feedback.post_source:
        try:
            post = drafts.read_fields(current_app.config, feedback.post_source)
        except post_fields.DraftError:
            post = None
    links = site_links(current_app.config["SITE_URL"], site)
    return render_template(
        "desk/feedback.html",
        feedback=feedback,
        # Not ``article``: a page speaks its ``article``'s language.
        on_article=article,
        post=post,
        post_live=site.article_with_slug(feedback.post_slug or ""),
        # The answers as the reader sees them: Markdown, rendered, sanitised.
        answers={
            m.id: answer_as_html(m.body, links)
            for m in feedback.messages
            if m.sender == "author" and m.via != "post"
        },
        answer_form=answer_form,
        masked_email=mask_email(feedback.email) if feedback.email else None,
        form=ActionForm(formdata=None),
    )


def _answer_form(feedback: Feedback, **kwargs: Any) -> AnswerForm:
    """The answer form for ``feedback``: a post is offered until it has
    one, and needs a summary if the reader did not agree to be quoted."""
    form = AnswerForm(**kwargs)
    form.may_quote = feedback.may_quote
    form.post_offered = not feedback.post_source
    return form


@bp.post("/feedback/<int:feedback_id>/answer")
@signed_in
def answer(feedback_id: int) -> Response | tuple[str, int]:
    """Answer privately (reply page, and mail if possible), in a post, or both."""
    with get_db().read() as session:
        feedback = feedback_or_404(session, feedback_id)
    form = _answer_form(feedback)
    if not form.validate():
        # The choice's and the post's errors, named in the banner as well
        # as by their fields.
        errors = [str(e) for e in form.send_to.errors]
        if form.public and form.post_errors():
            errors.append(
                gettext("The post: {errors}").format(
                    errors=" ".join(form.post_errors())
                )
            )
        if errors:
            g.desk_form_error = " ".join(errors)
        return shown_again(feedback_item, feedback_id, answer_form=form)
    post = (
        answers.PostRequest(
            title=form.title.data,
            summary=form.summary.data or "",
            category=form.category.data or "",
            tags=form.tags.data or "",
        )
        if form.public
        else None
    )
    try:
        done = answers.answer(
            feedback_id,
            me(),
            form.answer.data,
            private=form.private,
            post=post,
            allowed=may_see,
        )
    except answers.NoSuchFeedback:
        abort(
            404, gettext("There is no such feedback, or it is not about your articles.")
        )
    except answers.AnswerError as exc:
        fields = {"body": "answer", "public": "send_to"}
        target = getattr(form, fields.get(exc.field or "", exc.field or ""), None)
        (target or form.answer).errors.append(str(exc))
        g.desk_form_error = str(exc)
        return shown_again(feedback_item, feedback_id, answer_form=form)
    flash(_answered(done))
    if done.post is not None:
        return redirect(url_for(".post", feedback_id=feedback_id), 303)
    return redirect(url_for(".feedback_item", feedback_id=feedback_id), 303)


def _answered(done: answers.Answered) -> str:
    """Say where the answer went: the reply page (and mail), a draft, or both."""
    page = (
        gettext("your answer on the reader's reply page and by e-mail")
        if done.by_mail
        else gettext("your answer on the reader's reply page")
    )
    if done.post is None:
        return gettext("Done: {what}.").format(what=page)
    draft = gettext("a draft post, content/{source}").format(source=done.post.source)
    if not done.private:
        return gettext("Done: {what}.").format(what=draft)
    return gettext("Done: {first} and {second}.").format(first=page, second=draft)
