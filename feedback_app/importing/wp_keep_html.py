"""When a WordPress post stays HTML: ``html_reasons`` says what Markdown
would lose (empty: nothing). Markdown keeps the elements of
``MARKDOWN_TAGS``, without an inline ``style``, ``align``, ``dir`` or
``lang``, without an ``id`` a link in the post points at, lists counting
from 1, code outside lists, quotes and tables, and tables with one header
row, no spanned cells, no caption and only inline content in their cells.
"""

from __future__ import annotations

from collections.abc import Iterable

from bs4 import BeautifulSoup, Tag

HEADINGS = frozenset(f"h{n}" for n in range(1, 7))
#: Elements Markdown renders as they were (with the checks below).
MARKDOWN_TAGS = HEADINGS | {
    "p", "br", "hr", "ul", "ol", "li", "blockquote", "pre", "code", "a", "img",
    "em", "i", "strong", "b", "table", "thead", "tbody", "tfoot", "tr", "th", "td",
    "figure", "figcaption", "div", "span", "section", "article", "cite", "q",
    "kbd", "samp", "abbr", "acronym", "[document]",
}  # fmt: skip
#: Elements whose content must be inline for a Markdown table cell.
_BLOCKISH = HEADINGS | {
    "p", "br", "ul", "ol", "li", "pre", "blockquote", "table", "div", "figure", "hr",
}  # fmt: skip
#: Past this nesting depth a document is imported as its text (markdownify
#: and BeautifulSoup recurse, and no editor nests so deep).
MAX_DEPTH = 120


def html_reasons(soup: BeautifulSoup) -> list[str]:
    """Why ``soup`` would lose something as Markdown (empty: it would not)."""
    reasons: dict[str, None] = {}
    targets = {
        str(a["href"])[1:]
        for a in soup.find_all("a", href=True)
        if str(a["href"]).startswith("#") and len(str(a["href"])) > 1
    }
    for element in soup.find_all(True):
        for reason in _element_reasons(element, targets):
            reasons.setdefault(reason, None)
    return list(reasons)


def _element_reasons(element: Tag, targets: set[str]) -> Iterable[str]:
    name = element.name
    if name == "font" and not element.attrs:
        pass
    elif name not in MARKDOWN_TAGS:
        yield f"<{name}>"
    if str(element.get("style") or "").strip():
        yield "inline styles"
    for attribute in ("align", "dir", "lang"):
        if element.get(attribute):
            yield f"{attribute}= attributes"
    for attribute in ("id", "name"):
        if element.get(attribute) and str(element.get(attribute)) in targets:
            yield "in-page anchors"
    if name == "ol" and (
        str(element.get("start") or "1").strip() not in ("", "1")
        or element.get("type")
        or element.has_attr("reversed")
    ):
        yield "a numbered list that does not count 1, 2, 3"
    if name == "pre":
        if element.find_parent(["li", "blockquote", "td", "th", "dd"]):
            yield "code inside a list, quote or table"
        if any(child.name not in ("code", "span") for child in element.find_all(True)):
            yield "markup inside code"
    if name == "table":
        yield from _table_reasons(element)


def _table_reasons(table: Tag) -> Iterable[str]:
    if table.find_parent(["li", "blockquote", "td", "th", "figure"]):
        yield "a table inside a list, quote, table or figure"
        return
    if table.find(["caption", "colgroup", "col"]):
        yield "a table caption or column groups"
    rows = [row for row in table.find_all("tr") if row.find_parent("table") is table]
    if not rows:
        yield "an empty table"
        return
    widths = set()
    for number, row in enumerate(rows):
        cells = row.find_all(["td", "th"], recursive=False)
        widths.add(len(cells))
        for cell in cells:
            if str(cell.get("colspan") or "1").strip() != "1" or str(
                cell.get("rowspan") or "1"
            ).strip() not in ("1", ""):
                yield "table cells spanning rows or columns"
            if cell.find(list(_BLOCKISH)):
                yield "block content in table cells"
            if number and cell.name == "th":
                yield "table headers below the first row"
        if number == 0 and any(cell.name != "th" for cell in cells):
            yield "a table without a header row"
    if len(widths) > 1:
        yield "table rows of different lengths"


def depth(soup: BeautifulSoup) -> int:
    """How deep ``soup`` nests (counted up to just past ``MAX_DEPTH``)."""
    deepest = 0
    stack: list[tuple[Tag, int]] = [(soup, 0)]
    while stack:
        element, depth = stack.pop()
        deepest = max(deepest, depth)
        if deepest > MAX_DEPTH:
            break
        stack.extend(
            (child, depth + 1) for child in element.children if isinstance(child, Tag)
        )
    return deepest
