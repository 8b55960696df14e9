"""Forms readers fill in. Limits come from the config at validation time."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

from email_validator import EmailNotValidError
from flask import current_app, request
from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, HiddenField, StringField, TextAreaField
from wtforms.validators import DataRequired, ValidationError

from ..core.text import REFUSED, clean_text
from ..mail.outbox import ascii_address


def _multiline(value: Any) -> Any:
    return clean_text(value) if isinstance(value, str) else value


def _single_line(value: Any) -> Any:
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
                f"Please keep this to {limit:,} characters; it has {len(field.data):,}."
            )


def contact_address(form: FlaskForm, field: Any) -> None:
    """Check an optional e-mail address and store its normalised form."""
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
        raise ValidationError(
            f"This is not an e-mail address we can use: {exc}"
        ) from None


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
            "Please give a web address starting with http:// or https://."
        )
    field.data = value


def _message_field(label: str, required: str = "Please write a message.") -> Any:
    return TextAreaField(
        label,
        filters=[_multiline],
        validators=[DataRequired(required), MaxLength("MAX_MESSAGE_LENGTH")],
    )


def _email_field() -> EmailField:
    return EmailField(
        "Your e-mail address",
        filters=[_single_line],
        validators=[MaxLength("MAX_EMAIL_LENGTH"), contact_address],
    )


class FeedbackForm(FlaskForm):
    """Private feedback, posted from a static article page.

    A static page cannot carry a CSRF token (it is tied to a session), so
    this form has none; the view checks Origin/Referer instead, and the
    ``homepage`` field is a honeypot that people never see.
    """

    class Meta:
        csrf = False

    article = HiddenField(validators=[DataRequired()])
    message = _message_field("Your message")
    name = StringField(
        "Your name", filters=[_single_line], validators=[MaxLength("MAX_NAME_LENGTH")]
    )
    email = _email_field()
    may_quote = BooleanField(
        "The author may quote this feedback publicly, without my name or address."
    )
    homepage = StringField("Leave this field empty")


class ContactForm(FlaskForm):
    """Add, change or remove the address on a private reply page."""

    email = _email_field()


class FollowUpForm(FlaskForm):
    """A reader's follow-up on their private reply page."""

    message = _message_field("Add to your feedback")


class DeleteForm(FlaskForm):
    """Confirm deleting a feedback and everything that followed it."""


class CommentForm(FlaskForm):
    """A public comment, posted from a static article page.

    Guarded like FeedbackForm (no CSRF token on a static page). ``parent`` is
    the comment answered, if any; ``submission_key`` is the idempotency key
    the page's script fills in.
    """

    class Meta:
        csrf = False

    article = HiddenField(validators=[DataRequired()])
    parent = HiddenField()
    submission_key = HiddenField()
    body = _message_field("Comment", "Please write a comment.")
    name = StringField(
        "Name",
        filters=[_single_line],
        validators=[DataRequired("Please give a name."), MaxLength("MAX_NAME_LENGTH")],
    )
    email = _email_field()
    website = StringField(
        "Website",
        filters=[_single_line],
        validators=[MaxLength("MAX_WEBSITE_LENGTH"), web_address],
    )
    remember = BooleanField("Save my name, e-mail and website in this browser")
    notify_replies = BooleanField("E-mail me replies to my comment")
    homepage = StringField("Leave this field empty")
