"""Writing the files the site is built from and made of, atomically.

Kept apart from the Pelican plugin so that the app's workers can write
comment files and drafts without importing Pelican.
"""

from __future__ import annotations

import gzip
import os
import posixpath
import tempfile
from collections.abc import Iterable
from pathlib import Path
from urllib.parse import quote


def comment_feed_path(save_as: str) -> str:
    """Return the output path of an article's comment feed."""
    folder, name = posixpath.split(save_as)
    if name == "index.html":
        return posixpath.join(folder, "comments.atom.xml")
    return posixpath.splitext(save_as)[0] + ".comments.atom.xml"


def comment_file_name(page_url: str) -> str:
    """Return the name of the file holding the published comments of the
    article at ``page_url`` (Pelican's site-relative ``article.url``).

    Percent-encoding every character but letters, digits and ``_.-~`` is
    one-to-one, so two articles with the same slug in different years get
    two files, and no URL can name a file outside the folder (``/`` becomes
    ``%2F``): ``2026/inside-sales/`` is ``2026%2Finside-sales%2F.json``.
    Sites from before this kept ``<slug>.json``; the plugin still reads
    those (``build_comments.comment_file``).
    """
    return quote(page_url, safe="") + ".json"


def write_atomically(path: Path, text: str | bytes, *, durable: bool = True) -> None:
    """Replace ``path`` with ``text`` (UTF-8 if a str) so that readers see old
    or new, never half.

    ``durable`` also waits for the disk: for data that exists nowhere else
    (comment files, the site index), not for pages a build can make again.
    """
    data = text.encode("utf-8") if isinstance(text, str) else text
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            if durable:
                fh.flush()
                os.fsync(fh.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


def write_if_changed(path: Path, text: str) -> None:
    """Write a built file atomically, unless it already holds ``text``.

    A full build rewrites every comment feed; most are unchanged, and reading
    one costs far less than replacing it.
    """
    try:
        with open(path, encoding="utf-8") as fh:
            if fh.read() == text:
                return
    except FileNotFoundError:
        pass
    write_atomically(path, text, durable=False)


#: What a built site gets a compressed twin of, for nginx's gzip_static.
COMPRESSED = (".html", ".xml", ".css", ".js", ".json", ".svg", ".txt")


def link_unchanged_twins(paths: Iterable[Path], output: Path, live: Path) -> list[Path]:
    """Give each of ``paths`` (files of a new build in ``output``) that is
    the same as its file in the build ``live`` that build's ``.gz`` twin, as
    a hard link (twins are only ever replaced, never changed in place);
    return the others, which need compressing.

    Reading two files costs far less than compressing one at level 9, and a
    full build changes few of a big site's pages.
    """
    rest = []
    for path in paths:
        twin = path.with_name(path.name + ".gz")
        old = live / path.relative_to(output)
        old_twin = old.with_name(old.name + ".gz")
        try:
            if not twin.exists() and old.read_bytes() == path.read_bytes():
                os.link(old_twin, twin)
                continue
        except OSError:
            pass  # no such file or twin there, or another file system
        rest.append(path)
    return rest


def write_compressed(paths: Iterable[Path]) -> int:
    """Write ``<file>.gz`` beside each of ``paths`` that has changed since;
    return how many were written. nginx then sends the twin as it is
    (``gzip_static``) instead of compressing every answer again."""
    written = 0
    for path in paths:
        twin = path.with_name(path.name + ".gz")
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            twin.unlink(missing_ok=True)
            continue
        try:
            if gzip.decompress(twin.read_bytes()) == data:
                continue  # the same page again: most of a full build
        except (FileNotFoundError, OSError, EOFError):
            pass
        # mtime 0: the same page always gives the same bytes.
        compressed = gzip.compress(data, compresslevel=9, mtime=0)
        write_atomically(twin, compressed, durable=False)
        written += 1
    return written
