"""HTML to Markdown for imported WordPress content, through markdownify,
and the rule for when a post stays HTML.

Two converters, both subclasses of markdownify's:

- ``PostMarkdown``: for Pelican's Markdown reader (Python-Markdown with
  ``extra``, ``codehilite`` and ``meta``). Nested lists are indented by four
  spaces (Python-Markdown needs four), code blocks are fenced with a fence
  longer than any run of backticks inside and carry their language,
  captions become an italic line under the image, URLs with spaces or
  brackets are percent-quoted.
- ``CommentMarkdown``: for the comment renderer (CommonMark, no images,
  headings or tables): links, emphasis, code, quotes and lists are kept, the
  rest becomes its text.

Text is escaped for both dialects at once (``escape_markdown``): what only
a backslash escapes in both (``\\ ` * _ [ ] { }``, a leading ``# > - +``,
``1.``), what neither escapes as a numeric character reference (a line of
``=``, a leading ``:`` or ``~~~``), and ``<`` or ``&`` that would start a
tag or an entity as ``&lt;`` / ``&amp;``.
"""

from __future__ import annotations

import re
from urllib.parse import quote

from bs4 import NavigableString, Tag
from markdownify import (
    ATX,
    SPACES,
    MarkdownConverter,
    chomp,
    should_remove_whitespace_inside,
    should_remove_whitespace_outside,
)

from feedback_app.importing.wp_keep_html import HEADINGS

_INLINE = re.compile(r"([\\`*_\[\]{}])")
_TAGLIKE = re.compile(r"<(?=[A-Za-z/!?])")
_ENTITYLIKE = re.compile(r"&(?=#|[A-Za-z0-9])")
_LINE_START = re.compile(
    r"^(\s*)(?:([#>+-])|(\d{1,9})([.)])(?=\s|$)|(=)(?==*\s*$)|(~)(?=~~)|(:)(?=\s|$))"
)
_LANGUAGE = re.compile(r"(?:^|\s)(?:language-|lang-|brush:\s*)([A-Za-z0-9_+#.-]{1,30})")
_URL_UNSAFE = re.compile(r"[\s()<>\"'\\`]")
_BACKTICKS = re.compile(r"`{3,}")
_SPACES = re.compile(r"[\t\n\r\f ]{2,}|[\t\n\r\f]")


def escape_markdown(text: str, *, heading: bool = False, table: bool = False) -> str:
    """Return ``text`` so that Python-Markdown and CommonMark both show it as
    written. ``text`` is a fragment that may start a line."""
    if not text:
        return ""
    text = _ENTITYLIKE.sub("&amp;", text)
    text = _TAGLIKE.sub("&lt;", text)
    text = _INLINE.sub(r"\\\1", text)
    if heading:  # Python-Markdown drops a heading's closing hashes
        text = text.replace("#", r"\#")
    text = _LINE_START.sub(_escape_line_start, text)
    if table:
        text = text.replace("|", r"\|")
    return text


def _escape_line_start(match: re.Match[str]) -> str:
    space, mark, digits, dot, equals, tilde, colon = match.groups()
    if mark:
        return f"{space}\\{mark}"
    if digits:
        return f"{space}{digits}\\{dot}"
    if equals:
        return f"{space}&#61;"
    if tilde:
        return f"{space}&#126;"
    if colon:
        return f"{space}&#58;"
    return match[0]


def markdown_url(url: str) -> str:
    """``url`` as it can stand in ``[text](url)``: spaces, brackets, quotes
    and backticks (code spans are read before links) percent-encoded."""
    return _URL_UNSAFE.sub(lambda m: quote(m[0], safe=""), url.strip())


def code_language(element: Tag) -> str:
    """The language a ``<pre>`` names in its class (``language-x``,
    ``lang-x``, SyntaxHighlighter's ``brush: x``) or its ``<code>``'s."""
    for candidate in (element, element.find("code")):
        if isinstance(candidate, Tag):
            classes = candidate.get("class") or []
            joined = " ".join(classes) if isinstance(classes, list) else str(classes)
            match = _LANGUAGE.search(
                joined + " " + str(candidate.get("data-lang") or "")
            )
            if match:
                return match[1].lower()
            if candidate.get("data-lang"):
                raw = str(candidate["data-lang"])
                if re.fullmatch(r"[A-Za-z0-9_+#.-]{1,30}", raw):
                    return raw.lower()
    return ""


class PostMarkdown(MarkdownConverter):
    """markdownify, set up for Pelican's Python-Markdown."""

    def __init__(self, **options: object) -> None:
        options = {
            "heading_style": ATX,
            "bullets": "-",
            "autolinks": False,
            "newline_style": SPACES,
            "escape_asterisks": False,
            "escape_underscores": False,
            "escape_misc": False,
            **options,
        }
        super().__init__(**options)
        self._numbers: dict[int, dict[int, int]] = {}

    def process_text(
        self, el: NavigableString, parent_tags: set[str] | None = None
    ) -> str:
        """A text's words, escaped: a run of white space is one space (as
        HTML shows it) outside ``<pre>``, and none after a ``<br>``."""
        parent_tags = parent_tags or set()
        text = str(el)
        if "pre" not in parent_tags:
            text = _SPACES.sub(" ", text)
            previous = el.previous_sibling
            if isinstance(previous, Tag) and previous.name == "br":
                text = text.lstrip()
        if "_noformat" not in parent_tags:
            text = self.escape(text, parent_tags)
        if should_remove_whitespace_outside(el.previous_sibling) or (
            should_remove_whitespace_inside(el.parent) and not el.previous_sibling
        ):
            text = text.lstrip(" \t\r\n")
        if should_remove_whitespace_outside(el.next_sibling) or (
            should_remove_whitespace_inside(el.parent) and not el.next_sibling
        ):
            text = text.rstrip()
        return text

    def escape(self, text: str, parent_tags: set[str]) -> str:
        return escape_markdown(
            text,
            heading=bool(HEADINGS & parent_tags),
            table=bool({"td", "th"} & parent_tags),
        )

    #: What emphasis becomes where ``*`` would not be read as emphasis.
    raw_emphasis = True

    def convert_b(self, el: Tag, text: str, parent_tags: set[str]) -> str:
        return self._emphasis(el, text, parent_tags, "**", "strong", {"b", "strong"})

    convert_strong = convert_b

    def convert_em(self, el: Tag, text: str, parent_tags: set[str]) -> str:
        return self._emphasis(el, text, parent_tags, "*", "em", {"em", "i"})

    def _emphasis(
        self,
        el: Tag,
        text: str,
        parent_tags: set[str],
        mark: str,
        tag: str,
        same: set[str],
    ) -> str:
        if not self.raw_emphasis:  # CommonMark reads nested runs its own way
            same = {"b", "strong", "em", "i"}
        if "_noformat" in parent_tags or same & parent_tags:  # "****" shows as stars
            return text
        prefix, suffix, text = chomp(text)
        if not text:
            return prefix + suffix
        if _flanks(text, _char_before(el, prefix), _char_after(el, suffix)):
            return f"{prefix}{mark}{text}{mark}{suffix}"
        if self.raw_emphasis:  # Python-Markdown passes inline HTML through
            return f"{prefix}<{tag}>{text}</{tag}>{suffix}"
        return prefix + text + suffix

    convert_i = convert_em

    def convert_a(self, el: Tag, text: str, parent_tags: set[str]) -> str:
        if "_noformat" in parent_tags:
            return text
        prefix, suffix, text = chomp(text)
        href = str(el.get("href") or "").strip()
        if not text or not href:
            return prefix + text + suffix
        return f"{prefix}[{text}]({markdown_url(href)}{_title(el)}){suffix}"

    def convert_img(self, el: Tag, text: str, parent_tags: set[str]) -> str:
        alt = escape_markdown(" ".join(str(el.get("alt") or "").split()))
        src = str(el.get("src") or "").strip()
        if not src:
            return alt
        return f"![{alt}]({markdown_url(src)}{_title(el)})"

    def convert_li(self, el: Tag, text: str, parent_tags: set[str]) -> str:
        text = (text or "").strip()
        if not text:
            return "\n"
        parent = el.parent
        if parent is not None and parent.name == "ol":
            numbers = self._numbers.get(id(parent))
            if numbers is None:
                items = parent.find_all("li", recursive=False)
                numbers = self._numbers[id(parent)] = {
                    id(li): n for n, li in enumerate(items)
                }
            bullet = f"{numbers.get(id(el), 0) + 1}."
        else:
            bullet = "-"
        first, *rest = text.split("\n")
        lines = [first, *("    " + line if line.strip() else "" for line in rest)]
        return (bullet + " ").ljust(4) + "\n".join(lines) + "\n"

    def convert_list(self, el: Tag, text: str, parent_tags: set[str]) -> str:
        converted = super().convert_list(el, text, parent_tags)
        if self.list_separator and "li" not in parent_tags:
            previous = _previous_block(el)
            if previous is not None and previous.name in ("ul", "ol"):
                # Python-Markdown joins a list to the one before it.
                converted = "\n\n" + self.list_separator + converted
        return converted

    convert_ul = convert_list
    convert_ol = convert_list
    list_separator = "<!-- -->"

    def convert_pre(self, el: Tag, text: str, parent_tags: set[str]) -> str:
        text = text.strip("\n")
        if not text.strip():
            return ""
        longest = max((len(run) for run in _BACKTICKS.findall(text)), default=2)
        fence = "`" * (longest + 1)
        return f"\n\n{fence}{code_language(el)}\n{text}\n{fence}\n\n"

    def convert_figure(self, el: Tag, text: str, parent_tags: set[str]) -> str:
        text = text.strip()
        return f"\n\n{text}\n\n" if text else ""

    def convert_figcaption(self, el: Tag, text: str, parent_tags: set[str]) -> str:
        lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
        return "\n\n_" + "  \n".join(lines) + "_\n\n" if lines else ""


class CommentMarkdown(PostMarkdown):
    """markdownify for the comment renderer: what it does not render (images,
    headings, tables, rules, strike-through) becomes plain text."""

    raw_emphasis = False
    list_separator = ""

    def convert_img(self, el: Tag, text: str, parent_tags: set[str]) -> str:
        return escape_markdown(" ".join(str(el.get("alt") or "").split()))

    def convert_hN(self, n: int, el: Tag, text: str, parent_tags: set[str]) -> str:
        return self.convert_p(el, text, parent_tags)

    def convert_hr(self, el: Tag, text: str, parent_tags: set[str]) -> str:
        return "\n\n"

    def convert_tr(self, el: Tag, text: str, parent_tags: set[str]) -> str:
        return "\n\n" + text.strip() + "\n\n"

    def convert_td(self, el: Tag, text: str, parent_tags: set[str]) -> str:
        return " " + text.strip() + " "

    convert_th = convert_td

    def convert_table(self, el: Tag, text: str, parent_tags: set[str]) -> str:
        return "\n\n" + text.strip() + "\n\n"

    def convert_figcaption(self, el: Tag, text: str, parent_tags: set[str]) -> str:
        return self.convert_p(el, text, parent_tags)

    def convert_del(self, el: Tag, text: str, parent_tags: set[str]) -> str:
        return text

    convert_s = convert_del

    def escape(self, text: str, parent_tags: set[str]) -> str:
        return escape_markdown(text)


def _flanks(text: str, before: str, after: str) -> bool:
    """Whether ``*text*`` between ``before`` and ``after`` is emphasis by
    CommonMark's flanking rules (the stricter reader of the two)."""
    first, last = text[0], text[-1]
    opens = not first.isspace() and (
        not _punctuation(first)
        or not before
        or before.isspace()
        or _punctuation(before)
    )
    closes = not last.isspace() and (
        not _punctuation(last) or not after or after.isspace() or _punctuation(after)
    )
    return opens and closes


def _punctuation(char: str) -> bool:
    return not char.isalnum() and not char.isspace()


def _char_before(el: Tag, prefix: str) -> str:
    if prefix:
        return prefix[-1]
    sibling = el.previous_sibling
    text = sibling.get_text() if isinstance(sibling, Tag) else str(sibling or "")
    # Markup around a neighbour ends in punctuation: count it as such.
    return "*" if isinstance(sibling, Tag) and text else text[-1:]


def _char_after(el: Tag, suffix: str) -> str:
    if suffix:
        return suffix[0]
    sibling = el.next_sibling
    text = sibling.get_text() if isinstance(sibling, Tag) else str(sibling or "")
    return "*" if isinstance(sibling, Tag) and text else text[:1]


def _previous_block(el: Tag) -> Tag | None:
    sibling = el.previous_sibling
    while sibling is not None:
        if isinstance(sibling, Tag) or str(sibling).strip():
            return sibling if isinstance(sibling, Tag) else None
        sibling = sibling.previous_sibling
    return None


def _title(el: Tag) -> str:
    title = " ".join(str(el.get("title") or "").split())
    return f' "{title.replace(chr(34), "&quot;")}"' if title else ""
