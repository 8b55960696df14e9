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
import os
import re
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ..core.models import Feedback, utcnow
from ..core.translations import gettext as _
from . import post_markup
from .files import write_atomically
from .index import Article, Site
from .post_check import check, pelican_settings
from .post_fields import (
    DATE_FORMAT,
    DraftError,
    Post,
    PostFields,
    compose,
    one_line,
    parse,
    split_tags,
)

# --- the fields -----------------------------------------------------------------


# --- the check: as Pelican reads it ----------------------------------------------


# --- files ------------------------------------------------------------------------


def content_file(config: Any, source: str) -> Path:
    """Return the file of ``source``, refusing anything outside CONTENT_PATH."""
    root = Path(config["CONTENT_PATH"]).resolve()
    path = (root / source).resolve()
    if root not in path.parents or path.suffix != ".md":
        raise DraftError(_("Not a post of this site."))
    return path


def read_fields(config: Any, source: str) -> PostFields:
    """Read a desk post's fields without checking what they say."""
    try:
        text = content_file(config, source).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise DraftError(
            _("{file} is no longer in the content folder.").format(file=source)
        ) from None
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
            _(
                "The reader did not agree to be quoted: write a short summary "
                "of what they said instead."
            ),
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
        # The summary is the author's own words about the message: it opens
        # the post as it is, and says which article the message was about
        # after it ("A reader asked…" never follows "A reader wrote…").
        opening = (
            f"{summary.strip()}\n\n(From a reader's message about {link}, in my words.)"
        )
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
            _("{file} exists already; choose another title.").format(file=source),
            "title",
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


def _free_slug(config: Any, site: Site, title: str) -> str:
    """A slug for a new post, made as Pelican makes one with the site's own
    settings, and taken by no article or file."""
    from pelican.utils import slugify  # only the desk needs Pelican

    settings = pelican_settings(config)
    base = slugify(
        title,
        regex_subs=settings.get("SLUG_REGEX_SUBSTITUTIONS", []),
        preserve_case=settings.get("SLUGIFY_PRESERVE_CASE", False),
        use_unicode=settings.get("SLUGIFY_USE_UNICODE", False),
    ).lower()
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
