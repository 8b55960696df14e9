"""WordPress's text filters, as its ``the_content`` runs them, in Python:
``wpautop`` (automatic paragraphs), ``shortcode_unautop``'s effect, and a
scanner for shortcodes (``[name attr="v"]content[/name]``, ``[[escaped]]``).

Written from the behaviour of wp-includes/formatting.php and
shortcodes.php, step by step, but so that no pattern can backtrack without
bound: every regular expression here is anchored by a literal, or starts
only at the beginning of a run it consumes, and the few searches that
could rescan the text (unclosed ``<script``, closing shortcode tags) are
done once with ``str.find`` and remembered. Pure functions of strings.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Callable

#: The block elements wpautop never wraps in ``<p>``.
_BLOCKS = (
    r"(?:table|thead|tfoot|caption|col|colgroup|tbody|tr|td|th|div|dl|dd|dt|ul|ol|li"
    r"|pre|form|map|area|blockquote|address|math|style|p|h[1-6]|hr|fieldset|legend"
    r"|section|article|aside|hgroup|header|footer|nav|figure|figcaption|details"
    r"|menu|summary)"
)
_BR_BR = re.compile(r"<br\s*/?>\s*<br\s*/?>")
_BLOCK_OPEN = re.compile(r"(<" + _BLOCKS + r"[\s/>])")
_BLOCK_CLOSE = re.compile(r"(</" + _BLOCKS + r">)")
_HR = re.compile(r"(<hr\s*?/?>)")
#: A tag, an HTML comment or a CDATA section (unterminated: to the end).
_TAG = re.compile(r"<!--.*?(?:-->|\Z)|<!\[CDATA\[.*?(?:\]\]>|\Z)|<[^>]*>?", re.S)
_NL_MARK = " <!-- wpnl --> "
# "\s*X" patterns start only where a whitespace run starts (or at X itself),
# so a long run of spaces is read once, not once per position.
_WS = r"(?<!\s)\s*"
_OPTION_BEFORE = re.compile(_WS + r"<option")
_OPTION_AFTER = re.compile(r"</option>\s*")
_OBJECT_OPEN = re.compile(r"(<object[^>]*>)\s*")
_OBJECT_CLOSE = re.compile(_WS + r"</object>")
_PARAM = re.compile(_WS + r"(</?(?:param|embed)[^>]*>)\s*")
_MEDIA_OPEN = re.compile(r"([<\[](?:audio|video)[^>\]]*[>\]])\s*")
_MEDIA_CLOSE = re.compile(_WS + r"([<\[]/(?:audio|video)[>\]])")
_SOURCE = re.compile(_WS + r"(<(?:source|track)[^>]*>)\s*")
_FIGCAPTION_OPEN = re.compile(_WS + r"(<figcaption[^>]*>)")
_FIGCAPTION_CLOSE = re.compile(r"</figcaption>\s*")
_MANY_NL = re.compile(r"\n\n+")
_PARAGRAPHS = re.compile(r"\n\s*\n")
_EMPTY_P = re.compile(r"<p>\s*</p>")
_P_IN_DIV = re.compile(r"<p>([^<]+)</(div|address|form)>")
_P_AROUND_BLOCK = re.compile(r"<p>\s*(</?" + _BLOCKS + r"[^>]*>)\s*</p>")
_P_AROUND_LI = re.compile(r"<p>(<li.+?)</p>")
_P_BLOCKQUOTE = re.compile(r"<p><blockquote([^>]*)>", re.I)
_P_BEFORE_BLOCK = re.compile(r"<p>\s*(</?" + _BLOCKS + r"[^>]*>)")
_P_AFTER_BLOCK = re.compile(r"(</?" + _BLOCKS + r"[^>]*>)\s*</p>")
_RAW_OPEN = re.compile(r"<(script|style|svg)\b", re.I)
_BR_AFTER_BLOCK = re.compile(r"(</?" + _BLOCKS + r"[^>]*>)\s*<br />")
_BR_BEFORE_BLOCK = re.compile(
    r"<br />(\s*</?(?:p|li|div|dl|dd|dt|th|pre|td|ul|ol)[^>]*>)"
)
_PRESERVED_NL = "<WPPreserveNewline />"


def wpautop(text: str) -> str:
    """Return ``text`` with WordPress's automatic paragraphs: blank lines
    separate ``<p>`` paragraphs, a single newline becomes ``<br />``, block
    elements are not wrapped, and ``<pre>`` is left as written."""
    if not text.strip():
        return ""
    text += "\n"
    text, pres = _hold_pre(text)
    text = _BR_BR.sub("\n\n", text)
    text = _BLOCK_OPEN.sub(r"\n\n\1", text)
    text = _BLOCK_CLOSE.sub(r"\1\n\n", text)
    text = _HR.sub(r"\1\n\n", text)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = _TAG.sub(lambda m: m[0].replace("\n", _NL_MARK), text)
    if "<option" in text:
        text = _OPTION_AFTER.sub("</option>", _OPTION_BEFORE.sub("<option", text))
    if "</object>" in text:
        text = _OBJECT_CLOSE.sub("</object>", _OBJECT_OPEN.sub(r"\1", text))
        text = _PARAM.sub(r"\1", text)
    if "<source" in text or "<track" in text:
        text = _MEDIA_CLOSE.sub(r"\1", _MEDIA_OPEN.sub(r"\1", text))
        text = _SOURCE.sub(r"\1", text)
    if "<figcaption" in text:
        text = _FIGCAPTION_OPEN.sub(r"\1", text)
        text = _FIGCAPTION_CLOSE.sub("</figcaption>", text)
    text = _MANY_NL.sub("\n\n", text)
    text = "".join(
        f"<p>{part.strip(chr(10))}</p>\n" for part in _PARAGRAPHS.split(text) if part
    )
    text = _EMPTY_P.sub("", text)
    text = _P_IN_DIV.sub(r"<p>\1</p></\2>", text)
    text = _P_AROUND_BLOCK.sub(r"\1", text)
    text = _P_AROUND_LI.sub(r"\1", text)
    text = _P_BLOCKQUOTE.sub(r"<blockquote\1><p>", text)
    text = text.replace("</blockquote></p>", "</p></blockquote>")
    text = _P_BEFORE_BLOCK.sub(r"\1", text)
    text = _P_AFTER_BLOCK.sub(r"\1", text)
    text = _line_breaks(text)
    text = _BR_AFTER_BLOCK.sub(r"\1", text)
    text = _BR_BEFORE_BLOCK.sub(r"\1", text)
    if text.endswith("\n</p>"):
        text = text[: -len("\n</p>")] + "</p>"
    for name, original in pres.items():
        text = text.replace(name, original)
    return text.replace(_NL_MARK, "\n").replace(_NL_MARK.strip(), "\n")


def _hold_pre(text: str) -> tuple[str, dict[str, str]]:
    """Swap each ``<pre>…</pre>`` for a placeholder, as wpautop does."""
    if "<pre" not in text:
        return text, {}
    *parts, last = text.split("</pre>")
    held: dict[str, str] = {}
    out: list[str] = []
    for part in parts:
        start = part.find("<pre")
        if start < 0:  # a stray </pre>: dropped, as WordPress drops it
            out.append(part)
            continue
        name = f"<pre wp-pre-tag-{len(held)}></pre>"
        held[name] = part[start:] + "</pre>"
        out.append(part[:start] + name)
    out.append(last)
    return "".join(out), held


def _line_breaks(text: str) -> str:
    """Each remaining newline becomes ``<br />`` (not inside script, style
    or svg, and not right after a ``<br />``)."""
    text = _preserve_raw_newlines(text)
    text = text.replace("<br>", "<br />").replace("<br/>", "<br />")
    out: list[str] = []
    done = 0
    for run in re.finditer(r"\s+", text):
        chunk = run[0]
        last_nl = chunk.rfind("\n")
        if last_nl < 0:
            continue
        # WordPress's (?<!<br />)\s*\n: a run right after <br /> starts
        # matching one character later.
        start = 1 if text.endswith("<br />", 0, run.start()) else 0
        if start > last_nl:
            continue
        out.append(text[done : run.start() + start])
        out.append("<br />\n")
        done = run.start() + last_nl + 1
    out.append(text[done:])
    return "".join(out).replace(_PRESERVED_NL, "\n")


def _preserve_raw_newlines(text: str) -> str:
    out: list[str] = []
    done = 0
    unclosed: set[str] = set()
    for opening in _RAW_OPEN.finditer(text):
        name = opening[1].lower()
        if opening.start() < done or name in unclosed:
            continue
        closing = re.compile(f"</{name}>", re.I).search(text, opening.end())
        if not closing:
            unclosed.add(name)  # no later one can close either
            continue
        end = closing.end()
        out.append(text[done : opening.start()])
        out.append(text[opening.start() : end].replace("\n", _PRESERVED_NL))
        done = end
    out.append(text[done:])
    return "".join(out)


# --- shortcodes -------------------------------------------------------------

_NAME = re.compile(r"\[(\[?)([A-Za-z0-9_][\w-]*)(?![\w-])")
_CLOSING = re.compile(r"\[/([A-Za-z0-9_][\w-]*)\]")
_ATTR = re.compile(
    r"""([\w-]+)\s*=\s*"([^"]*)"(?:\s|$)|([\w-]+)\s*=\s*'([^']*)'(?:\s|$)"""
    r"""|([\w-]+)\s*=\s*([^\s'"]+)(?:\s|$)|"([^"]*)"(?:\s|$)|'([^']*)'(?:\s|$)|(\S+)(?:\s|$)"""
)
_P_OPEN_END = re.compile(r"<p>\s*\Z")
_P_CLOSE_START = re.compile(r"\s*</p>")

#: What a handler gets: the shortcode's name, its attributes (names in
#: lower case; positional ones under "0", "1"…) and its content (None when
#: it has no closing tag). It returns the HTML to put in its place, or None
#: to leave the shortcode as written.
Handler = Callable[[str, dict[str, str], str | None], str | None]


def parse_attributes(text: str) -> dict[str, str]:
    """Return a shortcode's attributes, as shortcode_parse_atts reads them."""
    text = text.replace("\xa0", " ").replace("\u200b", " ")
    found: dict[str, str] = {}
    position = 0
    for match in _ATTR.finditer(text.strip()):
        groups = match.groups()
        for key, value in ((0, 1), (2, 3), (4, 5)):
            if groups[key]:
                found[groups[key].lower()] = groups[value]
                break
        else:
            value = next(g for g in groups[6:] if g is not None)
            found[str(position)] = value
            position += 1
    return found


def expand_shortcodes(
    text: str,
    names: set[str],
    handle: Handler,
    *,
    unautop: bool,
    escaped_mark: str = "",
) -> str:
    """Replace the shortcodes named in ``names`` by what ``handle`` returns.

    ``[[name …]]`` is WordPress's escape: it comes out as ``[name …]``,
    untouched (after ``escaped_mark``). With ``unautop``, a shortcode alone
    in its paragraph loses the ``<p>`` wpautop put around it
    (shortcode_unautop). Other bracketed text is left as it is.
    """
    closings: dict[str, list[int]] = {}
    for match in _CLOSING.finditer(text):
        closings.setdefault(match[1], []).append(match.start())
    out: list[str] = []
    done = 0
    position = text.find("[")
    while 0 <= position < len(text):
        match = _NAME.match(text, position)
        if not match or match[2] not in names:
            position = text.find("[", position + 1)
            continue
        name = match[2]
        end_of_tag = text.find("]", match.end())
        inner = text[match.end() : end_of_tag] if end_of_tag >= 0 else ""
        if end_of_tag < 0 or "[" in inner:
            position = text.find("[", position + 1)
            continue
        end, content = end_of_tag + 1, None
        if not inner.rstrip().endswith("/"):
            later = closings.get(name, [])
            index = bisect.bisect_left(later, end)
            if index < len(later):
                content = text[end : later[index]]
                end = later[index] + len(name) + 3
        escaped = match[1] == "[" and text.startswith("]", end)
        if escaped:
            out.append(text[done:position] + escaped_mark + text[position + 1 : end])
            done = end + 1
            position = text.find("[", done)
            continue
        attributes = parse_attributes(inner.rstrip().removesuffix("/"))
        replacement = handle(name, attributes, content)
        if replacement is None:
            position = text.find("[", position + 1)
            continue
        if match[1] == "[":  # "[[name]" without "]]": the extra bracket stays
            position += 1
        before = text[done:position]
        if unautop:
            opened = _P_OPEN_END.search(before[-200:])
            closed = _P_CLOSE_START.match(text, end)
            if opened and closed:
                before = before[: len(before) - len(opened[0])]
                end = closed.end()
        out.append(before + replacement)
        done = end
        position = text.find("[", done)
    out.append(text[done:])
    return "".join(out)


def find_shortcode_names(text: str) -> list[str]:
    """Names of what looks like a shortcode in ``text`` (``[name`` followed
    by ``]``, a space or ``/``), in order of first appearance; ``[[…]]`` and
    numbers (``[1]``) are not counted."""
    seen: dict[str, None] = {}
    for match in re.finditer(r"(?<!\[)\[([A-Za-z][\w-]*)(?=[\s\]/])", text):
        seen.setdefault(match[1], None)
    return list(seen)
