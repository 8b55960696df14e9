"""Forms of the author's desk. Every one carries a CSRF token (Flask-WTF)."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    EmailField,
    HiddenField,
    PasswordField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired, Length, ValidationError

from ..core.fields import (
    MaxLength,
    contact_address,
    multiline,
    single_line,
    web_address,
)


class ActionForm(FlaskForm):
    """A button that changes something: the view checks ``action``."""

    action = HiddenField()


class SignInForm(FlaskForm):
    name = StringField(
        "Name or e-mail address",
        filters=[single_line],
        validators=[DataRequired("Please give your name or address."), Length(max=254)],
    )
    password = PasswordField(
        "Password", validators=[InputRequired("Please give your password.")]
    )
    next = HiddenField()


class AnswerForm(FlaskForm):
    """One answer to a feedback, sent privately, in a draft post, or both."""

    answer = TextAreaField(
        "Your answer",
        filters=[multiline],
        validators=[
            DataRequired("Please write an answer."),
            MaxLength("MAX_REPLY_LENGTH"),
        ],
    )
    private = BooleanField("Privately", default=True)
    public = BooleanField("In a post")
    title = StringField(
        "Title of the post",
        filters=[single_line],
        validators=[Length(max=200)],
    )
    summary = TextAreaField(
        "Summary of what the reader said",
        filters=[multiline],
        validators=[Length(max=1000)],
    )
    category = StringField(
        "Category", filters=[single_line], validators=[Length(max=100)]
    )
    tags = StringField(
        "Tags (comma-separated)", filters=[single_line], validators=[Length(max=300)]
    )

    def validate_private(self, field: BooleanField) -> None:
        if not field.data and not self.public.data:
            raise ValidationError("Choose at least one way to answer.")

    def validate_title(self, field: StringField) -> None:
        if self.public.data and not field.data:
            raise ValidationError("A post needs a title.")


class PostForm(FlaskForm):
    """The post editor: fields, never Pelican's metadata as text (the desk
    writes the file itself, ``drafts.py``). ``author`` is an editor's only."""

    title = StringField(
        "Title",
        filters=[single_line],
        validators=[DataRequired("A post needs a title."), Length(max=200)],
    )
    summary = TextAreaField(
        "Summary", filters=[multiline], validators=[Length(max=1000)]
    )
    category = StringField(
        "Category", filters=[single_line], validators=[Length(max=100)]
    )
    tags = StringField(
        "Tags (comma-separated)", filters=[single_line], validators=[Length(max=300)]
    )
    body = TextAreaField(
        "Text (Markdown)",
        filters=[multiline],
        validators=[DataRequired("The post is empty."), Length(max=100_000)],
    )
    #: An editor's choice among the desk's accounts; left out, it stays.
    author = SelectField("Author", validate_choice=False)

    def validate_author(self, field: SelectField) -> None:
        if field.data and field.data not in dict(field.choices or []):
            raise ValidationError("Choose one of the desk's authors.")


class CommentEditForm(FlaskForm):
    name = StringField(
        "Name",
        filters=[single_line],
        validators=[
            DataRequired("A comment needs a name."),
            MaxLength("MAX_NAME_LENGTH"),
        ],
    )
    website = StringField(
        "Website",
        filters=[single_line],
        validators=[MaxLength("MAX_WEBSITE_LENGTH"), web_address],
    )
    body = TextAreaField(
        "Comment",
        filters=[multiline],
        validators=[
            DataRequired("A comment needs text."),
            MaxLength("MAX_MESSAGE_LENGTH"),
        ],
    )


class ReplyForm(FlaskForm):
    body = TextAreaField(
        "Your reply",
        filters=[multiline],
        validators=[
            DataRequired("Please write a reply."),
            MaxLength("MAX_REPLY_LENGTH"),
        ],
    )


class ReaderForm(FlaskForm):
    email = EmailField(
        "Reader's e-mail address",
        filters=[single_line],
        validators=[
            DataRequired("Please give an address."),
            MaxLength("MAX_EMAIL_LENGTH"),
            contact_address,
        ],
    )


class EraseForm(ReaderForm):
    confirm = BooleanField(
        "Yes, erase this reader's data. This cannot be undone.",
        validators=[DataRequired("Tick the box to confirm.")],
    )


class ReassignForm(FlaskForm):
    """An editor gives an article's feedback and comments other authors."""

    page_url = StringField(
        "Article (its address on the site, as 2026/its-slug/)",
        filters=[single_line],
        validators=[DataRequired("Please name the article."), Length(max=1000)],
    )
    authors = TextAreaField(
        "Its authors, one per line",
        filters=[multiline],
        validators=[Length(max=2000)],
    )

    def names(self) -> list[str]:
        """Return the authors named, one per line, blank lines left out."""
        return [n.strip() for n in (self.authors.data or "").splitlines() if n.strip()]
