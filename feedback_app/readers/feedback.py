"""The readers' side: private feedback and the private reply page.

``POST /feedback`` takes the form of the static article pages. Everything
under ``/r/<token>/`` is the reader's private reply page and its forms, which
the app renders itself and so protects with real CSRF tokens. Those pages
are never cached, indexed or named in a Referer, since their URL is the key.
"""

from __future__ import annotations

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

from ..core.db import get_db
from ..core.extensions import csrf
from ..core.fields import invalid_status
from ..core.http import keep_private, require_site_origin
from ..core.models import Feedback
from ..core.translations import gettext as _
from ..core.translations import use_named_language
from ..mail import messages as notify
from ..mail.formats import answer_as_html, site_links
from ..site.index import site_index
from ..site.languages import site_language
from ..store import feedback as fb
from . import limits, tickets
from .forms import ContactForm, DeleteForm, FeedbackForm, FollowUpForm
from .page_language import use_page_language

bp = Blueprint("readers", __name__)


bp.after_request(keep_private)


@bp.post("/feedback")
@csrf.exempt
def send_feedback() -> Response | tuple[str, int]:
    """Store feedback posted from an article page, then show the thanks page.

    :raise 403: if the post did not come from a page of this site.
    :raise 400: if it names no published article.
    """
    require_site_origin()
    site = site_index().current()
    article = site.articles.get(request.form.get("article", ""))
    if article is None:
        abort(400, _("This feedback is not about an article of this site."))
    lang = use_page_language(site, article, request.form.get("page"))
    view = site.view(article, request.form.get("page"))
    via = view.url if view is not None and view.url != article.page_url else None

    form = FeedbackForm()
    if not form.validate():
        page = render_template(
            "feedback_page.html",
            form=form,
            article=article,
            ticket=tickets.carried(article.page_url),
            page_url_sent=view.url if view is not None else None,
        )
        return page, invalid_status()
    # A hidden field filled in, or a form sent faster than a person types:
    # stored as spam, and it looks accepted to the sender. Feedback is never
    # published, so a post without a ticket is stored as usual.
    finding = tickets.examine(request.form.get(tickets.FIELD), article.page_url)
    spam = bool(form.homepage.data) or finding.state == "spam"

    buckets = limits.buckets_for(request, article.page_url)
    with get_db().write() as session:
        limits.admit(session, buckets, current_app.config)
        feedback, token = fb.submit_feedback(
            session,
            article,
            message=form.message.data,
            name=form.name.data,
            email=form.email.data,
            may_quote=form.may_quote.data,
            spam=spam,
            lang=lang,
        )
        if feedback.state != "spam":
            notify.feedback_received(session, feedback, article, current_app.config)
            # The reader's way back, by mail: their reply page's link.
            notify.feedback_acknowledged(session, feedback, token, current_app.config)
    return redirect(url_for(".thanks", token=token, via=via), 303)


@bp.get("/r/<token>/thanks")
def thanks(token: str) -> str:
    """Say what happens next, and give the reader their reply page."""
    feedback = _load(token)
    site = site_index().current()
    article = site.articles.get(feedback.article_page_url)
    use_page_language(site, article, request.args.get("via"))
    return render_template(
        "thanks.html", feedback=feedback, reply_url=_reply_url(token)
    )


@bp.get("/r/<token>")
def reply_page(token: str) -> str:
    """Show the reader their feedback and everything that followed it."""
    return _render_reply_page(token, _load(token))


@bp.post("/r/<token>/contact")
def change_contact(token: str) -> Response | tuple[str, int]:
    """Add or change the reader's contact address. An empty field changes
    nothing: removing the address is its own action (``remove_contact``)."""
    feedback = _load(token)  # first: its language is the form's messages'
    form = ContactForm()
    if not form.validate():
        return _render_reply_page(token, feedback, contact_form=form), invalid_status()
    if not form.email.data:
        flash(
            _(
                "Nothing changed: your address is kept. To remove it, use "
                "“Remove my address…”."
            )
            if feedback.email
            else _("Nothing changed: you gave no address.")
        )
        return redirect(url_for(".reply_page", token=token, _anchor="contact"), 303)
    # Here, not at the top: what reads received mail loads only when used.
    from ..services import inbound

    with get_db().write() as session:
        feedback = _load(token, session)
        fb.set_contact(feedback, form.email.data)
        # Given again, same or new: mail goes there again.
        inbound.forget_bounce(session, form.email.data)
    flash(_("Your address is saved: the author's answer will also come by e-mail."))
    return redirect(url_for(".reply_page", token=token), 303)


@bp.route("/r/<token>/contact/remove", methods=["GET", "POST"])
def remove_contact(token: str) -> Response | str:
    """Ask for confirmation, then remove the reader's contact address."""
    feedback = _load(token)
    if not feedback.email:
        flash(_("Nothing changed: you gave no address."))
        return redirect(url_for(".reply_page", token=token, _anchor="contact"), 303)
    form = DeleteForm()
    if request.method == "POST" and form.validate():
        with get_db().write() as session:
            fb.set_contact(_load(token, session), None)
        flash(_("Your address is removed: answers will appear only on this page."))
        return redirect(url_for(".reply_page", token=token, _anchor="contact"), 303)
    return render_template(
        "confirm_remove_address.html",
        feedback=feedback,
        masked_email=fb.mask_email(feedback.email),
        form=form,
        token=token,
    )


@bp.post("/r/<token>/follow-up")
def follow_up(token: str) -> Response | tuple[str, int]:
    """Add a reader's follow-up to their feedback."""
    feedback = _load(token)  # first: its language is the form's messages'
    form = FollowUpForm()
    if not form.validate():
        return _render_reply_page(
            token, feedback, follow_up_form=form
        ), invalid_status()
    with get_db().write() as session:
        feedback = _load(token, session)
        follow_up_message = fb.add_follow_up(session, feedback, form.message.data)
        notify.follow_up_received(
            session, feedback, follow_up_message, current_app.config
        )
    flash(_("Your follow-up is sent to the author."))
    return redirect(url_for(".reply_page", token=token, _anchor="conversation"), 303)


@bp.route("/r/<token>/delete", methods=["GET", "POST"])
def delete(token: str) -> Response | str:
    """Ask for confirmation, then delete the feedback and all that followed."""
    form = DeleteForm()
    if request.method == "POST" and form.validate():
        with get_db().write() as session:
            feedback = _load(token, session)
            fb.delete_feedback(session, feedback)
        return redirect(url_for(".deleted", lang=feedback.lang), 303)
    return render_template(
        "confirm_delete.html", feedback=_load(token), form=form, token=token
    )


@bp.get("/deleted")
def deleted() -> str:
    """Confirm that a feedback is gone, in the language it was written in
    (``?lang=``, a language code; else the site's)."""
    use_named_language(request.args.get("lang"))
    return render_template("deleted.html")


def _load(token: str, session=None) -> Feedback:
    """Return the feedback of ``token``.

    :raise 404: if no feedback has that token.
    """
    if session is not None:
        feedback = fb.find_by_token(session, token)
    else:
        with get_db().read() as reading:
            feedback = fb.find_by_token(reading, token)
    if feedback is None:
        abort(404, _("There is no feedback at this address. It may have been deleted."))
    # Its pages speak the language of the page it was sent from.
    g.page_lang = feedback.lang or site_language(site_index().current())
    return feedback


def _reply_url(token: str) -> str:
    return url_for(".reply_page", token=token, _external=True)


def _render_reply_page(
    token: str,
    feedback: Feedback,
    contact_form: ContactForm | None = None,
    follow_up_form: FollowUpForm | None = None,
) -> str:
    if contact_form is None:
        contact_form = ContactForm(formdata=None)
    site = site_index().current()
    links = site_links(current_app.config["SITE_URL"], site)
    return render_template(
        "reply_page.html",
        feedback=feedback,
        token=token,
        reply_url=_reply_url(token),
        masked_email=fb.mask_email(feedback.email) if feedback.email else None,
        # The post answering it in public, once the site publishes it.
        post=site.article_with_slug(feedback.post_slug or ""),
        # The author's answers, written in Markdown: rendered and sanitised.
        answers={
            m.id: answer_as_html(m.body, links)
            for m in feedback.messages
            if m.sender == "author" and m.via != "post"
        },
        contact_form=contact_form,
        follow_up_form=follow_up_form or FollowUpForm(formdata=None),
    )
