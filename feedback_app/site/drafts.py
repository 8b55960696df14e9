"""Posts written in the desk: checked fields in, a Markdown file out.

"Answer in a post" drafts a new post answering a feedback; the author then
edits it in the desk and publishes it. The desk never takes free text for
Pelican's metadata: the post editor has fields (title, summary, category,
tags, body; an editor may also pick the author) and this module writes the
whole file itself, header and all, into ``content/desk/``:

* Every header value is one line, checked before it is written: nothing an
  author types can add, repeat or end a metadata line. The date, the slug
  and the status are the app's own.
* The file is then read back by **Pelican's own Markdown reader** with the
  site's settings, and what Pelican read must be exactly what was meant: the
  same metadata, no other keys.
* The body (and the summary, which Pelican renders as Markdown too) must come
  out of that rendering unchanged by :func:`post_markup.clean`, and with no
  intrasite link (``{filename}``, ``{static}``, ``{attach}``...) but the one
  to the answered article that the app writes itself. Anything else is
  refused with a message naming it; nothing is silently altered.

The preview is the same cleaned rendering, and the build cleans posts in
``content/desk/`` with the same function (the plugin): what the author saw
is what goes out. The quote of the reader's message is an HTML block with
everything escaped, made only if the reader agreed to be quoted.
"""

from __future__ import annotations

import html
import json
import os
import re
import subprocess  # nosec B404
import sys
import tempfile
import threading
from dataclasses import asdict, dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ..core.models import Feedback, utcnow
from . import post_markup
from .files import write_atomically
from .index import Article, Site

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
_SLUG = re.compile(r"[a-z0-9][a-z0-9-]{0,99}")
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}")
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


# --- the fields -----------------------------------------------------------------


def one_line(value: str, field: str) -> str:
    """Return ``value`` as one header value; refuse what cannot be one.

    Runs of white space become one space (a summary typed on several lines
    is one paragraph either way); any other control or line-ending
    character is refused.

    :raise DraftError: naming the field.
    """
    value = " ".join(value.replace("\r\n", "\n").replace("\r", "\n").split())
    if _NOT_IN_A_LINE.search(value):
        raise DraftError("This holds control characters that are not allowed.", field)
    if len(value) > LIMITS.get(field, 200):
        raise DraftError(
            f"Please keep this to {LIMITS.get(field, 200):,} characters.", field
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
        raise DraftError("This holds control characters that are not allowed.", "body")
    if not body.strip():
        raise DraftError("The post needs some text.", "body")
    if len(body) > MAX_BODY:
        raise DraftError(f"Please keep the post to {MAX_BODY:,} characters.", "body")
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
        raise DraftError("The file has no empty line after its metadata.")
    names = dict(_HEADER)
    values: dict[str, str] = {}
    for line in header.split("\n"):
        key, colon, value = line.partition(": ")
        if not colon or key not in names or names[key] in values:
            raise DraftError(
                "This post's file was changed outside the desk "
                f"(“{line[:60]}”); edit it in content/ instead."
            )
        values[names[key]] = value.strip()
    if not values.get("title"):
        raise DraftError("The post's file has no title; edit it in content/.")
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


# --- the check: as Pelican reads it ----------------------------------------------

_settings_lock = threading.Lock()
_settings_cache: dict[tuple[str, float, str], dict[str, Any]] = {}


def pelican_settings(config: Any) -> dict[str, Any]:
    """Return the site's Pelican settings (``PELICAN_SETTINGS``), read once
    per change of the file."""
    from pelican.settings import read_settings  # only the desk's posts need it

    path = config["PELICAN_SETTINGS"]
    # The content folder the app builds (``publishing.py`` names it too).
    extra = {"PATH": config.get("CONTENT_PATH") or "content"}
    extra.update(config.get("PELICAN_EXTRA_SETTINGS") or {})
    os.makedirs(extra["PATH"], exist_ok=True)  # the desk writes posts there
    key = (path, os.stat(path).st_mtime, repr(sorted(extra.items())))
    with _settings_lock:
        if key not in _settings_cache:
            _settings_cache.clear()
            _settings_cache[key] = read_settings(path, override=extra)
        return _settings_cache[key]


def read_as_pelican(config: Any, text: str) -> tuple[str, dict[str, Any]]:
    """Return (HTML, metadata) of ``text`` read by Pelican's Markdown reader
    with the site's settings, from a file, as a build reads it."""
    from pelican.readers import MarkdownReader

    settings = pelican_settings(config)
    with tempfile.TemporaryDirectory(prefix="desk-post-") as folder:
        path = Path(folder, "post.md")
        path.write_text(text, encoding="utf-8")
        return MarkdownReader(settings).read(str(path))


#: Seconds Pelican may take to render a desk post. Markdown and some of
#: Pygments' lexers take time in the square (or worse) of hostile input;
#: a post that takes longer is refused, so no build ever waits for it.
RENDER_TIMEOUT = 10
_checked: dict[str, tuple[str, str]] = {}
_checked_lock = threading.Lock()


def check(config: Any, fields: PostFields, *, answered: str | None = None) -> Post:
    """:func:`check_now` in a separate Python process, stopped after
    ``RENDER_TIMEOUT`` seconds; the latest results are remembered.

    :raise DraftError: as :func:`check_now`, or if it takes too long.
    """
    request = json.dumps(
        {
            "config": {
                "PELICAN_SETTINGS": config["PELICAN_SETTINGS"],
                "CONTENT_PATH": config.get("CONTENT_PATH"),
                "PELICAN_EXTRA_SETTINGS": config.get("PELICAN_EXTRA_SETTINGS") or {},
            },
            "fields": asdict(fields),
            "answered": answered,
        },
        sort_keys=True,
    )
    with _checked_lock:
        done = _checked.get(request)
    if done is None:
        done = _check_elsewhere(request, config["PELICAN_SETTINGS"])
        with _checked_lock:
            if len(_checked) >= 64:
                _checked.pop(next(iter(_checked)))
            _checked[request] = done
    return Post("", fields, *done)


def _check_elsewhere(request: str, settings_path: str) -> tuple[str, str]:
    # The program is this Python and this module; the input goes on stdin.
    try:
        result = subprocess.run(  # nosec B603
            [sys.executable, "-m", "feedback_app.site.drafts"],
            input=request,
            capture_output=True,
            text=True,
            timeout=RENDER_TIMEOUT,
            cwd=Path(settings_path).parent,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise DraftError(
            f"Pelican takes longer than {RENDER_TIMEOUT} seconds to render this "
            "post; please simplify its code blocks and brackets.",
            "body",
        ) from None
    try:
        answer = json.loads(result.stdout)
    except ValueError:
        raise RuntimeError(f"checking a post failed: {result.stderr[-2000:]}") from None
    if "error" in answer:
        raise DraftError(answer["error"], answer.get("field"))
    return answer["html"], answer["summary_html"]


def _main() -> None:
    """Check the post given as JSON on stdin; answer JSON on stdout."""
    request = json.load(sys.stdin)
    try:
        post = check_now(
            request["config"],
            PostFields(
                **{**request["fields"], "tags": tuple(request["fields"]["tags"])}
            ),
            answered=request["answered"],
        )
    except DraftError as exc:
        json.dump({"error": str(exc), "field": exc.field}, sys.stdout)
    else:
        json.dump({"html": post.html, "summary_html": post.summary_html}, sys.stdout)


def check_now(config: Any, fields: PostFields, *, answered: str | None = None) -> Post:
    """Compose ``fields``, read them as Pelican will, and refuse what the
    desk may not publish.

    ``answered`` is the content file of the answered article: the one
    ``{filename}`` link allowed.

    :raise DraftError: saying what is refused (and in which field).
    """
    if not _SLUG.fullmatch(fields.slug):
        raise DraftError("The post has no valid slug.")
    if fields.status not in STATUSES:
        raise DraftError(f"The status must be one of {', '.join(STATUSES)}.")
    if not _DATE.fullmatch(fields.date):
        raise DraftError("The post has no valid date.")
    if not fields.title:
        raise DraftError("A post needs a title.", "title")
    if not fields.category:
        # Without one, Pelican would file the post under its folder's name.
        raise DraftError("A post needs a category.", "category")
    settings = pelican_settings(config)
    _check_names(fields, settings)
    text = compose(fields)
    try:
        content, meta = read_as_pelican(config, text)
    except Exception as exc:  # Markdown's or Pygments' error on this text
        raise DraftError(
            f"Pelican cannot render this post ({type(exc).__name__}: {exc}); "
            "please check its code blocks and links.",
            "body",
        ) from None
    _check_metadata(fields, meta)
    summary = str(meta.get("summary", ""))
    pattern = settings["INTRASITE_LINK_REGEX"]
    allowed = {("filename", f"/{answered}")} if answered else set()
    for field, rendered in (("body", content), ("summary", summary)):
        if post_markup.longest_tag(rendered) > post_markup.MAX_TAG:
            raise DraftError(
                f"A tag in this post is longer than {post_markup.MAX_TAG:,} "
                "characters; please shorten its attributes.",
                field,
            )
        refused = post_markup.refusals(rendered)
        # Pelican rewrites links in the cleaned HTML: look there too, where
        # entities and unquoted values no longer hide them.
        links = post_markup.intrasite_links(rendered, pattern)
        links += post_markup.intrasite_links(post_markup.clean(rendered), pattern)
        refused += [
            f"the link “{{{what}}}{value}”"
            for what, value in dict.fromkeys(links)
            if (what, value) not in allowed
        ]
        if refused:
            raise DraftError(
                f"The desk does not publish {refused[0]}"
                + (f" (nor {', '.join(refused[1:3])})" if refused[1:] else "")
                + ": a post may use Markdown, and HTML for headings, lists, "
                "tables, code, quotes, links, and images over https; no "
                "script, styles, forms, frames or links into the site's files.",
                field,
            )
    return Post("", fields, post_markup.clean(content), post_markup.clean(summary))


def _check_names(fields: PostFields, settings: dict[str, Any]) -> None:
    """Refuse a category or tag with no letter or digit: Pelican's slug for
    it would be empty, and its page would take the index's address."""
    from pelican.urlwrappers import Category, Tag

    if fields.category and not Category(fields.category, settings).slug:
        raise DraftError("A category needs a letter or a digit.", "category")
    for tag in fields.tags:
        if not Tag(tag, settings).slug:
            raise DraftError(f"The tag “{tag}” needs a letter or a digit.", "tags")


def _check_metadata(fields: PostFields, meta: dict[str, Any]) -> None:
    """Make sure Pelican read exactly the metadata the desk wrote."""
    expected = {
        "title": fields.title,
        "date": fields.date,
        "author": fields.author,
        "category": fields.category,
        "tags": list(fields.tags),
        "slug": fields.slug,
        "status": fields.status,
    }
    expected = {k: v for k, v in expected.items() if v}
    if fields.summary:
        expected["summary"] = ...
    read: dict[str, Any] = {}
    for key, value in meta.items():
        if key == "date":
            read[key] = value.strftime(DATE_FORMAT)
        elif key in ("author", "category"):
            read[key] = value.name
        elif key == "tags":
            read[key] = [tag.name for tag in value]
        elif key == "summary":
            read[key] = ...
        else:
            read[key] = value
    if read != expected:
        raise DraftError(
            "Pelican would read this post's metadata differently from what the "
            "desk wrote; please simplify the title, category or tags."
        )


# --- files ------------------------------------------------------------------------


def content_file(config: Any, source: str) -> Path:
    """Return the file of ``source``, refusing anything outside CONTENT_PATH."""
    root = Path(config["CONTENT_PATH"]).resolve()
    path = (root / source).resolve()
    if root not in path.parents or path.suffix != ".md":
        raise DraftError("Not a post of this site.")
    return path


def read_fields(config: Any, source: str) -> PostFields:
    """Read a desk post's fields without checking what they say."""
    try:
        text = content_file(config, source).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise DraftError(f"{source} is no longer in the content folder.") from None
    return parse(text)


def save_post(
    config: Any, source: str, fields: PostFields, *, answered: str | None = None
) -> Post:
    """Check ``fields`` and write them as the post ``source``.

    A post made before the desk had its own folder moves into it
    (``content/desk/<slug>.md``), where the build cleans it too.

    :raise DraftError: if the post is refused; no file is changed.
    """
    post = check(config, fields, answered=answered)
    target = f"{post_markup.DESK_FOLDER}/{fields.slug}.md"
    write_atomically(content_file(config, target), compose(fields))
    if source != target:
        content_file(config, source).unlink(missing_ok=True)
    return replace(post, source=target)


def local_now(site: Site) -> datetime:
    try:
        return utcnow().astimezone(ZoneInfo(site.timezone))
    except (ZoneInfoNotFoundError, ValueError):
        return utcnow()


def answered_source(article: Article | None) -> str | None:
    """Return the answered article's content file, if the desk may link it."""
    if article is None:
        return None
    if not post_markup.CONTENT_LINK.fullmatch(f"/{article.source}"):
        return None
    if ".." in article.source.split("/"):
        return None
    return article.source


def quote_markdown(text: str) -> str:
    """Return ``text`` as a block quote that renders as exactly this text.

    An HTML block, which Markdown passes through untouched: nothing the
    reader typed can become a link, an image, a heading or a list (Markdown
    syntax cannot be escaped reliably: "=" under a line makes a heading),
    and only ``&``, ``<`` and ``>`` need escaping, so the draft stays
    readable to the author who edits it.
    """
    paragraphs = [p for p in re.split(r"\n\s*\n", text.strip()) if p.strip()]
    body = "\n".join(
        "<p>"
        + "<br>\n".join(
            html.escape(line.strip(), quote=False) for line in p.splitlines()
        )
        + "</p>"
        for p in paragraphs
    )
    # No empty line inside: it would end the HTML block for Markdown.
    return f'<blockquote class="reader-quote">\n{body or "<p></p>"}\n</blockquote>'


def new_post(
    config: Any,
    site: Site,
    feedback: Feedback,
    article: Article | None,
    *,
    author: str,
    title: str,
    answer: str,
    summary: str,
    category: str,
    tags: str,
) -> Post:
    """Write a draft post answering ``feedback`` in public; return it.

    :raise DraftError: if the reader did not agree to be quoted and there is
        no summary, if the desk would refuse the post, or if a file cannot be
        made.
    """
    if not feedback.may_quote and not summary.strip():
        raise DraftError(
            "The reader did not agree to be quoted: write a short summary of "
            "what they said instead.",
            "summary",
        )
    answered = answered_source(article)
    title_text = article.title if article else feedback.article_title
    if answered:
        link = f"[{_link_text(title_text)}]({{filename}}/{answered})"
    else:
        link = f"[{_link_text(title_text)}]({feedback.article_url})"
    if feedback.may_quote:
        opening = (
            f"A reader wrote to me about {link} and agreed that I quote "
            f"them:\n\n{quote_markdown(feedback.message)}"
        )
        if summary.strip():
            opening = f"{summary.strip()}\n\n{opening}"
    else:
        opening = f"A reader wrote to me about {link}. {summary.strip()}"
    fields = PostFields(
        title=one_line(title, "title"),
        body=f"{opening}\n\n{answer.strip()}",
        summary=one_line(summary, "summary"),
        category=one_line(category, "category") or "Reader mail",
        tags=split_tags(tags),
        author=one_line(author, "author"),
        slug=_free_slug(config, site, title),
        date=local_now(site).strftime(DATE_FORMAT),
        status="draft",
    )
    post = check(config, fields, answered=answered)
    source = f"{post_markup.DESK_FOLDER}/{fields.slug}.md"
    path = content_file(config, source)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    except FileExistsError:
        raise DraftError(
            f"{source} exists already; choose another title.", "title"
        ) from None
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(compose(fields))
    return replace(post, source=source)


def mark_published(
    config: Any, site: Site, post: Post, *, answered: str | None = None
) -> Post:
    """Set a post's status to published and its date to now, and save it."""
    fields = replace(
        post.fields, status="published", date=local_now(site).strftime(DATE_FORMAT)
    )
    return save_post(config, post.source, fields, answered=answered)


def preview_html(post: Post, site: Site, settings: dict[str, Any]) -> str:
    """Return the post's body as the site will show it: the cleaned HTML,
    with the answered article's ``{filename}`` link made a URL as Pelican
    makes it."""
    sources = {a.source: a.url for a in site.articles.values() if a.source}
    pattern = settings["INTRASITE_LINK_REGEX"]

    def link(match: re.Match[str]) -> str:
        url = sources.get(match.group("value").lstrip("/"))
        if match.group("what") != "filename" or url is None:
            return match.group(0)
        return (
            f"{match.group('markup')}{match.group('quote')}{url}{match.group('quote')}"
        )

    regex = re.compile(
        rf"""(?P<markup><[^\>]+(?:href|src)\s*=\s*)(?P<quote>["\'])"""
        rf"""(?P<path>{pattern}(?P<value>.*?))(?P=quote)"""
    )
    return regex.sub(link, post.html)


def _free_slug(config: Any, site: Site, title: str) -> str:
    from pelican.settings import DEFAULT_CONFIG  # only the desk needs Pelican
    from pelican.utils import slugify

    base = slugify(title, regex_subs=DEFAULT_CONFIG["SLUG_REGEX_SUBSTITUTIONS"])
    # Pelican's slugify keeps "_", which a Slug: line here may not hold.
    base = re.sub(r"[^a-z0-9]+", "-", base)[:80].strip("-") or "reader-mail"
    root = Path(config["CONTENT_PATH"])
    taken = {a.slug for a in site.articles.values()}
    slug, n = base, 1
    while (
        slug in taken
        or (root / f"{slug}.md").exists()
        or (root / post_markup.DESK_FOLDER / f"{slug}.md").exists()
    ):
        n += 1
        slug = f"{base}-{n}"
    return slug


def _link_text(title: str) -> str:
    for c in "\\[]<>`*_":
        title = title.replace(c, "\\" + c)
    return title


if __name__ == "__main__":
    _main()
