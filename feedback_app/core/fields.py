"""What every form of the app checks the same way: text cleaned of control
characters, lengths from the settings, contact and web addresses, and the
status of a form shown again with its errors, and ``Form``, the base of
every form, whose built-in validators speak the request's language. The
readers' forms and the desk's forms build on these.
"""

from __future__ import annotations

import re
from functools import cache
from typing import Any
from urllib.parse import urlsplit

from flask import current_app, request
from flask_wtf import FlaskForm
from wtforms.validators import ValidationError

from .addresses import ascii_address
from .text import REFUSED, clean_text
from .translations import candidates, number, request_language
from .translations import gettext as _


@cache
def _wtforms_words(lang: str) -> Any:
    from wtforms.i18n import get_translations

    return get_translations(candidates(lang) or ["en"])


class Form(FlaskForm):
    """A form of the app: WTForms' own messages (a field's ``Length``, a
    number's range) from WTForms' catalogues, in the request's language
    (``g.page_lang``), as the app's own messages are. Flask-WTF would take
    them from Flask-Babel, which the app does not use (``docs/developers.md``)."""

    class Meta:
        def get_translations(self, form: Any) -> Any:
            return _wtforms_words(request_language())


def multiline(value: Any) -> Any:
    """A filter: text cleaned of control characters (line breaks kept)."""
    return clean_text(value) if isinstance(value, str) else value


def single_line(value: Any) -> Any:
    """A filter: text cleaned of control characters, on one line."""
    return clean_text(value, single_line=True) if isinstance(value, str) else value


def invalid_status() -> int:
    """The status for a form shown again with its errors: 400 when the
    request holds control characters (no keyboard types them: a broken or
    hostile client), else 422. Either way the reader's text is kept."""
    values = (
        v.replace("\r\n", "\n").replace("\r", "\n")
        for _, v in request.form.items(multi=True)
    )
    return 400 if any(REFUSED.search(v) for v in values) else 422


class MaxLength:
    """Refuse text longer than the limit named by config key ``key``."""

    def __init__(self, key: str) -> None:
        self.key = key

    def __call__(self, form: FlaskForm, field: Any) -> None:
        limit = current_app.config[self.key]
        if field.data and len(field.data) > limit:
            raise ValidationError(
                _("Please keep this to {limit} characters; it has {count}.").format(
                    limit=number(limit), count=number(len(field.data))
                )
            )


def contact_address(form: FlaskForm, field: Any) -> None:
    """Check an optional e-mail address and store its normalised form."""
    from email_validator import EmailNotValidError

    if not field.data:
        field.data = None
        return
    # ASCII form only (an xn-- domain, no SMTPUTF8): every mail server takes it.
    try:
        field.data = ascii_address(
            field.data,
            check_deliverability=current_app.config["EMAIL_CHECK_DELIVERABILITY"],
        )
    except EmailNotValidError as exc:
        problem = address_problem(field.data, exc)
        raise ValidationError(
            _("This is not an e-mail address we can use: {problem}").format(
                problem=problem
            )
        ) from None


def address_problem(value: str, error: Exception) -> str:
    """Say what is wrong with the address ``value`` in a reader's words,
    from the address itself: the checker's own reasons ("The part after the
    @-sign contains invalid characters") are for programmers."""
    from email_validator import EmailUndeliverableError

    local, at, domain = value.strip().rpartition("@")
    if not at:
        return _("it has no @. An address looks like ana@example.org.")
    if not domain:
        return _("there is nothing after the @.")
    if not local:
        return _("there is nothing before the @.")
    if isinstance(error, EmailUndeliverableError):
        return _(
            "{domain} does not receive mail. Please check the part after the @."
        ).format(domain=domain)
    if not local.isascii():
        return _(
            "not every mail server delivers to letters such as é or ß before the @;"
            " please give one with only unaccented letters, digits and . _ - + there."
        )
    if "." not in domain:
        return _(
            "“{domain}” is not a whole domain: it needs a dot, as in example.org."
        ).format(domain=domain)
    return _(
        "please check it for a typing mistake: a space, two dots in a row, or a"
        " character that does not belong in an address."
    )


def web_address(form: FlaskForm, field: Any) -> None:
    """Check an optional website: http or https only; ``example.org`` gets https."""
    if not field.data:
        field.data = None
        return
    value = field.data if "://" in field.data else f"https://{field.data}"
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 (raises ValueError for a bad port)
    except ValueError:
        parts = None
    if (
        parts is None
        or parts.scheme.lower() not in ("http", "https")
        or not parts.hostname
        or re.search(r"\s", value)
    ):
        raise ValidationError(
            _("Please give a web address starting with http:// or https://.")
        )
    field.data = value
