"""The readers' side of public comments.

``POST /comments`` takes the "Leave a reply" form of the static article
pages, guarded like the feedback form (same origin, honeypot, size limits)
plus an idempotency key. ``/comments/reply/<id>`` is the same form for
answering one comment, for readers without JavaScript. After posting, the
reader sees their comment as it will look on ``/comments/posted/<ticket>``,
a signed link only they were given.
"""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import quote, unquote

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    redirect,
    render_template,
    request,
    url_for,
)
from itsdangerous import BadSignature, TimestampSigner
from sqlalchemy.exc import IntegrityError

from ..core import reasons
from ..core.db import get_db
from ..core.extensions import csrf
from ..core.fields import invalid_status
from ..core.http import keep_private, require_site_origin
from ..core.ids import form_id
from ..core.models import Comment
from ..core.signing import timestamp_signer
from ..core.translations import gettext as _
from ..mail import messages as notify
from ..mail import subscriptions
from ..site.index import site_index
from ..site.publishing import publisher
from ..site.threads import comment_link
from ..store import comments as cm
from . import comment_rules, limits, tickets
from .forms import CommentForm
from .page_language import use_page_language

bp = Blueprint("comments", __name__, url_prefix="/comments")

REMEMBER_COOKIE = "comment_author"
REMEMBER_DAYS = 365
TICKET_DAYS = 7
SUBMISSION_KEY = re.compile(r"[A-Za-z0-9-]{16,64}")


bp.after_request(keep_private)


@bp.post("")
@csrf.exempt
def post_comment() -> Response | tuple[str, int]:
    """Store a comment posted from an article page, then show how it looks.

    :raise 403: if the post did not come from a page of this site.
    :raise 400: if it names no published article, or answers no published
        comment of it.
    """
    require_site_origin()
    site = site_index().current()
    article = site.articles.get(request.form.get("article", ""))
    if article is None:
        abort(400, _("This comment is not about an article of this site."))
    parent_id = _parent_id(request.form.get("parent", ""))
    lang = use_page_language(site, article, request.form.get("page"))
    view = site.view(article, request.form.get("page"))

    form = CommentForm()
    valid = form.validate()
    if site.comments.require_email and not form.email.data and not form.email.errors:
        form.email.errors.append(_("Please give your e-mail address."))
        valid = False
    if not valid:
        reply_to = _approved(parent_id) if parent_id else None
        page = render_template(
            "comment_page.html",
            article=article,
            cform=form,
            reply_to=reply_to,
            ticket=tickets.carried(article.page_url),
            page_url_sent=view.url if view is not None else None,
        )
        return page, invalid_status()

    key = form.submission_key.data
    key = key if key and SUBMISSION_KEY.fullmatch(key) else None
    buckets = limits.buckets_for(request, article.page_url)
    # Rendered and judged before the write transaction: on SQLite every
    # writer waits for the one holding the write lock.
    new = comment_rules.prepare_comment(
        article,
        name=form.name.data,
        body=form.body.data,
        email=form.email.data,
        website=form.website.data,
        parent_id=parent_id,
        rules=current_app.config,
        screen=_screen(form, article.page_url),
        lang=lang,
    )
    config = current_app.config
    notify_replies = bool(form.notify_replies.data and new.email)
    try:
        with get_db().write() as session:
            comment, created = cm.store_comment(
                session,
                new,
                max_depth=site.comments.max_depth,
                submission_key=key,
                notify_replies=notify_replies,
                admit=lambda: limits.admit(session, buckets, config),
                then=lambda c: notify.comment_received_mail(c, article, config),
            )
            if created:
                if comment.notify_replies and comment.state != "spam":
                    subscriptions.request_notifications(
                        session,
                        comment.email,
                        config,
                        site_name=site.name,
                        article_title=article.title,
                        lang=comment.lang,
                    )
                if comment.state == "approved":
                    subscriptions.reply_published(
                        session,
                        comment,
                        article.title,
                        comment_link(session, article, comment.id),
                        config,
                    )
    except cm.CommentError as exc:
        abort(400, str(exc))
    except IntegrityError:
        # The same key committed by a concurrent request (databases whose
        # transactions do not serialise writers): answer with that comment.
        with get_db().read() as session:
            comment = cm.by_submission_key(session, key) if key else None
        if comment is None:
            raise
        created = False
    if created and comment.state == "approved":
        publisher().publish({article.page_url})

    via = view.url if view is not None and view.url != article.page_url else None
    response = redirect(url_for(".posted", ticket=_ticket(comment.id), via=via), 303)
    _remember(response, form)
    return response


@bp.get("/posted/<ticket>")
def posted(ticket: str) -> str:
    """Show a reader the comment they just posted, as it will look."""
    try:
        signed = _signer().unsign(ticket, max_age=TICKET_DAYS * 86400)
    except BadSignature:
        abort(404)
    comment_id = int(signed)  # signed by us: the id we gave
    with get_db().read() as session:
        comment = session.get(Comment, comment_id)
        # Did they ask for replies by mail, and is their address confirmed?
        confirmed = bool(
            comment is not None
            and comment.notify_replies
            and comment.email
            and subscriptions.is_confirmed(session, comment.email)
        )
    if comment is None:
        abort(404, _("This comment is no longer here."))
    site = site_index().current()
    article = site.articles.get(comment.article_page_url)
    view = site.view(article, request.args.get("via")) if article else None
    use_page_language(site, article, request.args.get("via"))
    link = None
    if article is not None and comment.state == "approved":
        with get_db().read() as session:
            link = comment_link(session, article, comment.id, request.args.get("via"))
    return render_template(
        "comment_posted.html",
        comment=comment,
        article=article,
        view_url=f"{site.url}/{view.url}" if view else article.url if article else None,
        view_title=view.title if view else article.title if article else None,
        comment_url=link,
        confirmed=confirmed,
    )


@bp.get("/<int:comment_id>")
def show(comment_id: int) -> Response:
    """Send the reader to the page that shows a published comment now: the
    comment page of a long thread that holds it (on the translation at the
    ``via`` query argument, if it is one of the thread's pages). A mail
    sent as the comment was stored cannot know that page.

    :raise 404: if that comment is not published, or its article is not on
        the site.
    """
    comment = _approved(comment_id)
    articles = site_index().current().articles
    article = articles.get(comment.article_page_url) if comment else None
    if comment is None or article is None:
        abort(404, _("This comment is not published."))
    with get_db().read() as session:
        link = comment_link(session, article, comment.id, request.args.get("via"))
    return redirect(link)


@bp.get("/reply/<int:comment_id>")
def reply(comment_id: int) -> str:
    """Show the comment form for answering one published comment.

    :raise 404: if that comment is not published.
    """
    parent = _approved(comment_id)
    if parent is None:
        abort(404, _("This comment is not published."))
    site = site_index().current()
    article = site.articles.get(parent.article_page_url)
    if article is None:
        abort(404, _("This article is not published."))
    use_page_language(site, article, request.args.get("via"))
    form = CommentForm(formdata=None, data=_remembered())
    return render_template(
        "comment_page.html",
        article=article,
        cform=form,
        reply_to=parent,
        ticket=tickets.issue(article.page_url),
    )


def _screen(form: CommentForm, page_url: str) -> cm.Verdict | None:
    """What the form itself says of its sender: the honeypot, then the ticket."""
    if form.homepage.data:  # a person never sees the honeypot
        return cm.Verdict("spam", reasons.HIDDEN_FIELD.say())
    finding = tickets.examine(request.form.get(tickets.FIELD), page_url)
    if finding.state == "spam" or (
        finding.state == "pending" and current_app.config["FORM_TICKETS"]
    ):
        return cm.Verdict(finding.state, finding.reason)
    return None


def _parent_id(value: str) -> int | None:
    """Read the form's ``parent`` field.

    :raise 400: if it is neither empty nor a comment id.
    """
    if not value:
        return None
    parent_id = form_id(value)
    if parent_id is None:
        abort(400, _("This reply names no comment."))
    return parent_id


def _approved(comment_id: int) -> Comment | None:
    with get_db().read() as session:
        comment = session.get(Comment, comment_id)
    return comment if comment is not None and comment.state == "approved" else None


def _signer() -> TimestampSigner:
    # Plain text signed, not a Serializer's JSON and zlib: one per post.
    return timestamp_signer("comment-posted")


def _ticket(comment_id: int) -> str:
    return _signer().sign(str(comment_id)).decode()


def _remember(response: Response, form: CommentForm) -> None:
    """Keep name, e-mail and website in a cookie only if the reader asked."""
    if not form.remember.data:
        if REMEMBER_COOKIE in request.cookies:
            response.delete_cookie(REMEMBER_COOKIE, path="/")
        return
    who = {
        "name": form.name.data,
        "email": form.email.data or "",
        "website": form.website.data or "",
    }
    response.set_cookie(
        REMEMBER_COOKIE,
        quote(json.dumps(who, separators=(",", ":"))),
        max_age=REMEMBER_DAYS * 86400,
        path="/",
        # The static pages' script fills the form from it, so not HttpOnly.
        httponly=False,
        secure=current_app.config["SESSION_COOKIE_SECURE"],
        samesite="Lax",
    )


def _remembered() -> dict[str, Any]:
    """Return the name, e-mail and website this browser asked us to keep."""
    raw = request.cookies.get(REMEMBER_COOKIE)
    if not raw:
        return {}
    try:
        who = json.loads(unquote(raw))
    except ValueError:
        return {}
    if not isinstance(who, dict):
        return {}
    data = {k: str(who[k]) for k in ("name", "email", "website") if who.get(k)}
    return {**data, "remember": bool(data)}
