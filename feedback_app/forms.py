"""Forms readers fill in. Limits come from the config at validation time."""

from __future__ import annotations

from typing import Any

from email_validator import EmailNotValidError, validate_email
from flask import current_app
from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, HiddenField, StringField, TextAreaField
from wtforms.validators import DataRequired, ValidationError

from .text import clean_text


def _multiline(value: Any) -> Any:
    return clean_text(value) if isinstance(value, str) else value


def _single_line(value: Any) -> Any:
    return clean_text(value, single_line=True) if isinstance(value, str) else value


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
    try:
        info = validate_email(
            field.data,
            check_deliverability=current_app.config["EMAIL_CHECK_DELIVERABILITY"],
        )
    except EmailNotValidError as exc:
        raise ValidationError(
            f"This is not an e-mail address we can use: {exc}"
        ) from None
    field.data = info.normalized


def _message_field(label: str) -> TextAreaField:
    return TextAreaField(
        label,
        filters=[_multiline],
        validators=[
            DataRequired("Please write a message."),
            MaxLength("MAX_MESSAGE_LENGTH"),
        ],
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
