"""What a post written in the desk may contain, and how it is made safe.

Authors are trusted with their own words, not with the site: the desk's
posts may carry Markdown's ordinary markup (headings, lists, tables, code,
quotes, links, images over https) and nothing that runs, restyles the page,
leaves it, submits anything or reaches the site's other files. Two layers
use the one allow-list below:

1. **The desk** renders what the author wrote exactly as Pelican will (its
   own Markdown reader, the site's settings), cleans the result with nh3 and
   compares: if cleaning would change anything, the edit is refused and the
   message names the first thing refused (:func:`refusals`). Nothing is
   silently altered.
2. **The build** (the Pelican plugin) cleans every article under the desk's
   folder, ``content/desk/``, with the same :func:`clean` before it is
   written, and fails on any ``{static}``/``{attach}`` link there. So even a
   file that reached that folder some other way publishes only allowed
   markup, and preview and page come from the same function.

The comparison decides with nh3's own parser (html5ever, as browsers parse)
on the cleaned side; Python's ``html.parser`` only reads the two sides into
comparable tokens to *name* what differs. Were the two parsers ever to
disagree on a document, the page would still be the cleaned HTML.

Pelican's intrasite links (``{filename}``, ``{static}``, ``{attach}``, ...)
are found with Pelican's own pattern (``INTRASITE_LINK_REGEX``), on the same
text Pelican scans. Importable without Flask: the plugin uses it.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from urllib.parse import urlsplit

import nh3
from pygments.token import STANDARD_TYPES

#: The folder under the content path where the desk writes its posts.
DESK_FOLDER = "desk"

TAGS = frozenset(
    {"a", "abbr", "b", "blockquote", "br", "code", "dd", "del", "div", "dl", "dt"}
    | {"em", "figcaption", "figure", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "i"}
    | {"img", "ins", "kbd", "li", "mark", "ol", "p", "pre", "q", "s", "small"}
    | {"span", "strong", "sub", "sup", "table", "tbody", "td", "tfoot", "th"}
    | {"thead", "tr", "u", "ul"}
)
_EVERYWHERE = {"class", "id", "title"}
ATTRIBUTES: dict[str, set[str]] = {
    "*": _EVERYWHERE,
    "a": {"href"},
    "img": {"src", "alt", "width", "height"},
    "ol": {"start"},
    "td": {"style", "align"},
    "th": {"style", "align"},
    "abbr": set(),
}
URL_SCHEMES = frozenset({"http", "https", "mailto"})
#: Table cells' alignment (Markdown's tables) is the only style allowed.
STYLE_PROPERTIES = frozenset({"text-align"})
#: The classes Markdown writes (code highlighting, footnotes) and the
#: desk's reader quote: no class of the theme's (a post could dress as a
#: notice or a comment) nor of Pelican's (it cuts ``contents`` out of
#: summaries with a regular expression).
CLASSES = frozenset(
    {"highlight", "codehilite", "footnote", "footnote-ref", "footnote-backref"}
    | {"reader-quote", "hll", "linenos", "linenodiv", "lineno", "linenotable"}
    | {"special", "filename"}
    | (set(STANDARD_TYPES.values()) - {""})
)
_LANGUAGE = re.compile(r"language-[A-Za-z0-9_+#.-]{1,40}")
#: Ids Markdown's footnotes use: none can take one of the theme's.
_ID = re.compile(r"(?:fn|fnref):[\w.-]{1,40}")
#: The longest tag the desk publishes, in characters between ``<`` and
#: ``>``: Pelican's own link pattern takes time in the square of a tag's
#: length (62,000 characters took a minute per save and per build).
MAX_TAG = 2_000
#: What Pelican's ``strip_toc_elements_from_html`` looks for with regular
#: expressions in every summary made from a post: text matching them, even
#: inside an attribute, unbalances the list pages.
_CUT_FROM_SUMMARIES = re.compile(r"toc-backref|class=\"?contents", re.I)
#: The one intrasite link a desk post may carry: ``{filename}`` to a
#: content file, from the content folder's root (the answered article).
CONTENT_LINK = re.compile(r"/(?:[\w-]+/)*[\w.-]+\.(?:md|markdown|mkd|rst|html?)")
_ALIGN = re.compile(r"left|right|center|justify")
_SIZE = re.compile(r"[0-9]{1,4}")


def _scheme(url: str) -> str | None:
    """Return the scheme of ``url`` ("" if relative), None if unreadable."""
    try:
        return urlsplit(url.strip()).scheme.lower()
    except ValueError:  # e.g. "https://[x"
        return None


def _attribute_filter(tag: str, attribute: str, value: str) -> str | None:
    if attribute == "class":
        ok = all(c in CLASSES or _LANGUAGE.fullmatch(c) for c in value.split())
        return value if ok else None
    if attribute == "id":
        return value if _ID.fullmatch(value) else None
    if attribute == "align":
        return value if _ALIGN.fullmatch(value.strip().lower()) else None
    if attribute in ("width", "height"):
        return value if _SIZE.fullmatch(value.strip()) else None
    if (tag, attribute) == ("img", "src"):
        # Images only over https: nothing that tracks readers in the clear,
        # and no data: or relative addresses into the site's files.
        return value if _scheme(value) == "https" else None
    if attribute == "href":
        return value if _scheme(value) is not None else None
    return value


_CLEAN = {
    "tags": set(TAGS),
    "clean_content_tags": {"script", "style"},
    "attributes": ATTRIBUTES,
    "attribute_filter": _attribute_filter,
    "url_schemes": set(URL_SCHEMES),
    "strip_comments": True,
    "link_rel": None,
    "filter_style_properties": set(STYLE_PROPERTIES),
}


def clean(html: str) -> str:
    """Return ``html`` with only what a desk post may carry."""
    return nh3.clean(html, **_CLEAN)  # type: ignore[arg-type]


def refusals(html: str) -> list[str]:
    """Name what :func:`clean` would take out of ``html`` (empty: nothing).

    Start tags, attributes and text are compared; end tags and ``<tbody>``
    are not (html5ever closes and inserts them, which changes nothing a
    reader sees).
    """
    try:
        before = _tokens(html)
    except AssertionError:  # html.parser's own limits ("<![" and the like)
        return ["markup the desk cannot read (such as “<![”)"]
    if before == _tokens(clean(html)):
        cut = _CUT_FROM_SUMMARIES.search(html)
        return [f"“{cut.group(0)}”, which Pelican cuts out of summaries"] if cut else []
    named: list[str] = []
    for token in before:
        for what in _refused_in(token):
            if what not in named:
                named.append(what)
    return named or ["markup that a browser reads differently from how it looks"]


def longest_tag(html: str) -> int:
    """Return how far Pelican's link pattern may read from one ``<``: from
    the first ``<`` after a ``>`` to the next ``>`` (linear time)."""
    longest = 0
    for segment in html.split(">"):
        start = segment.find("<")
        if start >= 0:
            longest = max(longest, len(segment) - start - 1)
    return longest


def intrasite_links(html: str, pattern: str) -> list[tuple[str, str]]:
    """Return ``(what, value)`` of each intrasite link Pelican would see.

    ``pattern`` is Pelican's ``INTRASITE_LINK_REGEX`` setting; the whole
    expression is Pelican's own (``Content._get_intrasite_link_regex``).
    """
    regex = re.compile(
        rf"""
        (?P<markup><[^\>]+
            (?:href|src|poster|data|cite|formaction|action|content)\s*=\s*)
        (?P<quote>["\'])
        (?P<path>{pattern}(?P<value>.*?))
        (?P=quote)""",
        re.X,
    )
    return [(m.group("what"), m.group("value")) for m in regex.finditer(html)]


# --- comparing ---------------------------------------------------------------------


Token = tuple[str, ...]


def _tokens(html: str) -> list[Token]:
    reader = _Tokens()
    reader.feed(html)
    reader.close()
    reader.flush_text()
    return reader.tokens


class _Tokens(HTMLParser):
    """Start tags (attributes sorted, style normalised), comments and text
    (white space collapsed, entities resolved), in document order."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tokens: list[Token] = []
        self._text: list[str] = []

    def flush_text(self) -> None:
        text = " ".join("".join(self._text).split())
        if text:
            self.tokens.append(("text", text))
        self._text = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "tbody":
            return
        self.flush_text()
        normal = []
        for name, value in attrs:
            value = value or ""
            if name == "style":
                value = re.sub(r"\s+", "", value).rstrip(";")
            normal.append(f"{name}={value}")
        self.tokens.append(("tag", tag, *sorted(normal)))

    handle_startendtag = handle_starttag

    def handle_data(self, data: str) -> None:
        self._text.append(data)

    def handle_comment(self, data: str) -> None:
        self.flush_text()
        self.tokens.append(("comment",))

    def handle_decl(self, decl: str) -> None:
        self.flush_text()
        self.tokens.append(("declaration",))

    def handle_pi(self, data: str) -> None:
        self.flush_text()
        self.tokens.append(("declaration",))

    def unknown_decl(self, data: str) -> None:
        self.flush_text()
        self.tokens.append(("declaration",))


def _refused_in(token: Token) -> list[str]:
    """Say what in one token the allow-list refuses."""
    kind = token[0]
    if kind == "comment":
        return ["an HTML comment"]
    if kind == "declaration":
        return ["an HTML declaration"]
    if kind != "tag":
        return []
    tag = token[1]
    if tag not in TAGS:
        return [f"<{tag}>"]
    allowed = ATTRIBUTES["*"] | ATTRIBUTES.get(tag, set())
    refused = []
    for attribute in token[2:]:
        name, _, value = attribute.partition("=")
        if name in ("href", "src") and name in allowed:
            scheme = _scheme(value)
            if (scheme and scheme not in URL_SCHEMES) or (
                _attribute_filter(tag, name, value) is None
            ):
                refused.append(f"the address {value!r} in <{tag}>")
        elif name not in allowed or _attribute_filter(tag, name, value) is None:
            refused.append(f"the attribute {name} on <{tag}>")
        elif name == "style" and any(
            part.split(":", 1)[0].strip().lower() not in STYLE_PROPERTIES
            for part in value.split(";")
            if part.strip()
        ):
            refused.append(f"the style {value!r} on <{tag}>")
    return refused
