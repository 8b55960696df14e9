"""Signing in to the desk and out of it."""

from __future__ import annotations

from urllib.parse import unquote, urlsplit

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

from ..core.translations import gettext
from . import auth
from .access import bp, shown_again
from .forms import (
    ActionForm,
    SignInForm,
)
from .language import site_default_language


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
        return shown_again(render_template, "desk/sign_in.html", form=form)
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
    g.page_lang = site_default_language()  # said on the sign-in page, as it is
    flash(gettext("You are signed out."))
    return redirect(url_for(".sign_in"), 303)
