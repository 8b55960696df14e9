"""Relative links from an article or page to a file of the content folder,
for the Pelican plugin: ``![chart](images/chart.png)`` keeps working
under the site's ``/YYYY/slug/`` addresses.

Pelican resolves ``{static}`` links, but a plain relative ``images/x.png``
is left for the browser to resolve against the page's address, which was
the site's root under Pelican's default flat ``slug.html`` layout and is
``/2026/slug/`` here. So each relative ``src``, ``href`` and ``poster``
value that names an existing file of the content folder becomes a
``{static}`` link to it (``{filename}`` for another article's or page's
source, ``[next](part-2.md)``) before Pelican reads the links: Pelican
then copies the file, or finds the article, and writes its address. A path
is looked for beside the source file first, then from the content folder's
root (where the flat layout sent it); a path that names no file inside the
content folder is left as the author wrote it.

Links are found as Pelican finds its own ``{static}`` links
(``Content._get_intrasite_link_regex``): a quoted attribute value inside a
tag. Posts written in the desk are not touched: their links are the
desk's (``content_guard``).

Imports without Flask (Pelican loads it on every build).
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from pelican.contents import Article, Page

from .post_markup import DESK_FOLDER

#: Sources Pelican reads as articles and pages: linked with ``{filename}``.
SOURCE_SUFFIXES = frozenset({".md", ".markdown", ".mkd", ".mdown", ".rst"})
SOURCE_SUFFIXES |= {".html", ".htm"}

LINK = re.compile(
    r"""(?P<markup><[^>]+\s(?:src|href|poster)\s*=\s*)
        (?P<quote>["'])(?P<value>[^"'<>]*?)(?P=quote)""",
    re.X,
)


def content_file(root: Path, source_dir: str, value: str) -> str | None:
    """Return the path, from the content folder ``root``, of the file the
    relative link ``value`` names from a source in ``source_dir``, or None
    when it is no relative link or names no file there."""
    parts = urlsplit(value)
    if parts.scheme or parts.netloc or not parts.path:
        return None
    path = unquote(parts.path)
    if path.startswith(("/", "{", "|")) or "\\" in path:
        return None
    resolved_root = root.resolve()
    for base in (root / source_dir, root):
        candidate = (base / path).resolve()
        if candidate.is_file() and candidate.is_relative_to(resolved_root):
            return candidate.relative_to(resolved_root).as_posix()
    return None


def link_content_files(content: Any) -> None:
    """Make each relative link of an article or page to a file of the
    content folder a ``{static}`` link (``content_object_init``)."""
    if not isinstance(content, Article | Page) or not content._content:
        return
    source = content.relative_source_path or ""
    if Path(source).as_posix().startswith(f"{DESK_FOLDER}/"):
        return
    root = Path(content.settings["PATH"])
    source_dir = os.path.dirname(source)

    def replace(match: re.Match[str]) -> str:
        value = match.group("value")
        target = content_file(root, source_dir, value)
        if target is None:
            return match.group(0)
        rest = value[len(urlsplit(value).path) :]  # ?query and #fragment
        what = "filename" if Path(target).suffix in SOURCE_SUFFIXES else "static"
        quote = match.group("quote")
        link = f"{{{what}}}/{target}{rest}"
        return f"{match.group('markup')}{quote}{link}{quote}"

    content._content = LINK.sub(replace, content._content)
