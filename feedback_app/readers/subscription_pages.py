"""The pages behind the links in reply notifications: confirming an address's
wish for notifications (double opt-in) and unsubscribing, by the page's
button or by the one POST of RFC 8058's one-click unsubscribe, which mail
clients send without a page and which the signed token alone authorises.
"""

from __future__ import annotations

from flask import (
    Blueprint,
    abort,
    render_template,
    request,
)
from flask_wtf import FlaskForm
from itsdangerous import (
    BadSignature,
)

from ..core.db import get_db
from ..core.extensions import csrf
from ..core.http import keep_private
from ..core.translations import gettext as _
from ..core.translations import use_named_language
from ..mail import subscriptions
from ..mail.links import SALT_CONFIRM, load_token, unsubscribe_serializer

bp = Blueprint("subscription_pages", __name__)
bp.after_request(keep_private)


@bp.before_request
def _speak_the_mails_language() -> None:
    """Speak the language of the mail whose link was followed (``?lang=``,
    a language code or nothing; else the site's)."""
    use_named_language(request.args.get("lang"))


@bp.route("/subscriptions/confirm/<token>", methods=["GET", "POST"])
def confirm(token: str) -> str:
    """Confirm an address's wish for reply notifications (double opt-in)."""
    email = load_token(SALT_CONFIRM, token)
    form = FlaskForm()
    done = False
    if request.method == "POST" and form.validate():
        with get_db().write() as session:
            subscriptions.confirm(session, email)
        done = True
    return render_template(
        "subscription.html", email=email, form=form, done=done, purpose="confirm"
    )


@bp.route("/unsubscribe/<token>", methods=["GET", "POST"])
@csrf.exempt
def unsubscribe(token: str) -> str | tuple[str, int]:
    """Stop reply notifications: one POST (RFC 8058), or the page's button."""
    try:
        email = unsubscribe_serializer().loads(token)
    except BadSignature:
        abort(404, _("This link is not valid."))
    done = False
    if request.method == "POST":
        with get_db().write() as session:
            subscriptions.unsubscribe(session, email)
        done = True
    return render_template(
        "subscription.html", email=email, form=None, done=done, purpose="unsubscribe"
    )
