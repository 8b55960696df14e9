"""The body of a WordPress post, page or comment, made ready for Pelican or
for this project's comments: what the importer calls for each
``<content:encoded>``, ``<excerpt:encoded>`` and ``<wp:comment_content>``.

A post goes through what WordPress's ``the_content`` does, in its order:
Gutenberg block comments (``<!-- wp:… -->``) are dropped (the HTML between
them is the content); ``[code]``/``[sourcecode]`` and ``[embed]`` are read
first (as WordPress's priority-8 filters do); ``wpautop`` makes the
paragraphs of a classic-editor post (never of a block post: WordPress
skips it there too); then the other shortcodes:

- ``[caption]`` → ``<figure>`` with the image and a ``<figcaption>``; as
  Markdown, the image and its caption as an italic line below it.
- ``[gallery ids="…"]`` (or ``include=``, or no ids: the post's
  ``children``) → one image a paragraph, when ``attachments`` knows the ids;
  otherwise it is dropped and the report says so.
- ``[embed]URL[/embed]`` and a URL alone on its line (oEmbed) → a link to it.
- ``[audio]`` / ``[video]`` → ``<audio controls>`` / ``<video controls>``
  with a link inside (so the post stays HTML).
- ``[[name]]`` (WordPress's escape) → the literal ``[name]``; any other
  shortcode is left as written and named in the report.

Images, media and links to files under ``uploads_url`` that are found in
``uploads_dir`` (``wp_uploads``) become ``{static}/<image_folder>/<path>``
links, and the files are listed in ``images`` for the caller to copy;
missing, unsafe (``..``, a symlink out) or elsewhere, the link is left as
it was and the report says so.

**Markdown or HTML.** A post becomes Markdown unless Markdown would lose
something, then it stays (cleaned-up) HTML, which Pelican's HTML reader
reads: any element but the plain ones (``wp_keep_html.MARKDOWN_TAGS``:
paragraphs, headings, lists, quotes, code, links, images, emphasis,
figures, simple tables) — so iframes, audio, video, definition lists,
sub/superscript, underline, strike-through…; an inline ``style``,
``align``, ``dir`` or ``lang``; an ``id`` a link in the post points at; a
list that does not count from 1; code inside a list, quote or table; a
table with spanned cells, no header row, block content in its cells or a
caption. Classes never count: the theme has no WordPress styles.
Scripts and style elements are dropped either way (reported). Curly quotes
(wptexturize) are not applied: the text stays as the author typed it.
Markdown's own characters in the text are escaped (``wp_markdown``); an
emphasis Markdown would not read as ``*…*`` stays inline ``<em>``. What
nests deeper than ``MAX_DEPTH`` elements, no editor's output, is imported
as its text.
"""

from __future__ import annotations

import bisect
import html as html_lib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from bs4 import BeautifulSoup, Comment, NavigableString

from feedback_app.importing.wp_autop import (
    expand_shortcodes,
    find_shortcode_names,
    wpautop,
)
from feedback_app.importing.wp_keep_html import MAX_DEPTH, depth, html_reasons
from feedback_app.importing.wp_markdown import (
    CommentMarkdown,
    PostMarkdown,
    escape_markdown,
)
from feedback_app.importing.wp_safety import clean_html, make_safe
from feedback_app.importing.wp_uploads import Uploads

__all__ = ["Converted", "convert_comment", "convert_post", "split_more", "wpautop"]

#: Shortcodes converted after wpautop.
SHORTCODES = frozenset({"caption", "wp_caption", "gallery", "audio", "video"})
#: Read before wpautop, as WordPress does.
EARLY_SHORTCODES = frozenset({"code", "sourcecode", "embed"})
_AUDIO = ("src", "mp3", "m4a", "ogg", "wav", "wma", "flac")
_VIDEO = ("src", "mp4", "m4v", "webm", "ogv", "wmv", "flv")
_CAPTION_IMAGE = re.compile(r"(?:<a\s[^>]*>\s*)?<img\s[^>]*>(?:\s*</a>)?", re.I)
_URL_LINE = re.compile(r"https?://[^\s<>\"]+")
_OWN_LINE_URL = re.compile(
    r"(^[ \t]*|<p(?:\s[^>]*)?>\s*)(https?://[^\s<>\"]+)([ \t]*$|\s*</p>)", re.M | re.I
)
_ESCAPED = "\ue000"  # marks a [[escaped]] shortcode until the report is made


@dataclass(frozen=True)
class Converted:
    """A converted body: its text, ``format`` ("markdown" or "html"), the
    report's lines about it, and the uploads to copy as (source file,
    path under ``content/``)."""

    text: str
    format: str
    notes: tuple[str, ...]
    images: tuple[tuple[Path, str], ...]


def split_more(html: str) -> tuple[str, str | None]:
    """Return the body without its ``<!--more-->`` marker, and the part
    before the marker (the summary), or None when there is none."""
    start = html.find("<!--more")
    end = html.find("-->", start) if start >= 0 else -1
    if end < 0:
        return html, None
    before = html[:start]
    body = (before + html[end + 3 :]).replace("<!--noteaser-->", "")
    return body, before if before.strip() else None


def convert_post(
    html: str,
    *,
    uploads_url: str,
    uploads_dir: Path | None,
    image_folder: str,
    attachments: Mapping[str, str] | None = None,
    children: Sequence[str] = (),
) -> Converted:
    """Convert a post's or page's HTML, as the export holds it.

    ``attachments`` maps attachment ids (as strings) to their file URLs,
    for galleries; ``children`` are the ids of the post's own attachments,
    for a gallery that names none.
    """
    notes: dict[str, None] = {}
    media = Uploads(uploads_url, uploads_dir, image_folder, notes)
    text = html.replace("\r\n", "\n").replace("\r", "\n").replace("\x00", "")
    blocks = "<!-- wp:" in text
    if "<!--nextpage-->" in text:
        notes.setdefault("its pages (<!--nextpage-->) are joined into one", None)
    text = _drop_block_comments(text)
    shortcodes = _Shortcodes(notes, attachments or {}, children)
    text = expand_shortcodes(
        text,
        set(EARLY_SHORTCODES),
        shortcodes.handle,
        unautop=False,
        escaped_mark=_ESCAPED,
    )
    text = _link_own_line_urls(text, notes)
    if not blocks:
        text = wpautop(text)
    text = expand_shortcodes(
        text,
        set(SHORTCODES),
        shortcodes.handle,
        unautop=not blocks,
        escaped_mark=_ESCAPED,
    )
    soup = _parse(text, notes)
    _clean(soup, notes)
    make_safe(soup, notes)
    _report_shortcodes(soup, notes)
    media.rewrite(soup)
    _drop_empty_paragraphs(soup)
    body, output_format = _render(soup, notes)
    if output_format == "html":
        body = clean_html(body)
    return Converted(
        text=body,
        format=output_format,
        notes=tuple(notes),
        images=tuple((source, dest) for dest, source in media.images.items()),
    )


def convert_comment(html: str) -> str:
    """Convert a comment's text (WordPress shows it through wpautop) to the
    Markdown ``core.rendering.render_comment`` renders: links, emphasis,
    code, quotes and lists kept, everything else as its text."""
    text = wpautop(html.replace("\r\n", "\n").replace("\r", "\n").replace("\x00", ""))
    soup = _parse(text, {})
    _clean(soup, {})
    # Also a post's summary, which Pelican renders as it is.
    make_safe(soup, {})
    try:
        text = CommentMarkdown().convert_soup(soup)
    except RecursionError:
        text = escape_markdown(" ".join(soup.get_text(" ").split()))
    return text.strip()


# --- steps ------------------------------------------------------------------


def _drop_block_comments(text: str) -> str:
    """Remove ``<!-- wp:name {…} -->`` and ``<!-- /wp:name -->``."""
    out: list[str] = []
    done = 0
    position = text.find("<!--")
    while position >= 0:
        end = text.find("-->", position + 4)
        if end < 0:
            break
        inner = text[position + 4 : end].strip()
        if inner.startswith(("wp:", "/wp:")):
            out.append(text[done:position])
            done = end + 3
        position = text.find("<!--", end + 3)
    out.append(text[done:])
    return "".join(out)


def _parse(text: str, notes: dict[str, None]) -> BeautifulSoup:
    """Parse ``text``; what no blog nests (past ``MAX_DEPTH``), or what the
    parser gives up on, is kept as its text alone."""
    try:
        soup = BeautifulSoup(text, "html.parser")
    except Exception:
        notes.setdefault("HTML that could not be parsed: imported as text", None)
        return BeautifulSoup(f"<p>{html_lib.escape(text)}</p>", "html.parser")
    if depth(soup) <= MAX_DEPTH:
        return soup
    notes.setdefault(
        f"nested more than {MAX_DEPTH} elements deep: imported as text", None
    )
    paragraphs = (html_lib.escape(line) for line in soup.get_text("\n").split("\n"))
    return BeautifulSoup(
        "".join(f"<p>{p}</p>" for p in paragraphs if p.strip()), "html.parser"
    )


def _clean(soup: BeautifulSoup, notes: dict[str, None]) -> None:
    for comment in soup.find_all(string=lambda s: isinstance(s, Comment)):
        comment.extract()
    for element in soup.find_all(["script", "style", "noscript"]):
        notes.setdefault(f"a <{element.name}> element was removed", None)
        element.decompose()


def _report_shortcodes(soup: BeautifulSoup, notes: dict[str, None]) -> None:
    for text in list(soup.find_all(string=True)):
        if "[" in text and not text.find_parent(["pre", "code"]):
            for name in find_shortcode_names(str(text).replace(_ESCAPED + "[", "")):
                notes.setdefault(
                    f"shortcode [{name}] not converted: left as text", None
                )
        if _ESCAPED in text:
            text.replace_with(NavigableString(text.replace(_ESCAPED, "")))
    for element in soup.find_all(True):
        for key, value in list(element.attrs.items()):
            if isinstance(value, str) and _ESCAPED in value:
                element[key] = value.replace(_ESCAPED, "")


def _link_own_line_urls(text: str, notes: dict[str, None]) -> str:
    """A URL alone on its line or in its paragraph is an oEmbed in
    WordPress: here, a link (not inside ``<pre>``)."""
    if "http" not in text:
        return text
    held = []
    position = text.find("<pre")
    while position >= 0:
        end = text.find("</pre>", position)
        end = len(text) if end < 0 else end
        held.append((position, end))
        position = text.find("<pre", end)
    starts = [start for start, _ in held]

    def link(match: re.Match[str]) -> str:
        index = bisect.bisect_right(starts, match.start()) - 1
        if index >= 0 and match.start() < held[index][1]:
            return match[0]
        url = html_lib.unescape(match[2])
        notes.setdefault(f"embedded media kept as a link: {url}", None)
        return match[1] + _link(url) + match[3]

    return _OWN_LINE_URL.sub(link, text)


def _drop_empty_paragraphs(soup: BeautifulSoup) -> None:
    for paragraph in soup.find_all("p"):
        if paragraph.get_text().strip() or paragraph.find(lambda t: t.name != "br"):
            continue
        paragraph.decompose()


def _render(soup: BeautifulSoup, notes: dict[str, None]) -> tuple[str, str]:
    reasons = html_reasons(soup)
    if not reasons:
        try:
            return PostMarkdown().convert_soup(soup).strip(), "markdown"
        except RecursionError:
            reasons = ["too deeply nested for the converter"]
    notes.setdefault(
        "kept as HTML (Markdown would lose " + ", ".join(reasons) + ")", None
    )
    return str(soup).strip(), "html"


# --- shortcodes -------------------------------------------------------------


class _Shortcodes:
    def __init__(
        self,
        notes: dict[str, None],
        attachments: Mapping[str, str],
        children: Sequence[str],
    ) -> None:
        self.notes = notes
        self.attachments = {str(key): value for key, value in attachments.items()}
        self.children = [str(child) for child in children]

    def handle(
        self, name: str, attributes: dict[str, str], content: str | None
    ) -> str | None:
        if name in ("code", "sourcecode"):
            return self.code(attributes, content)
        if name == "embed":
            return self.embed(attributes, content)
        if name in ("caption", "wp_caption"):
            return self.caption(attributes, content)
        if name == "gallery":
            return self.gallery(attributes)
        return self.media(name, attributes)

    def code(self, attributes: dict[str, str], content: str | None) -> str | None:
        if content is None:
            return None
        language = attributes.get("language") or attributes.get("lang") or ""
        language = language if re.fullmatch(r"[A-Za-z0-9_+#.-]{1,30}", language) else ""
        code = html_lib.escape(html_lib.unescape(content.strip("\n")), quote=False)
        code = code.replace("[", "&#91;")  # not read as shortcodes later
        css = f' class="language-{language.lower()}"' if language else ""
        return f"<pre><code{css}>{code}</code></pre>"

    def embed(self, attributes: dict[str, str], content: str | None) -> str | None:
        url = html_lib.unescape((content or attributes.get("src") or "").strip())
        if not _URL_LINE.fullmatch(url):
            return None
        self.notes.setdefault(f"embedded media kept as a link: {url}", None)
        return _link(url)

    def caption(self, attributes: dict[str, str], content: str | None) -> str | None:
        content = content or ""
        image = _CAPTION_IMAGE.search(content)
        caption = attributes.get("caption", "")
        if image and not caption:
            caption = content[image.end() :]
        if not image:
            return content
        picture = image[0]
        if re.match(r"<a\s", picture, re.I) and "</a>" not in picture.lower():
            picture += "</a>"
        return (
            f'<figure class="wp-caption">{picture}'
            f"<figcaption>{caption.strip()}</figcaption></figure>"
        )

    def gallery(self, attributes: dict[str, str]) -> str:
        ids = attributes.get("ids") or attributes.get("include") or ""
        wanted = [
            part.strip() for part in ids.split(",") if part.strip()
        ] or self.children
        excluded = {part.strip() for part in attributes.get("exclude", "").split(",")}
        wanted = [item for item in wanted if item not in excluded]
        urls = [self.attachments[item] for item in wanted if item in self.attachments]
        missing = [item for item in wanted if item not in self.attachments]
        if missing or not wanted:
            shown = ",".join(missing) if missing else "the post's own attachments"
            self.notes.setdefault(
                f"gallery images not known (attachments {shown})", None
            )
        paragraphs = "".join(
            f'<p><img src="{html_lib.escape(url)}" alt=""></p>' for url in urls
        )
        return f'<div class="gallery">{paragraphs}</div>' if urls else ""

    def media(self, name: str, attributes: dict[str, str]) -> str:
        keys = _AUDIO if name == "audio" else _VIDEO
        url = next((attributes[key] for key in keys if attributes.get(key)), "")
        if not url:
            self.notes.setdefault(f"[{name}] without a file: dropped", None)
            return ""
        extra = ""
        for key in ("poster", "width", "height") if name == "video" else ():
            if attributes.get(key):
                extra += f' {key}="{html_lib.escape(attributes[key])}"'
        source = html_lib.escape(html_lib.unescape(url))
        return f'<{name} controls src="{source}"{extra}>{_link(url)}</{name}>'


def _link(url: str) -> str:
    url = html_lib.unescape(url)
    return f'<a href="{html_lib.escape(url)}">{html_lib.escape(url, quote=False)}</a>'
