"""An imported post or page as a file Pelican reads: its header composed
from checked values (one line each, as the desk's are: ``post_fields``),
its body in Markdown, or in HTML where Markdown would lose something
(Pelican's HTML reader, metadata in ``<meta>`` elements, every value
escaped).

A file is named after its slug (``content/<slug>.md``, pages in
``content/pages/``) and says where it came from (``Imported_from:``, the
post's address on the old site). Importing again never overwrites a file:
the same text is "unchanged", a file the author edited since is kept and
reported; a file of the same name from elsewhere makes the import take
``<slug>-<id>``.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from pathlib import Path

from ..site.post_fields import DraftError, one_line

#: The header, in the order it is written: (Pelican's key, field).
HEADER = (
    "Title",
    "Date",
    "Modified",
    "Author",
    "Category",
    "Tags",
    "Slug",
    "Summary",
    "Status",
    "Imported_from",
)

#: What ``one_line`` may hold for each key (the desk's limits, and longer
#: ones for what old sites wrote: long titles, many tags).
_LIMITS = {
    "Summary": "summary",
    "Tags": "tags",
    "Category": "category",
    # A permalink of non-Latin words is long once percent-encoded.
    "Imported_from": "summary",
}

_IMPORTED_FROM = re.compile(
    r"^(?:Imported_from:|<meta name=\"imported_from\" content=\")\s*([^\"\n]+)",
    re.M | re.I,
)


@dataclass(frozen=True)
class PostFile:
    """A post or page ready to write: where, and what."""

    path: str  # under the content folder: "hello-world.md", "pages/about.md"
    text: str
    origin: str  # the address it had on the old site
    slug: str


def compose(header: dict[str, str], body: str, body_format: str) -> str:
    """Return the file's text: ``header`` (keys of ``HEADER``; empty values
    left out), then ``body`` as Markdown or as an HTML document.

    :raise DraftError: for a value that cannot be one line.
    """
    values = []
    for key in HEADER:
        value = header.get(key, "")
        if not value:
            continue
        try:
            value = one_line(value, _LIMITS.get(key, key.lower()))
        except DraftError as exc:
            raise DraftError(str(exc), key.lower()) from None
        values.append((key, value))
    body = body.replace("\r\n", "\n").replace("\r", "\n").strip("\n")
    if body_format == "html":
        meta = "".join(
            f'<meta name="{key.lower()}" content="{html.escape(value)}">\n'
            for key, value in values
            if key != "Title"
        )
        title = html.escape(dict(values).get("Title", ""))
        return (
            f"<html>\n<head>\n<title>{title}</title>\n{meta}</head>\n"
            f"<body>\n{body}\n</body>\n</html>\n"
        )
    lines = [f"{key}: {value}" for key, value in values]
    return "\n".join(lines) + "\n\n" + (body or " ") + "\n"


def origin_of(path: Path) -> str | None:
    """Return the ``Imported_from`` of a file in ``content/``, if any."""
    try:
        with path.open(encoding="utf-8", errors="replace") as fh:
            head = fh.read(4096)
    except OSError:
        return None
    found = _IMPORTED_FROM.search(head)
    return html.unescape(found[1].strip()) if found else None


def place(
    content: Path, folder: str, slug: str, suffix: str, origin: str, post_id: str
) -> tuple[str, bool]:
    """Return the path under ``content`` for the post from ``origin``, and
    whether a file is there already from the same origin.

    ``<slug>.<suffix>`` if free or from the same origin; else
    ``<slug>-<post_id>.<suffix>``.
    """
    prefix = f"{folder}/" if folder else ""
    for name in (f"{slug}.{suffix}", f"{slug}-{post_id}.{suffix}"):
        path = content / prefix / name
        if not path.exists():
            return prefix + name, False
        if origin_of(path) == origin:
            return prefix + name, True
    raise DraftError(
        f"{prefix}{slug}.{suffix} and {prefix}{slug}-{post_id}.{suffix} "
        "are other posts' files"
    )
