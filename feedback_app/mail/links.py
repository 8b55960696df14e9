"""The links put in mail, and the tokens they carry (no views: the pages
behind them are ``readers/subscription_pages.py`` and
``desk/link_moderation.py``).

Every link carries a token signed with the app's key and a salt of its own
purpose, so a token made for one thing never works for another. Outside a
request (the command line) links are built on ``APP_URL``.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from flask import (
    abort,
    current_app,
    has_request_context,
    url_for,
)
from itsdangerous import (
    BadSignature,
    TimestampSigner,
    URLSafeSerializer,
    URLSafeTimedSerializer,
)

from ..core.signing import timestamp_signer
from ..core.translations import gettext

ACTIONS = {"approve": "approved", "spam": "spam", "trash": "trash"}
SALT_MODERATE = "moderate-comment"
SALT_CONFIRM = "confirm-subscription"
SALT_UNSUBSCRIBE = "unsubscribe"


def timed_serializer(salt: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.secret_key, salt=salt)


def load_token(salt: str, token: str) -> Any:
    """Return a token's payload.

    :raise 404: if it is forged, made for another purpose or expired.
    """
    try:
        return timed_serializer(salt).loads(
            token, max_age=current_app.config["MAIL_LINK_DAYS"] * 86400
        )
    except BadSignature:
        abort(404, gettext("This link is not valid, or it has expired."))


def external_url(endpoint: str, **values: Any) -> str:
    """Return an absolute URL of the app, in a request or not (the CLI).

    Outside a request the app's public address is ``APP_URL``.
    """
    if has_request_context():
        return url_for(endpoint, _external=True, **values)
    return configured_url(endpoint, **values)


def configured_url(endpoint: str, **values: Any) -> str:
    """Return an absolute URL of the app on ``APP_URL``, never on the host a
    request named: for a link whose address must not be the asker's choice
    (a password reset link, which a forged Host header would otherwise send
    to another site)."""
    base = urlsplit(current_app.config["APP_URL"])
    adapter = current_app.url_map.bind(
        base.netloc, script_name=base.path or "/", url_scheme=base.scheme
    )
    return adapter.build(endpoint, values, force_external=True)


def moderation_signer() -> TimestampSigner:
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
    prefix = external_url("link_moderation.moderate", token=placeholder)[:-1]
    signer = moderation_signer()
    return {
        action: prefix + signer.sign(f"{comment_id}.{action}").decode()
        for action in ACTIONS
    }


def confirm_url(email: str, lang: str | None = None) -> str:
    """Return the link confirming ``email``'s wish for reply notifications
    (its page in ``lang``, the language of the mail that carries it)."""
    token = timed_serializer(SALT_CONFIRM).dumps(email)
    return external_url("subscription_pages.confirm", token=token, lang=lang)


def unsubscribe_serializer() -> URLSafeSerializer:
    """The serializer of the lasting one-click unsubscribe tokens."""
    return URLSafeSerializer(current_app.secret_key, salt=SALT_UNSUBSCRIBE)


def unsubscribe_url(email: str, lang: str | None = None) -> str:
    """Return the (lasting) one-click unsubscribe link for ``email`` (its
    page in ``lang``)."""
    token = unsubscribe_serializer().dumps(email)
    return external_url("subscription_pages.unsubscribe", token=token, lang=lang)
