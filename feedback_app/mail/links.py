"""Pages reached from links in mail: moderate, confirm, unsubscribe.

Every link carries a token signed with the app's key and a salt of its own
purpose, so a token made for one thing never works for another. Opening a
link changes nothing: the page it shows asks for a POST (with a CSRF token,
except the RFC 8058 one-click unsubscribe, which mail clients POST without a
page and which the signed token alone authorises).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    has_request_context,
    render_template,
    request,
    url_for,
)
from flask_wtf import FlaskForm
from itsdangerous import (
    BadSignature,
    TimestampSigner,
    URLSafeSerializer,
    URLSafeTimedSerializer,
)

from ..core.db import get_db
from ..core.models import Comment
from ..core.signing import timestamp_signer
from ..readers.feedback import csrf
from ..services import moderation
from ..store import comments as cm
from . import subscriptions

bp = Blueprint("mail_links", __name__)

ACTIONS = {"approve": "approved", "spam": "spam", "trash": "trash"}
SALT_MODERATE = "moderate-comment"
SALT_CONFIRM = "confirm-subscription"
SALT_UNSUBSCRIBE = "unsubscribe"


@bp.after_request
def private(response: Response) -> Response:
    """Keep the tokens in these addresses out of caches and Referers."""
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "strict-origin"
    response.headers["X-Robots-Tag"] = "noindex, nofollow"
    return response


def _timed(salt: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.secret_key, salt=salt)


def _load(salt: str, token: str) -> Any:
    """Return a token's payload.

    :raise 404: if it is forged, made for another purpose or expired.
    """
    try:
        return _timed(salt).loads(
            token, max_age=current_app.config["MAIL_LINK_DAYS"] * 86400
        )
    except BadSignature:
        abort(404, "This link is not valid, or it has expired.")


def external_url(endpoint: str, **values: Any) -> str:
    """Return an absolute URL of the app, in a request or not (the CLI).

    Outside a request the app's public address is ``APP_URL``.
    """
    if has_request_context():
        return url_for(endpoint, _external=True, **values)
    base = urlsplit(current_app.config["APP_URL"])
    adapter = current_app.url_map.bind(
        base.netloc, script_name=base.path or "/", url_scheme=base.scheme
    )
    return adapter.build(endpoint, values, force_external=True)


def _moderation_signer() -> TimestampSigner:
    # Plain text signed, not a Serializer's JSON and zlib: three links go
    # out with every held comment.
    return timestamp_signer(SALT_MODERATE)


def moderation_urls(comment_id: int) -> dict[str, str]:
    """Return the one-action links of one held comment, by action: each
    token is ``<id>.<action>.<time>.<signature>``; the address is built once
    and each token put in it."""
    # A token is the id, the action and URL-safe base64 (letters, digits,
    # "-" and "_"), joined by ".": url_for would not quote it, so the
    # address ends with the token as given.
    placeholder = "-"  # a path segment
    prefix = external_url("mail_links.moderate", token=placeholder)[:-1]
    signer = _moderation_signer()
    return {
        action: prefix + signer.sign(f"{comment_id}.{action}").decode()
        for action in ACTIONS
    }


def confirm_url(email: str) -> str:
    """Return the link confirming ``email``'s wish for reply notifications."""
    token = _timed(SALT_CONFIRM).dumps(email)
    return external_url("mail_links.confirm", token=token)


def unsubscribe_url(email: str) -> str:
    """Return the (lasting) one-click unsubscribe link for ``email``."""
    token = URLSafeSerializer(current_app.secret_key, salt=SALT_UNSUBSCRIBE).dumps(
        email
    )
    return external_url("mail_links.unsubscribe", token=token)


@bp.route("/moderate/<token>", methods=["GET", "POST"])
def moderate(token: str) -> str:
    """Show a held comment and, on confirmation, approve, spam or trash it."""
    try:
        signed = _moderation_signer().unsign(
            token, max_age=current_app.config["MAIL_LINK_DAYS"] * 86400
        )
    except BadSignature:
        abort(404, "This link is not valid, or it has expired.")
    number, _, action = signed.decode().partition(".")
    if action not in ACTIONS:
        abort(404)
    comment_id = int(number)  # signed by us: the id we gave
    form = FlaskForm()
    done = False
    if request.method == "POST" and form.validate():
        try:
            moderation.moderate([comment_id], ACTIONS[action])
        except cm.CommentError:
            abort(404, "This comment is gone.")
        done = True
    with get_db().read() as session:
        comment = session.get(Comment, comment_id)
    if comment is None:
        abort(404, "This comment is gone.")
    article = current_app.extensions["site_index"].article(comment.article_page_url)
    return render_template(
        "moderate.html",
        comment=comment,
        article=article,
        action=action,
        form=form,
        done=done,
    )


@bp.route("/subscriptions/confirm/<token>", methods=["GET", "POST"])
def confirm(token: str) -> str:
    """Confirm an address's wish for reply notifications (double opt-in)."""
    email = _load(SALT_CONFIRM, token)
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
        email = URLSafeSerializer(current_app.secret_key, salt=SALT_UNSUBSCRIBE).loads(
            token
        )
    except BadSignature:
        abort(404, "This link is not valid.")
    done = False
    if request.method == "POST":
        with get_db().write() as session:
            subscriptions.unsubscribe(session, email)
        done = True
    return render_template(
        "subscription.html", email=email, form=None, done=done, purpose="unsubscribe"
    )
