"""An author's answer, written in Markdown, in mail: clean text, and an HTML
alternative.

Both come from the sanitised HTML of ``core/rendering.py``, the renderer the
reply page shows the answer with, so the three say the same. The text is
read back from that HTML: no Markdown markup is left (no ``**``), links read
"text <url>", lists and quotes keep their shape. Links to the site itself,
written as a post would have them (``/2024/05/calls.html``,
``{filename}/calls.md``), become absolute addresses (``site_links``), which
work on the reply page and in mail alike.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from html.parser import HTMLParser
from urllib.parse import unquote, urljoin, urlsplit

from markupsafe import Markup, escape

from ..core.rendering import render_comment
from ..site.index import Site

#: Pelican's link to another content file, as a post is written.
_CONTENT_LINK = re.compile(
    r"^\{(?:filename|attach|static)\}/?(?P<path>[^#?]*)(?P<rest>.*)$"
)


def _quoted(text: str) -> str:
    return "\n".join(f"> {line}" if line else ">" for line in text.splitlines())


class _Node:
    """An element of the sanitised HTML, for ``answer_as_text``."""

    def __init__(self, tag: str, href: str = "") -> None:
        self.tag = tag
        self.href = href
        self.children: list[_Node | str] = []


class _Tree(HTMLParser):
    """The tree of ``render_comment``'s output (a handful of tags, closed)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = _Node("")
        self.open = [self.root]

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        node = _Node(tag, dict(attrs).get("href") or "")
        self.open[-1].children.append(node)
        if tag != "br":
            self.open.append(node)

    def handle_endtag(self, tag: str) -> None:
        if tag != "br" and len(self.open) > 1:
            self.open.pop()

    def handle_data(self, data: str) -> None:
        self.open[-1].children.append(data)


_BLOCKS = {"p", "pre", "blockquote", "ul", "ol", "li"}


def _inline(nodes: list[_Node | str]) -> str:
    out = []
    for node in nodes:
        if isinstance(node, str):
            out.append(node.replace("\n", " "))
        elif node.tag == "br":
            out.append("\n")
        elif node.tag == "a":
            text = _inline(node.children).strip()
            if not node.href:  # an address the sanitiser refused
                out.append(text)
                continue
            plain = node.href.removeprefix("mailto:")
            bare = text in ("", node.href, plain)  # an autolink
            out.append(f"<{node.href}>" if bare else f"{text} <{node.href}>")
        else:
            out.append(_inline(node.children))
    return re.sub(r" *\n *", "\n", "".join(out))


def _blocks(nodes: list[_Node | str]) -> str:
    parts: list[str] = []
    loose: list[_Node | str] = []

    def flush() -> None:
        text = _inline(loose).strip()
        if text:
            parts.append(text)
        loose.clear()

    for node in nodes:
        if isinstance(node, str) or node.tag not in _BLOCKS:
            loose.append(node)
            continue
        flush()
        if node.tag == "p":
            parts.append(_inline(node.children).strip())
        elif node.tag == "pre":
            parts.append(_raw(node).strip("\n"))
        elif node.tag == "blockquote":
            parts.append(_quoted(_blocks(node.children)))
        elif node.tag in ("ul", "ol"):
            parts.append(_list(node))
        else:  # a stray li
            parts.append(_blocks(node.children))
    flush()
    return "\n\n".join(p for p in parts if p)


def _raw(node: _Node) -> str:
    return "".join(c if isinstance(c, str) else _raw(c) for c in node.children)


def _list(node: _Node) -> str:
    items = [c for c in node.children if isinstance(c, _Node) and c.tag == "li"]
    lines = []
    for n, item in enumerate(items, 1):
        marker = f"{n}. " if node.tag == "ol" else "- "
        first, *rest = _blocks(item.children).splitlines() or [""]
        pad = " " * len(marker)
        lines.append("\n".join([marker + first, *(pad + r if r else "" for r in rest)]))
    return "\n".join(lines)


def site_links(site_url: str, site: Site) -> Callable[[str], str]:
    """Map an answer's links to absolute addresses: relative ones against
    ``site_url`` (the static site's address), Pelican's ``{filename}/x.md``
    to the page of the published article ``x.md``; others stay as they are
    (and one to no published page is dropped by the sanitiser, its text
    kept)."""
    base = site_url.rstrip("/") + "/"
    origin = "{0.scheme}://{0.netloc}".format(urlsplit(base))

    def absolute(href: str) -> str:
        content = _CONTENT_LINK.match(unquote(href))
        if content:
            path = content["path"]
            article = next(
                (a for a in site.articles.values() if a.source == path), None
            )
            if article is None:
                return ""
            return urljoin(origin, article.url) + content["rest"]
        if urlsplit(href).scheme or href.startswith("#") or not href:
            return href
        return urljoin(base, href)

    return absolute


def answer_as_html(markdown: str, links: Callable[[str], str] | None = None) -> Markup:
    """An author's answer in Markdown as the reply page and the mail's HTML
    show it: rendered and sanitised by ``core/rendering.py``, its links to
    the site made absolute by ``links`` (``site_links``)."""
    # Sanitised by nh3 with the comments' allow-list: safe as it is.
    return Markup(render_comment(markdown, links))  # noqa: S704  # nosec B704


def answer_as_text(markdown: str, links: Callable[[str], str] | None = None) -> str:
    """An author's answer in Markdown as clean text for a plain-text mail:
    no markup left, links as "text <url>" (read from the sanitised HTML, so
    the text says what the HTML shows)."""
    tree = _Tree()
    tree.feed(render_comment(markdown, links))
    tree.close()
    return _blocks(tree.root.children)


def html_mail(paragraphs: Iterable[str | Markup]) -> str:
    """A plain HTML document of ``paragraphs`` (text is escaped; Markup, the
    sanitised renderer's output or built here, is kept)."""
    body = "\n".join(
        str(p) if isinstance(p, Markup) else f"<p>{escape(p)}</p>" for p in paragraphs
    )
    return (
        '<!DOCTYPE html>\n<html><head><meta charset="utf-8"></head>'
        f"<body>\n{body}\n</body></html>\n"
    )


def link(url: str, text: str) -> Markup:
    """A paragraph holding one link, for ``html_mail``."""
    return Markup('<p><a href="{0}">{1}</a></p>').format(url, text)


def quote_html(text: str) -> Markup:
    """A reader's plain text quoted, for ``html_mail``."""
    lines = Markup("<br>\n").join(escape(line) for line in text.splitlines())
    return Markup("<blockquote><p>{0}</p></blockquote>").format(lines)
