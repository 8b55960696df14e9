"""Forms readers fill in. Limits come from the config at validation time."""

from __future__ import annotations

from typing import Any

from wtforms import BooleanField, EmailField, HiddenField, StringField, TextAreaField
from wtforms.validators import DataRequired

from ..core.fields import (
    Form,
    MaxLength,
    contact_address,
    multiline,
    single_line,
    web_address,
)
from ..core.translations import lazy_gettext as _


def _message_field(label: str, required: Any = None) -> Any:
    return TextAreaField(
        label,
        filters=[multiline],
        validators=[
            DataRequired(required or _("Please write a message.")),
            MaxLength("MAX_MESSAGE_LENGTH"),
        ],
    )


def _email_field() -> EmailField:
    return EmailField(
        "Your e-mail address",
        filters=[single_line],
        validators=[MaxLength("MAX_EMAIL_LENGTH"), contact_address],
    )


class FeedbackForm(Form):
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
        "Your name", filters=[single_line], validators=[MaxLength("MAX_NAME_LENGTH")]
    )
    email = _email_field()
    may_quote = BooleanField(
        "The author may quote this feedback publicly, without my name or address."
    )
    homepage = StringField("Leave this field empty")


class ContactForm(Form):
    """Add or change the address on a private reply page."""

    email = _email_field()


class FollowUpForm(Form):
    """A reader's follow-up on their private reply page."""

    message = _message_field("Add to your feedback")


class DeleteForm(Form):
    """Confirm deleting a feedback and everything that followed it, or the
    reader's address: a CSRF token and a button."""


class CommentForm(Form):
    """A public comment, posted from a static article page.

    Guarded like FeedbackForm (no CSRF token on a static page). ``parent`` is
    the comment answered, if any; ``submission_key`` is the idempotency key
    the page's script fills in.
    """

    class Meta:
        csrf = False

    article = HiddenField(validators=[DataRequired()])
    #: The page it was posted from (a translation's): where to send them back.
    page = HiddenField()
    parent = HiddenField()
    submission_key = HiddenField()
    body = _message_field("Comment", _("Please write a comment."))
    name = StringField(
        "Name",
        filters=[single_line],
        validators=[
            DataRequired(_("Please give a name.")),
            MaxLength("MAX_NAME_LENGTH"),
        ],
    )
    email = _email_field()
    website = StringField(
        "Website",
        filters=[single_line],
        validators=[MaxLength("MAX_WEBSITE_LENGTH"), web_address],
    )
    remember = BooleanField("Save my name, e-mail and website in this browser")
    notify_replies = BooleanField("E-mail me replies to my comment")
    homepage = StringField("Leave this field empty")
