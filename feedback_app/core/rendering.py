"""Turning a comment's Markdown into the HTML the site shows: once, on store.

Readers write a small Markdown subset: paragraphs and line breaks, emphasis,
links (and ``<https://…>`` autolinks), inline code and code blocks, block
quotes and lists. Nothing else is rendered: headings, images, tables,
horizontal rules and raw HTML come out as the text that was typed.

Two layers, so that a mistake in one is caught by the other:

1. markdown-it-py (CommonMark) with raw HTML off and the other rules
   disabled: what it emits is already escaped text in allowed tags, and its
   link validation drops ``javascript:``, ``vbscript:``, ``file:`` and
   ``data:`` URLs.
2. nh3 (the maintained HTML sanitiser) with an allow-list of tags and
   attributes, links limited to http, https and mailto, and
   ``rel="nofollow ugc noopener"`` on every link.

The result is stored with the comment; pages never render Markdown on read.
Both libraries are imported, and the renderer built, by the first comment
rendered, not by every process that imports this module.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from markdown_it import MarkdownIt
    from markdown_it.token import Token

ALLOWED_TAGS = {
    "p",
    "br",
    "em",
    "strong",
    "a",
    "code",
    "pre",
    "blockquote",
    "ul",
    "ol",
    "li",
}
ALLOWED_ATTRIBUTES = {"a": {"href"}, "ol": {"start"}}
URL_SCHEMES = {"http", "https", "mailto"}
LINK_REL = "nofollow ugc noopener"

_LINK = re.compile(r"(?i)\b(?:https?://|www\.)")


@functools.cache
def _markdown() -> MarkdownIt:
    """Return the Markdown renderer, built on first use.

    markdown-it builds its rule chains on the first render after a change,
    in place: a second thread rendering meanwhile (gthread workers) could
    find them half built and store a comment rendered wrong. So the chains
    are built here, by a render, before the renderer is returned to anyone:
    two threads arriving together each build their own and the cache keeps
    one, and render() is then safe from several threads, each call making
    its own state.
    """
    from markdown_it import MarkdownIt

    markdown = MarkdownIt("commonmark", {"html": False, "breaks": True}).disable(
        ["table", "hr", "heading", "lheading", "image", "html_block", "html_inline"]
    )
    markdown.render("*a* [b](http://c)\n\n> d\n\n- e\n\n    f")
    return markdown


def render_comment(text: str, links: Callable[[str], str] | None = None) -> str:
    """Return the sanitised HTML for a comment written in Markdown.

    ``links``, if given, maps each link's address before sanitising: an
    author's answer resolves the site's own relative links with it, which
    the sanitiser would otherwise drop."""
    markdown = _markdown()
    if links is None:
        html = markdown.render(text)
    else:
        tokens = markdown.parse(text)
        _map_links(tokens, links)
        html = markdown.renderer.render(tokens, markdown.options, {})
    return clean_comment_html(html)


def clean_comment_html(html: str) -> str:
    """Return ``html`` with only what a comment may hold (idempotent: HTML
    ``render_comment`` made comes back the same)."""
    import nh3

    return nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        attribute_filter=_only_allowed,
        url_schemes=URL_SCHEMES,
        link_rel=LINK_REL,
        strip_comments=True,
    ).strip()


def _map_links(tokens: list[Token], links: Callable[[str], str]) -> None:
    for token in tokens:
        if token.type == "link_open":
            token.attrSet("href", links(str(token.attrGet("href") or "")))
        if token.children:
            _map_links(token.children, links)


def _only_allowed(tag: str, attribute: str, value: str) -> str | None:
    # nh3 always lets ``lang`` and ``title`` through; readers get neither.
    # ``rel`` is nh3's own (link_rel), set whatever the input said.
    if (tag, attribute) == ("a", "rel"):
        return value
    if (tag, attribute) == ("a", "href"):
        # nh3 passes relative URLs ("//evil.example", "/x") whatever
        # url_schemes says: only absolute http, https and mailto links stay.
        scheme = urlsplit(value).scheme.lower()
        return value if scheme in URL_SCHEMES else None
    return value if attribute in ALLOWED_ATTRIBUTES.get(tag, ()) else None


def count_links(text: str, html: str = "") -> int:
    """Count a comment's links: web addresses in its text or links it renders."""
    return max(len(_LINK.findall(text)), html.count("<a "))
