"""The desk's password pages: changing one's own (``/desk/password``,
linked from the settings page), asking for a link by mail when it is
forgotten or was never set (``/desk/forgot-password``, linked from the
sign-in page), and the page that link opens (``/desk/reset-password/…``).

A new password, however chosen, ends every session of the account
(``auth.replace_password``), and the browser that chose it gets a new
session of its own: it stays, or is, signed in; every other device signs
in again. What happens behind the forgotten-password form, and why its
answer is the same for every name, is ``recovery.py``'s.
"""

from __future__ import annotations

from flask import (
    Response,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    url_for,
)

from ..core import counters
from ..core.db import get_db
from ..core.models import Author
from ..core.translations import gettext
from . import auth, recovery
from .access import bp, me, shown_again, signed_in
from .forms import ChangePasswordForm, ForgotPasswordForm, NewPasswordForm
from .language import desk_language
from .words import duration


def _too_many(
    message: str, retry_after: int, template: str, **context: object
) -> Response:
    """The page again with ``message``, as a 429 saying when to retry."""
    page = render_template(template, error=message, **context)
    response = current_app.make_response((page, 429))
    response.headers["Retry-After"] = str(retry_after)
    return response


@bp.route("/password", methods=["GET", "POST"])
@signed_in
def change_password() -> Response | str | tuple[str, int]:
    """Change one's own password: the current one first (counted as a
    sign-in, so a session left open cannot be used to guess it)."""
    form = ChangePasswordForm()
    template = "desk/password.html"
    if request.method == "GET":
        return render_template(template, form=form)
    if not form.validate():
        return shown_again(render_template, template, form=form)
    author = me()
    try:
        checked = auth.sign_in(
            author.name, form.current_password.data, auth.client_address()
        )
    except auth.SignInRefused as refused:
        if refused.retry_after:
            return _too_many(refused.message, refused.retry_after, template, form=form)
        checked = None
    if checked is None or checked.id != author.id:
        form.current_password.errors = [gettext("That is not your current password.")]
        return shown_again(render_template, template, form=form)
    hashed = auth.hash_password(
        form.new_password.data, current_app.config["MIN_PASSWORD_LENGTH"]
    )
    with get_db().write() as session:
        row = session.get(Author, author.id)
        if row is not None:
            auth.replace_password(session, row, hashed)
    auth.start_session(author)
    flash(
        gettext(
            "Your new password is set. Everywhere else you were signed in, "
            "you are signed out."
        )
    )
    return redirect(url_for(".settings"), 303)


@bp.route("/forgot-password", methods=["GET", "POST"])
def forgot_password() -> Response | str | tuple[str, int]:
    """Ask for a link to set a new password; the same answer for every name
    and address (``recovery.request_reset``)."""
    form = ForgotPasswordForm()
    template = "desk/forgot_password.html"
    minutes = recovery.lifetime_minutes()
    if request.method == "GET":
        form.name.data = request.args.get("name", "")[:254]
        return render_template(template, form=form, minutes=minutes)
    if not form.validate():
        return shown_again(render_template, template, form=form, minutes=minutes)
    try:
        wait = recovery.request_reset(form.name.data, auth.client_address())
    except counters.Unavailable:
        page = render_template(
            template,
            form=form,
            minutes=minutes,
            error=gettext(
                "Sending links is not available just now. Please try again in a minute."
            ),
        )
        response = current_app.make_response((page, 503))
        response.headers["Retry-After"] = "60"
        return response
    if wait:
        return _too_many(
            gettext(
                "Too many requests for a new password from your connection. "
                "Try again in {duration}."
            ).format(duration=duration(wait)),
            wait,
            template,
            form=form,
            minutes=minutes,
        )
    return render_template(template, form=form, minutes=minutes, sent=True)


@bp.route("/reset-password/<token>", methods=["GET", "POST"])
def reset_password(token: str) -> Response | str | tuple[str, int]:
    """The page a reset link opens: a new password, typed twice; then the
    author is signed in, and signed out everywhere else."""
    template = "desk/reset_password.html"
    with get_db().read() as session:
        author = recovery.account_for(session, token)
    if author is None:
        return _link_gone()
    g.page_lang = desk_language(author)  # the language of the mail it came in
    form = NewPasswordForm()
    if request.method == "GET":
        return render_template(template, form=form, account=author, token=token)
    if not form.validate():
        return shown_again(
            render_template, template, form=form, account=author, token=token
        )
    changed = recovery.reset_password(token, form.new_password.data)
    if changed is None:  # used meanwhile, in another tab
        return _link_gone()
    auth.start_session(changed)
    flash(
        gettext(
            "Your new password is set, and you are signed in. Everywhere else "
            "you were signed in, you are signed out."
        )
    )
    return redirect(url_for(".inbox"), 303)


def _link_gone() -> tuple[str, int]:
    return (
        render_template(
            "desk/reset_password.html",
            form=None,
            account=None,
            minutes=recovery.lifetime_minutes(),
        ),
        404,
    )
