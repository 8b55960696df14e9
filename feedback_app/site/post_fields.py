"""A desk post's fields and its file: every header value checked to be one
line, the file composed by the app (header and all) and parsed back.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..core.translations import gettext as _
from ..core.translations import number
from . import post_markup

#: The header, in the order it is written: (Pelican's key, field).
_HEADER = (
    ("Title", "title"),
    ("Date", "date"),
    ("Author", "author"),
    ("Category", "category"),
    ("Tags", "tags"),
    ("Slug", "slug"),
    ("Summary", "summary"),
    ("Status", "status"),
)


STATUSES = ("draft", "published")


DATE_FORMAT = "%Y-%m-%d %H:%M"


SLUG_FORM = re.compile(r"[a-z0-9][a-z0-9-]{0,99}")


DATE_FORM = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}")


#: Every character that ends a line for Python, Pelican or a mail header,
#: and every other control character.
_NOT_IN_A_LINE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")


_BODY_REFUSED = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")


LIMITS = {"title": 200, "summary": 1000, "category": 100, "tags": 300}


MAX_BODY = 100_000


class DraftError(ValueError):
    """Raised for a post that cannot be written as asked; says why."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class PostFields:
    """What a desk post says: the author's fields and the app's own."""

    title: str
    body: str
    summary: str = ""
    category: str = ""
    tags: tuple[str, ...] = ()
    author: str = ""
    slug: str = ""
    date: str = ""  # DATE_FORMAT, the site's time zone
    status: str = "draft"


@dataclass(frozen=True)
class Post:
    """A desk post as written and as Pelican reads it."""

    source: str  # path under CONTENT_PATH, e.g. "desk/reader-mail-on-calls.md"
    fields: PostFields
    html: str  # the body as the site shows it (cleaned)
    summary_html: str = ""

    @property
    def title(self) -> str:
        return self.fields.title

    @property
    def slug(self) -> str:
        return self.fields.slug

    @property
    def status(self) -> str:
        return self.fields.status

    @property
    def in_desk_folder(self) -> bool:
        return self.source.startswith(f"{post_markup.DESK_FOLDER}/")


def one_line(value: str, field: str) -> str:
    """Return ``value`` as one header value; refuse what cannot be one.

    Runs of white space become one space (a summary typed on several lines
    is one paragraph either way); any other control or line-ending
    character is refused.

    :raise DraftError: naming the field.
    """
    value = " ".join(value.replace("\r\n", "\n").replace("\r", "\n").split())
    if _NOT_IN_A_LINE.search(value):
        raise DraftError(
            _("This holds control characters that are not allowed."), field
        )
    if len(value) > LIMITS.get(field, 200):
        raise DraftError(
            _("Please keep this to {limit} characters.").format(
                limit=number(LIMITS.get(field, 200))
            ),
            field,
        )
    return value


def split_tags(value: str) -> tuple[str, ...]:
    """Return the tags of a comma-separated list (``;`` separates too, as
    Pelican splits on it), each one line, without repeats."""
    value = one_line(value, "tags")
    tags: list[str] = []
    for tag in re.split(r"[,;]", value):
        tag = tag.strip()
        if tag and tag not in tags:
            tags.append(tag)
    return tuple(tags)


def normal_body(value: str) -> str:
    """Return the body with ``\\n`` line ends; refuse control characters.

    :raise DraftError: for a control character or an empty or long body.
    """
    body = value.replace("\r\n", "\n").replace("\r", "\n").strip("\n")
    if _BODY_REFUSED.search(body):
        raise DraftError(
            _("This holds control characters that are not allowed."), "body"
        )
    if not body.strip():
        raise DraftError(_("The post needs some text."), "body")
    if len(body) > MAX_BODY:
        raise DraftError(
            _("Please keep the post to {limit} characters.").format(
                limit=number(MAX_BODY)
            ),
            "body",
        )
    return body


def compose(fields: PostFields) -> str:
    """Return the file's text: the header the app writes, a blank line, the
    body. Values are checked again here, whoever built ``fields``."""
    lines = []
    for key, name in _HEADER:
        value = getattr(fields, name)
        if name == "tags":
            value = ", ".join(one_line(tag, "tags") for tag in value)
        else:
            value = one_line(value, name)
        if value:
            lines.append(f"{key}: {value}")
    return "\n".join(lines) + "\n\n" + normal_body(fields.body) + "\n"


def parse(text: str) -> PostFields:
    """Read back a file the desk wrote (or one in the same form).

    :raise DraftError: if it is not in that form: a key the desk does not
        write, a key twice, a continued line, no title or no body.
    """
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    header, sep, body = text.partition("\n\n")
    if not sep:
        raise DraftError(_("The file has no empty line after its metadata."))
    names = dict(_HEADER)
    values: dict[str, str] = {}
    for line in header.split("\n"):
        key, colon, value = line.partition(": ")
        if not colon or key not in names or names[key] in values:
            raise DraftError(
                _(
                    "This post's file was changed outside the desk ({line}); "
                    "edit it in content/ instead."
                ).format(line=f"“{line[:60]}”")
            )
        values[names[key]] = value.strip()
    if not values.get("title"):
        raise DraftError(_("The post's file has no title; edit it in content/."))
    return PostFields(
        title=values["title"],
        body=body.strip("\n"),
        summary=values.get("summary", ""),
        category=values.get("category", ""),
        tags=split_tags(values.get("tags", "")),
        author=values.get("author", ""),
        slug=values.get("slug", ""),
        date=values.get("date", ""),
        status=values.get("status", "draft"),
    )
