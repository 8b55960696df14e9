"""Writing a rendered thread into the built site: its pages, its comment
pages, its feed, each with its compressed twin, and no page left over from a
longer thread. Used by the plugin in a full build and by the app when it
publishes one thread (``publishing.py``).

Imports without Flask or Pelican.
"""

from __future__ import annotations

import contextlib
import gzip
from pathlib import Path

from .files import write_atomically
from .thread_model import ThreadRecord
from .thread_render import RenderedThread, comment_page_path, replace_region


def write_page(path: Path, text: str, *, twin: bool = True) -> bool:
    """Write ``text`` to ``path`` and its ``.gz`` twin, atomically, unless
    the file holds it already; tell whether it was written."""
    data = text.encode("utf-8")
    try:
        if path.read_bytes() == data:
            return False
    except FileNotFoundError:
        pass
    write_atomically(path, data, durable=False)
    if twin:
        # The bytes write_compressed gives: level 9, no timestamp.
        compressed = gzip.compress(data, compresslevel=9, mtime=0)
        write_atomically(path.with_name(path.name + ".gz"), compressed, durable=False)
    return True


def remove_comment_page(path: Path) -> bool:
    """Remove a comment page, its twin and its folder if it has one of its
    own (``comment-page-2/index.html``); tell whether there was one."""
    path.with_name(path.name + ".gz").unlink(missing_ok=True)
    try:
        path.unlink()
    except FileNotFoundError:
        return False
    if path.name == "index.html":
        with contextlib.suppress(OSError):  # something else is in it: leave it
            path.parent.rmdir()
    return True


def with_regions(output: Path, rendered: RenderedThread) -> dict[str, str] | None:
    """Return each view's article page, read from ``output``, with its
    thread's region replaced; None if a page is missing or has no region
    (a page built by a theme without one: it needs Pelican)."""
    pages = {}
    for save_as, region in rendered.regions.items():
        try:
            old = (output / save_as).read_text(encoding="utf-8")
        except FileNotFoundError:
            return None
        new = replace_region(old, region)
        if new is None:
            return None
        pages[save_as] = new
    return pages


def write_thread(
    output: Path,
    record: ThreadRecord,
    rendered: RenderedThread,
    *,
    pages: dict[str, str] | None = None,
    twins: bool = True,
) -> list[str]:
    """Write ``rendered`` into ``output``: the article pages in ``pages``
    (from ``with_regions``; the build writes its own), the comment pages,
    the feed; remove comment pages the thread no longer has. Return the
    paths written or removed."""
    changed = []
    for save_as, text in [
        *(pages or {}).items(),
        *rendered.files.items(),
        (record.feed, rendered.feed),
    ]:
        if write_page(output / save_as, text, twin=twins):
            changed.append(save_as)
    for view in record.views:
        # The page the article shows has no file of its own, and a page past
        # the last is gone: pages are numbered from 1 without gaps.
        stale = [comment_page_path(view.save_as, rendered.default_page)]
        number = rendered.count + 1
        while (output / (path := comment_page_path(view.save_as, number))).exists():
            stale.append(path)
            number += 1
        for path in stale:
            if remove_comment_page(output / path):
                changed.append(path)
    return changed
