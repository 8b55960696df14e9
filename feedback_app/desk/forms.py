"""Forms of the author's desk. Every one carries a CSRF token (Flask-WTF)."""

from __future__ import annotations

from typing import Any

from flask import current_app
from wtforms import (
    BooleanField,
    EmailField,
    Field,
    HiddenField,
    PasswordField,
    RadioField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, ValidationError

from ..core.fields import (
    Form,
    MaxLength,
    contact_address,
    multiline,
    single_line,
    web_address,
)
from ..core.translations import gettext
from ..core.translations import lazy_gettext as _
from .auth import password_problem


class ActionForm(Form):
    """A button that changes something: the view checks ``action``."""

    action = HiddenField()


class SignInForm(Form):
    name = StringField(
        _("Name or e-mail address"),
        filters=[single_line],
        validators=[
            DataRequired(_("Please give your name or address.")),
            Length(max=254),
        ],
    )
    password = PasswordField(
        _("Password"), validators=[InputRequired(_("Please give your password."))]
    )
    next = HiddenField()


class AnswerForm(Form):
    """One answer to a feedback: privately (the default), in a draft post,
    or both. The post's fields count only when a post is chosen.

    ``may_quote``: the view sets it from the feedback; without the reader's
    consent a post needs a summary. ``post_offered``: False once the
    feedback has a post, and then the answer goes privately."""

    #: Where the answer goes; a form sent without it answers privately.
    send_to = RadioField(
        _("Where your answer goes"),
        choices=[
            SelectChoice("private", _("Privately")),
            SelectChoice("post", _("In a post only")),
            SelectChoice("both", _("Privately and in a post")),
        ],
        default="private",
    )
    answer = TextAreaField(
        _("Your answer"),
        filters=[multiline],
        validators=[
            DataRequired(_("Please write an answer.")),
            MaxLength("MAX_REPLY_LENGTH"),
        ],
    )
    title = StringField(
        _("Title of the post"),
        filters=[single_line],
        validators=[Length(max=200)],
    )
    summary = TextAreaField(
        _("Summary of what the reader said"),
        filters=[multiline],
        validators=[Length(max=1000)],
    )
    category = StringField(
        _("Category"), filters=[single_line], validators=[Length(max=100)]
    )
    tags = StringField(
        _("Tags (comma-separated)"), filters=[single_line], validators=[Length(max=300)]
    )

    may_quote = True
    post_offered = True

    @property
    def private(self) -> bool:
        """Whether the answer goes to the reader's reply page (and mail)."""
        return self.send_to.data != "post"

    @property
    def public(self) -> bool:
        """Whether the answer makes a draft post."""
        return self.send_to.data in ("post", "both")

    def validate(self, extra_validators: Any = None) -> bool:
        """Check the form; the post's fields only when a post is chosen."""
        super().validate(extra_validators)
        if not self.public:
            for f in self._post_fields():
                f.errors = []
        return not any(f.errors for f in self)

    def _post_fields(self) -> tuple[Field, ...]:
        return (self.title, self.summary, self.category, self.tags)

    def validate_send_to(self, field: RadioField) -> None:
        if self.public and not self.post_offered:
            # A page from before the post was made, sent again.
            raise ValidationError(_("This feedback has a post already: edit that one."))

    def validate_title(self, field: StringField) -> None:
        if self.public and not field.data:
            raise ValidationError(_("A post needs a title."))

    def validate_summary(self, field: TextAreaField) -> None:
        if self.public and not self.may_quote and not (field.data or "").strip():
            raise ValidationError(
                _(
                    "The reader did not agree to be quoted: write a short summary "
                    "of what they said instead."
                )
            )

    def post_errors(self) -> list[str]:
        """The errors of the post's own fields, in the page's order."""
        return [str(e) for f in self._post_fields() for e in f.errors]


class PostForm(Form):
    """The post editor: fields, never Pelican's metadata as text (the desk
    writes the file itself, ``drafts.py``). ``author`` is an editor's only."""

    title = StringField(
        _("Title"),
        filters=[single_line],
        validators=[DataRequired(_("A post needs a title.")), Length(max=200)],
    )
    summary = TextAreaField(
        _("Summary"), filters=[multiline], validators=[Length(max=1000)]
    )
    category = StringField(
        _("Category"), filters=[single_line], validators=[Length(max=100)]
    )
    tags = StringField(
        _("Tags (comma-separated)"), filters=[single_line], validators=[Length(max=300)]
    )
    body = TextAreaField(
        _("Text (Markdown)"),
        filters=[multiline],
        validators=[DataRequired(_("The post is empty.")), Length(max=100_000)],
    )
    #: An editor's choice among the desk's accounts; left out, it stays.
    author = SelectField(_("Author"), validate_choice=False)

    def validate_author(self, field: SelectField) -> None:
        if field.data and field.data not in dict(field.choices or []):
            raise ValidationError(_("Choose one of the desk's authors."))


class CommentEditForm(Form):
    name = StringField(
        _("Name"),
        filters=[single_line],
        validators=[
            DataRequired(_("A comment needs a name.")),
            MaxLength("MAX_NAME_LENGTH"),
        ],
    )
    website = StringField(
        _("Website"),
        filters=[single_line],
        validators=[MaxLength("MAX_WEBSITE_LENGTH"), web_address],
    )
    body = TextAreaField(
        _("Comment"),
        filters=[multiline],
        validators=[
            DataRequired(_("A comment needs text.")),
            MaxLength("MAX_MESSAGE_LENGTH"),
        ],
    )


class ReplyForm(Form):
    body = TextAreaField(
        _("Your reply"),
        filters=[multiline],
        validators=[
            DataRequired(_("Please write a reply.")),
            MaxLength("MAX_REPLY_LENGTH"),
        ],
    )


class ReaderForm(Form):
    email = EmailField(
        _("Reader's e-mail address"),
        filters=[single_line],
        validators=[
            DataRequired(_("Please give an address.")),
            MaxLength("MAX_EMAIL_LENGTH"),
            contact_address,
        ],
    )


class EraseForm(ReaderForm):
    confirm = BooleanField(
        _("Yes, erase this reader's data. This cannot be undone."),
        validators=[DataRequired(_("Tick the box to confirm."))],
    )


class ReassignForm(Form):
    """An editor gives an article's feedback and comments other authors."""

    page_url = StringField(
        _("Article (its address on the site, as 2026/its-slug/)"),
        filters=[single_line],
        validators=[DataRequired(_("Please name the article.")), Length(max=1000)],
    )
    authors = TextAreaField(
        _("Its authors, one per line"),
        filters=[multiline],
        validators=[Length(max=2000)],
    )

    def names(self) -> list[str]:
        """Return the authors named, one per line, blank lines left out."""
        return [n.strip() for n in (self.authors.data or "").splitlines() if n.strip()]


class SettingsForm(Form):
    """The signed-in author's own settings: the desk's language ("" is the
    site's). The view gives the choices (``language.shipped_languages``)."""

    lang = SelectField(_("The desk's language"), validate_choice=False)

    def validate_lang(self, field: SelectField) -> None:
        if field.data not in dict(field.choices or []):
            raise ValidationError(_("Choose one of the languages listed."))


def new_password(form: Form, field: PasswordField) -> None:
    """Check a new password by the rules of every place one is chosen
    (``auth.password_problem``)."""
    problem = password_problem(
        field.data or "", current_app.config["MIN_PASSWORD_LENGTH"], gettext
    )
    if problem is not None:
        raise ValidationError(problem)


class NewPasswordForm(Form):
    """A new password, typed twice: the page a reset link opens."""

    new_password = PasswordField(_("New password"), validators=[new_password])
    new_password_again = PasswordField(_("New password, once more"))

    def validate_new_password_again(self, field: PasswordField) -> None:
        if field.data != self.new_password.data:
            raise ValidationError(_("The two passwords are not the same."))


class ChangePasswordForm(NewPasswordForm):
    """The signed-in author's new password, after their current one."""

    current_password = PasswordField(
        _("Current password"),
        validators=[InputRequired(_("Please give your current password."))],
    )


class ForgotPasswordForm(Form):
    """Who forgot their password: the account as signing in names it."""

    name = SignInForm.name
