"""Answering feedback in public: a draft post in ``content/``, then publishing it.

"Answer in a post" writes a new Markdown file with Pelican's metadata and
``Status: draft``. It quotes the reader's message only if they agreed, and
never their name or address; without consent it starts from the summary
the author wrote. The quote is escaped so that nothing in it becomes a
link, an image or HTML on the site: it reads exactly as the reader typed it.

The draft is an ordinary file: the author can edit it in the desk or in
their own editor. Publishing sets ``Status: published`` and the date, then
builds the site.
"""

from __future__ import annotations

import html
import os
import re
from dataclasses import dataclass
from datetime import datetime
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import nh3

from .files import write_atomically
from .models import Feedback, utcnow
from .site_index import Article, Site

STATUSES = ("draft", "published", "hidden")
_META_LINE = re.compile(r"^([A-Za-z][A-Za-z0-9_ -]*):\s*(.*)$")


class DraftError(ValueError):
    """Raised for a post that cannot be written as asked; says why."""


@dataclass(frozen=True)
class Post:
    """A Markdown post: its file, its metadata and its text."""

    source: str  # path under CONTENT_PATH, e.g. "reader-mail-on-calls.md"
    text: str
    meta: dict[str, str]
    body: str

    @property
    def title(self) -> str:
        return self.meta.get("title", "")

    @property
    def slug(self) -> str:
        return self.meta.get("slug", "")

    @property
    def status(self) -> str:
        return self.meta.get("status", "published").lower()


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


def parse(source: str, text: str) -> Post:
    """Split a post into its metadata (lower-case keys) and its body.

    :raise DraftError: if it has no title, or a status Pelican does not know.
    """
    meta: dict[str, str] = {}
    lines = text.replace("\r\n", "\n").split("\n")
    end = _header_end(lines)
    for i in range(end):
        match = _META_LINE.match(lines[i])
        if not match:
            raise DraftError(
                f"Line {i + 1} is not “Name: value”: the metadata at the top ends "
                "with an empty line."
            )
        meta[match.group(1).strip().lower()] = match.group(2).strip()
    if not meta.get("title"):
        raise DraftError("The post needs a “Title:” line at the top.")
    if meta.get("status", "published").lower() not in STATUSES:
        raise DraftError(f"“Status:” must be one of {', '.join(STATUSES)}.")
    if "slug" in meta and not re.fullmatch(r"[a-z0-9][a-z0-9-]*", meta["slug"]):
        raise DraftError("“Slug:” takes lower-case letters, digits and hyphens.")
    return Post(source, text, meta, "\n".join(lines[end + 1 :]).strip("\n"))


def _header_end(lines: list[str]) -> int:
    """Return the index of the line ending the metadata (blank, as Pelican)."""
    for i, line in enumerate(lines):
        if not line.strip():
            return i
    return len(lines)


def content_file(config: Any, source: str) -> Path:
    """Return the file of ``source``, refusing anything outside CONTENT_PATH."""
    root = Path(config["CONTENT_PATH"]).resolve()
    path = (root / source).resolve()
    if root not in path.parents or path.suffix != ".md":
        raise DraftError("Not a post of this site.")
    return path


def read_post(config: Any, source: str) -> Post:
    """Read a post from ``content/``.

    :raise DraftError: if it is gone or malformed.
    """
    try:
        text = content_file(config, source).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise DraftError(f"{source} is no longer in the content folder.") from None
    return parse(source, text)


def save_post(config: Any, source: str, text: str) -> Post:
    """Replace a post's text after checking it.

    :raise DraftError: if the text is malformed; the file is left as it was.
    """
    text = text.replace("\r\n", "\n").rstrip("\n") + "\n"
    post = parse(source, text)
    write_atomically(content_file(config, source), text)
    return post


#: The metadata the desk lets an author set. Others (Save_as, Url,
#: Template, ...) decide where and how a page is written: edit the file in
#: content/ for those.
DESK_METADATA = frozenset(
    {"title", "date", "modified", "author", "category", "tags", "slug"}
    | {"summary", "status", "lang"}
)
_TAGS = frozenset(
    {"a", "abbr", "b", "blockquote", "br", "code", "dd", "del", "div", "dl", "dt"}
    | {"em", "figcaption", "figure", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "i"}
    | {"img", "ins", "kbd", "li", "ol", "p", "pre", "q", "s", "small", "span"}
    | {"strong", "sub", "sup", "table", "tbody", "td", "tfoot", "th", "thead"}
    | {"tr", "u", "ul"}
)
_ATTRIBUTES = frozenset(("href", "src", "alt", "title", "class", "id", "align"))
_ALIGN = re.compile(r"text-align: ?(left|right|center);?")
_SAFE_URL = re.compile(r"^(?:https?:|mailto:|[/#?.]|[^:/?#]+(?:[/?#]|$))", re.I)


def check_desk_edit(
    post: Post, *, author: str, editor: bool, site: Site, own_slug: str | None
) -> None:
    """Refuse what an edit in the desk may not publish.

    The desk publishes Markdown with plain HTML, under the metadata above,
    by the signed-in author (an editor may name another), at a slug no other
    article has: a page of someone else's, the site's other pages and
    script stay out of reach of a desk account.

    :raise DraftError: saying what is refused.
    """
    other = sorted(set(post.meta) - DESK_METADATA)
    if other:
        raise DraftError(
            f"The desk does not set “{other[0].capitalize()}:”; only "
            + ", ".join(k.capitalize() for k in sorted(DESK_METADATA))
            + ". Edit the file in content/ for anything else."
        )
    if not editor and post.meta.get("author", author) != author:
        raise DraftError(f"“Author:” must be you, {author}.")
    slug = post.slug
    if slug and slug != own_slug and slug in site.slugs:
        raise DraftError(f"“Slug: {slug}” belongs to another article.")
    check_markup(post)


def check_markup(post: Post) -> None:
    """Refuse script and the like in what Pelican renders as Markdown with
    raw HTML: the body, and the ``Summary:`` (shown on every list page).

    :raise DraftError: naming the first thing refused.
    """
    refused: list[str] = []
    for markdown_text in (post.body, post.meta.get("summary", "")):
        finder = _MarkupFinder()
        finder.feed(_markdown(markdown_text))
        finder.close()
        refused += finder.refused
    if refused:
        raise DraftError(
            f"The desk does not publish {refused[0]}: only Markdown and "
            "plain HTML (no script, styles, frames, forms or event handlers). "
            "Edit the file in content/ if you really mean it."
        )


class _MarkupFinder(HTMLParser):
    """Collect what in rendered HTML is not plain, safe markup."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.refused: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in _TAGS:
            self.refused.append(f"<{tag}>")
        for name, value in attrs:
            if name == "style" and _ALIGN.fullmatch(value or ""):
                continue  # Markdown's table columns
            if name not in _ATTRIBUTES:
                self.refused.append(f"the attribute {name} on <{tag}>")
            elif name in ("href", "src") and not _SAFE_URL.match(
                (value or "").strip().replace("{filename}", "")
            ):
                self.refused.append(f"the address {value!r}")

    handle_startendtag = handle_starttag

    def handle_comment(self, data: str) -> None:
        if "[if" in data:  # conditional comments hide markup from the check
            self.refused.append("a conditional comment")


def local_now(site: Site) -> datetime:
    try:
        return utcnow().astimezone(ZoneInfo(site.timezone))
    except (ZoneInfoNotFoundError, ValueError):
        return utcnow()


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
        no summary, or a file cannot be made.
    """
    if not feedback.may_quote and not summary.strip():
        raise DraftError(
            "The reader did not agree to be quoted: write a short summary of "
            "what they said instead."
        )
    slug = _free_slug(config, site, title)
    if article is not None and article.source:
        link = f"[{_link_text(article.title)}]({{filename}}/{article.source})"
    else:
        link = f"[{_link_text(feedback.article_title)}]({feedback.article_url})"
    if feedback.may_quote:
        opening = (
            f"A reader wrote to me about {link} and agreed that I quote "
            f"them:\n\n{quote_markdown(feedback.message)}"
        )
        if summary.strip():
            opening = f"{summary.strip()}\n\n{opening}"
    else:
        opening = f"A reader wrote to me about {link}. {summary.strip()}"
    body = f"{opening}\n\n{answer.strip()}\n"
    meta = [
        ("Title", _one_line(title)),
        ("Date", local_now(site).strftime("%Y-%m-%d %H:%M")),
        ("Author", _one_line(author)),
        ("Category", _one_line(category)),
        ("Tags", _one_line(tags)),
        ("Slug", slug),
        ("Summary", _one_line(summary) if summary.strip() else ""),
        ("Status", "draft"),
    ]
    header = "\n".join(f"{k}: {v}" for k, v in meta if v)
    text = f"{header}\n\n{body}"
    source = f"{slug}.md"
    check_markup(parse(source, text))  # as the desk's editor would
    path = content_file(config, source)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    except FileExistsError:
        raise DraftError(f"{source} exists already; choose another title.") from None
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)
    return parse(source, text)


def mark_published(config: Any, site: Site, source: str) -> Post:
    """Set a draft's status to published and its date to now."""
    post = read_post(config, source)
    lines = post.text.split("\n")
    header_end = _header_end(lines)
    kept = [
        line
        for line in lines[:header_end]
        if line.split(":", 1)[0].strip().lower() not in ("status", "date")
    ]
    stamp = local_now(site).strftime("%Y-%m-%d %H:%M")
    kept[1:1] = [f"Date: {stamp}"]
    kept.append("Status: published")
    return save_post(config, source, "\n".join(kept + lines[header_end:]))


def preview_html(post: Post, site: Site) -> str:
    """Render a post's body as the site will, for the desk (sanitised)."""
    sources = {a.source: a.url for a in site.articles.values() if a.source}

    def link(match: re.Match[str]) -> str:
        return sources.get(match.group(1), match.group(0))

    body = re.sub(r"\{filename\}/?([^)\s]+)", link, post.body)
    rendered = _markdown(body)
    return nh3.clean(rendered, link_rel="noopener")


def _markdown(text: str) -> str:
    """Render Markdown as Pelican does (Python-Markdown, extra)."""
    import markdown  # only the desk's post pages need it

    return markdown.markdown(text, extensions=["extra"], output_format="html")


def _free_slug(config: Any, site: Site, title: str) -> str:
    from pelican.settings import DEFAULT_CONFIG  # only the desk needs Pelican
    from pelican.utils import slugify

    base = slugify(title, regex_subs=DEFAULT_CONFIG["SLUG_REGEX_SUBSTITUTIONS"])
    # Pelican's slugify keeps "_", which a Slug: line here may not hold.
    base = re.sub(r"[^a-z0-9]+", "-", base)[:80].strip("-") or "reader-mail"
    root = Path(config["CONTENT_PATH"])
    slug, n = base, 1
    while slug in site.slugs or (root / f"{slug}.md").exists():
        n += 1
        slug = f"{base}-{n}"
    return slug


def _one_line(value: str) -> str:
    return " ".join(value.split())


def _link_text(title: str) -> str:
    for c in "\\[]":
        title = title.replace(c, "\\" + c)
    return title
