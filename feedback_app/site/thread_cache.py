"""Rendered threads kept between full builds, by their content.

Rendering 10,000 threads is most of what comments add to a warm build
(bench/README.md); a thread's rendering depends only on its comment file,
its record (the pages that show it) and how the build renders
(``thread_render``'s code, the theme's templates, the render settings).
Those are hashed into the entry's name, so an entry is never stale: a
change to any of them names another entry. Entries the last full build did
not use are removed after it once they outnumber those it used.

Kept in ``CACHE_PATH`` (``feedback-threads/``), read when Pelican loads its
content cache (``LOAD_CONTENT_CACHE``) and written when it keeps one
(``CACHE_CONTENT``): a build that starts clean renders every thread.
Threads long enough for comment pages are not kept (their pages show the
menu, known later in the build), nor is anything during a selective build.

Imports without Flask or Pelican.
"""

from __future__ import annotations

import hashlib
import json
import os
import zlib
from collections.abc import Mapping
from dataclasses import asdict
from pathlib import Path
from typing import Any

from . import thread_model, thread_render
from .thread_model import ThreadRecord
from .thread_render import RenderedThread

FOLDER = "feedback-threads"


class ThreadCache:
    """Rendered threads in a folder, named by the hash of what made them."""

    def __init__(
        self, folder: Path | None, fingerprint: bytes, *, load: bool, save: bool
    ) -> None:
        self.folder = folder
        self.fingerprint = fingerprint
        self.load = load and folder is not None
        self.save = save and folder is not None
        self.used: set[str] = set()
        self._folders: set[Path] = set()

    @classmethod
    def for_build(
        cls, settings: Mapping[str, Any], render: Mapping[str, Any]
    ) -> ThreadCache:
        """Return the cache of a build with ``settings``, rendering with
        ``render`` (``thread_model.render_settings``)."""
        path = settings.get("CACHE_PATH")
        selective = bool(settings.get("FEEDBACK_WRITE_SELECTED"))
        return cls(
            Path(path) / FOLDER if path else None,
            fingerprint(render),
            load=bool(settings.get("LOAD_CONTENT_CACHE")) and not selective,
            save=bool(settings.get("CACHE_CONTENT")) and not selective,
        )

    def key(self, record: ThreadRecord, comment_file: bytes) -> str:
        """Return the name of the entry for ``record`` with ``comment_file``
        (the bytes of its comment file; empty for none)."""
        digest = hashlib.sha256(self.fingerprint)
        views = [view.to_json() for view in record.views]
        digest.update(json.dumps([record.page_url, record.updated, views]).encode())
        digest.update(comment_file)
        return digest.hexdigest()

    def get(self, key: str) -> RenderedThread | None:
        """Return the entry ``key``, or None."""
        if not self.load or self.folder is None:
            return None
        try:
            with open(self.folder / key[:2] / key, "rb") as fh:
                data = json.loads(zlib.decompress(fh.read()))
            rendered = RenderedThread(**data)
        except (OSError, ValueError, TypeError, zlib.error):
            return None  # none yet, or one a killed build left half written
        self.used.add(key)
        return rendered

    def put(self, key: str, rendered: RenderedThread) -> None:
        """Keep ``rendered`` as the entry ``key`` (not a thread with pages)."""
        if not self.save or self.folder is None or rendered.files:
            return
        text = json.dumps(asdict(rendered), ensure_ascii=False).encode()
        # Compressed: a tenth of the room on disk, for a fraction of a read.
        data = zlib.compress(text, 1)
        folder = self.folder / key[:2]
        if folder not in self._folders:
            folder.mkdir(parents=True, exist_ok=True)
            self._folders.add(folder)
        # Written in place, not through a temporary file: a cold build
        # writes 10,000 of them, and one a killed build left half written
        # fails zlib's check when read, which is a miss (``get``).
        with open(folder / key, "wb") as fh:
            fh.write(data)
        self.used.add(key)

    def prune(self) -> None:
        """Remove the entries this build did not use, once they outnumber
        those it did: the cache holds at most about two builds' threads,
        and a thread that comes back (an approval undone, a build of the
        site without its comments) is still there."""
        if not self.save or self.folder is None or not self.folder.is_dir():
            return
        unused = [
            entry.path
            for sub in os.scandir(self.folder)
            if sub.is_dir()
            for entry in os.scandir(sub.path)
            if entry.name not in self.used
        ]
        if len(unused) > len(self.used):
            for path in unused:
                os.unlink(path)


def fingerprint(render: Mapping[str, Any]) -> bytes:
    """Return the hash of how a build renders threads: the render settings,
    every file of the theme's template folders, this code."""
    digest = hashlib.sha256(json.dumps(render, sort_keys=True).encode())
    for module in (thread_model, thread_render):
        digest.update(Path(module.__file__ or "").read_bytes())
    for folder in render["templates"]:
        root = Path(folder)
        if not root.is_dir():
            continue
        for path in sorted(p for p in root.rglob("*") if p.is_file()):
            digest.update(str(path.relative_to(root)).encode() + b"\0")
            digest.update(path.read_bytes())
    return digest.digest()
