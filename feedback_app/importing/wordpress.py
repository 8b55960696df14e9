"""Reading a WordPress export (WXR 1.0 to 1.2, "Tools → Export"): the
site, its authors, categories and tags, its posts and pages with their
comments, and the attachments galleries and images refer to.

Nothing is converted or written here: ``read_wxr`` returns the export as
plain records, or raises ``SourceError`` naming the line, before the
importer writes anything. The XML is parsed by lxml with entities left
unresolved and no network, so an export cannot make the parser read a file
or expand a billion laughs.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import unquote

from lxml import etree

from .records import ImportedComment, SourceError

#: The namespaces WXR uses, by their family (the version changes the URI).
_FAMILIES = {
    "http://wordpress.org/export/": "wp",
    "http://purl.org/rss/1.0/modules/content/": "content",
    "http://purl.org/dc/elements/1.1/": "dc",
}

#: A comment's ``comment_approved`` as this project names its state.
_COMMENT_STATES = {
    "1": "approved",
    "0": "pending",
    "spam": "spam",
    "trash": "trash",
    "post-trashed": "trash",
}


@dataclass(frozen=True)
class Author:
    """A WordPress user who wrote in the export."""

    login: str
    email: str
    display_name: str
    id: str = ""


@dataclass(frozen=True)
class Term:
    """A category or a tag: its slug (``nicename``), name and parent."""

    slug: str
    name: str
    parent: str = ""


@dataclass
class Item:
    """A post, page or attachment as the export holds it."""

    post_id: str
    post_type: str
    title: str
    link: str
    guid: str
    creator: str
    content: str
    excerpt: str
    date_gmt: datetime | None  # None for a draft never published
    date_local: datetime | None  # the site's own time, without a zone
    modified_gmt: datetime | None
    slug: str  # post_name, decoded ("" for many drafts)
    status: str
    parent: str
    password: str
    categories: list[Term] = field(default_factory=list)
    tags: list[Term] = field(default_factory=list)
    comments: list[ImportedComment] = field(default_factory=list)
    attachment_url: str = ""
    line: int | None = None


@dataclass
class Export:
    """A whole WordPress export."""

    title: str
    link: str
    base_site_url: str
    base_blog_url: str
    language: str
    version: str
    authors: dict[str, Author]  # by login
    categories: dict[str, Term]  # by slug
    tags: dict[str, Term]  # by slug
    items: list[Item]

    @property
    def attachments(self) -> dict[str, str]:
        """Each attachment's id and file address (for ``[gallery ids=…]``)."""
        return {
            i.post_id: i.attachment_url
            for i in self.items
            if i.post_type == "attachment" and i.attachment_url
        }


def _family(tag: str) -> tuple[str, str]:
    """Return an element's namespace family (``wp``, ``content``, …; ""
    for none or another) and its local name."""
    if not tag.startswith("{"):
        return "", tag
    uri, _, local = tag[1:].partition("}")
    for prefix, family in _FAMILIES.items():
        if uri.startswith(prefix):
            if family == "wp" and uri.endswith("/excerpt/"):
                return "excerpt", local
            return family, local
    return uri, local


def _children(element: etree._Element) -> dict[tuple[str, str], list[etree._Element]]:
    found: dict[tuple[str, str], list[etree._Element]] = {}
    for child in element:
        if isinstance(child.tag, str):
            found.setdefault(_family(child.tag), []).append(child)
    return found


def _text(children: dict, family: str, name: str) -> str:
    elements = children.get((family, name))
    return (elements[0].text or "").strip() if elements else ""


def _words(children: dict, family: str, name: str) -> str:
    """Return a name or title as text: WordPress stores them with HTML's
    entities (``R&amp;D``, ``&#8217;``)."""
    return html.unescape(_text(children, family, name))


def _raw(children: dict, family: str, name: str) -> str:
    """Return an element's text without stripping (bodies keep their
    line breaks, which ``wpautop`` reads)."""
    elements = children.get((family, name))
    return (elements[0].text or "") if elements else ""


def _date(value: str, line: int | None, what: str) -> datetime | None:
    """Return a ``YYYY-MM-DD HH:MM:SS`` date; None for WordPress's empty
    date (``0000-00-00 00:00:00``) or none."""
    if not value or value.startswith("0000-00-00"):
        return None
    try:
        return datetime.strptime(value, "%Y-%m-%d %H:%M:%S")
    except ValueError:
        raise SourceError(f"{what} {value!r} is not a date.", line) from None


def _website(value: str) -> str | None:
    value = value.strip()
    return value if value.lower().startswith(("http://", "https://")) else None


def _comment(
    element: etree._Element, post_id: str, author: Author | None
) -> ImportedComment:
    c = _children(element)
    line = element.sourceline
    comment_id = _text(c, "wp", "comment_id")
    if not comment_id.isdigit():
        raise SourceError(
            f"a comment of post {post_id} has no comment_id ({comment_id!r}).", line
        )
    approved = _text(c, "wp", "comment_approved") or "1"
    state = _COMMENT_STATES.get(approved)
    if state is None:
        raise SourceError(
            f"comment {comment_id} has an unknown state {approved!r}.", line
        )
    kind = _text(c, "wp", "comment_type") or "comment"
    if kind not in ("comment", "pingback", "trackback"):
        # Plugins' own types (WooCommerce's "order_note", "review", ...).
        kind = "comment" if kind == "review" else kind
    gmt = _date(_text(c, "wp", "comment_date_gmt"), line, "comment_date_gmt")
    local = _date(_text(c, "wp", "comment_date"), line, "comment_date")
    when = gmt or local
    if when is None:
        raise SourceError(f"comment {comment_id} has no date.", line)
    parent = _text(c, "wp", "comment_parent")
    return ImportedComment(
        source_id=comment_id,
        parent_id=parent if parent and parent != "0" else None,
        name=_words(c, "wp", "comment_author"),
        email=_text(c, "wp", "comment_author_email") or None,
        website=_website(_text(c, "wp", "comment_author_url")),
        created_at=when.replace(tzinfo=UTC),
        body=_raw(c, "wp", "comment_content"),
        body_format="html",
        state=state,
        kind=kind,
        # Signed in as the post's own author when commenting.
        by_author=bool(
            author and author.id and _text(c, "wp", "comment_user_id") == author.id
        ),
        anchor=f"comment-{comment_id}",
        line=line,
    )


def _item(element: etree._Element, authors: dict[str, Author]) -> Item:
    c = _children(element)
    line = element.sourceline
    post_id = _text(c, "wp", "post_id")
    if not post_id.isdigit():
        raise SourceError(f"an item has no post_id ({post_id!r}).", line)
    categories, tags = [], []
    for term in c.get(("", "category"), []):
        slug = unquote(term.get("nicename", "")).strip()
        name = html.unescape((term.text or "").strip())
        if not name:
            continue
        kind = term.get("domain", "category")
        if kind == "category":
            categories.append(Term(slug or name, name))
        elif kind == "post_tag":
            tags.append(Term(slug or name, name))
    creator = _text(c, "dc", "creator")
    author = authors.get(creator)
    comments = [_comment(e, post_id, author) for e in c.get(("wp", "comment"), [])]
    return Item(
        post_id=post_id,
        post_type=_text(c, "wp", "post_type") or "post",
        title=_words(c, "", "title"),
        link=_text(c, "", "link"),
        guid=_text(c, "", "guid"),
        creator=creator,
        content=_raw(c, "content", "encoded"),
        excerpt=_raw(c, "excerpt", "encoded"),
        date_gmt=_date(_text(c, "wp", "post_date_gmt"), line, "post_date_gmt"),
        date_local=_date(_text(c, "wp", "post_date"), line, "post_date"),
        modified_gmt=_date(
            _text(c, "wp", "post_modified_gmt"), line, "post_modified_gmt"
        ),
        slug=unquote(_text(c, "wp", "post_name")),
        status=_text(c, "wp", "status") or "publish",
        parent=_text(c, "wp", "post_parent"),
        password=_text(c, "wp", "post_password"),
        categories=categories,
        tags=tags,
        comments=comments,
        attachment_url=_text(c, "wp", "attachment_url"),
        line=line,
    )


def read_wxr(path: Path) -> Export:
    """Read the WordPress export at ``path``.

    :raise SourceError: for a file that is not XML (with its line), not a
        WordPress export, or holds a post or comment without its id or
        with a date that is not one.
    """
    parser = etree.XMLParser(
        resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False
    )
    try:
        tree = etree.parse(str(path), parser)
    except etree.XMLSyntaxError as exc:
        line = exc.lineno if exc.lineno else None
        raise SourceError(f"not well-formed XML: {exc.msg}", line) from None
    except OSError as exc:
        raise SourceError(f"cannot read {path}: {exc}") from None
    root = tree.getroot()
    channel = root.find("channel")
    if root.tag != "rss" or channel is None:
        raise SourceError("not a WordPress export: no <rss><channel>.", root.sourceline)
    c = _children(channel)
    version = _text(c, "wp", "wxr_version")
    if not version:
        raise SourceError(
            "not a WordPress export: no <wp:wxr_version> (export it from "
            "Tools → Export in WordPress).",
            channel.sourceline,
        )
    authors = {}
    for e in c.get(("wp", "author"), []):
        a = _children(e)
        login = _text(a, "wp", "author_login")
        if login:
            authors[login] = Author(
                login=login,
                email=_text(a, "wp", "author_email"),
                display_name=_words(a, "wp", "author_display_name") or login,
                id=_text(a, "wp", "author_id"),
            )
    categories = {}
    for e in c.get(("wp", "category"), []):
        t = _children(e)
        slug = unquote(_text(t, "wp", "category_nicename"))
        if slug:
            categories[slug] = Term(
                slug,
                _words(t, "wp", "cat_name") or slug,
                _text(t, "wp", "category_parent"),
            )
    tags = {}
    for e in c.get(("wp", "tag"), []):
        t = _children(e)
        slug = unquote(_text(t, "wp", "tag_slug"))
        if slug:
            tags[slug] = Term(slug, _words(t, "wp", "tag_name") or slug)
    items = [_item(e, authors) for e in c.get(("", "item"), [])]
    # WXR 1.0 has no <wp:author>: everyone named in <dc:creator> is one.
    for item in items:
        if item.creator and item.creator not in authors:
            authors[item.creator] = Author(item.creator, "", item.creator)
    return Export(
        title=_words(c, "", "title"),
        link=_text(c, "", "link"),
        base_site_url=_text(c, "wp", "base_site_url") or _text(c, "", "link"),
        base_blog_url=_text(c, "wp", "base_blog_url") or _text(c, "", "link"),
        language=_text(c, "", "language"),
        version=version,
        authors=authors,
        categories=categories,
        tags=tags,
        items=items,
    )


def published_at(item: Item) -> datetime | None:
    """Return when ``item`` was published, aware (UTC), else None."""
    if item.date_gmt is not None:
        return item.date_gmt.replace(tzinfo=UTC)
    return None
