"""Rendered threads kept between full builds, by their content.

Rendering 10,000 threads is most of what comments add to a warm build
(bench/README.md); a thread's rendering depends only on its comment file,
its record (the pages that show it) and how the build renders
(``thread_render``'s code, the theme's templates, the render settings).
Those are hashed into the entry's name, so an entry is never stale: a
change to any of them names another entry. Entries the last full build did
not use are removed after it once they outnumber those it used.

Kept in ``CACHE_PATH``, in one SQLite file (``feedback-threads.sqlite3``):
a cold build writes 10,000 entries, and as 10,000 small files they cost it
seconds of file creation (bench/README.md, issue 21); as rows they are one
transaction, and a build killed half way leaves the last whole one. Read
when Pelican loads its content cache (``LOAD_CONTENT_CACHE``) and written
when it keeps one (``CACHE_CONTENT``): a build that starts clean renders
every thread. A file that is not a database of entries is started anew.
Threads long enough for comment pages are not kept (their pages show the
menu, known later in the build), nor is anything during a selective build.

Imports without Flask or Pelican.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import sqlite3
import zlib
from collections.abc import Callable, Mapping
from dataclasses import asdict
from pathlib import Path
from typing import Any

from . import i18n, thread_model, thread_render
from .thread_model import ThreadRecord
from .thread_render import RenderedThread

NAME = "feedback-threads.sqlite3"
_OLD_FOLDER = "feedback-threads"  # one file an entry, before


class ThreadCache:
    """Rendered threads in a database, by the hash of what made them."""

    def __init__(
        self, path: Path | None, fingerprint: bytes, *, load: bool, save: bool
    ) -> None:
        self.path = path
        self.fingerprint = fingerprint
        self.load = load and path is not None
        self.save = save and path is not None
        self.used: set[str] = set()
        self._new: dict[str, bytes] = {}
        self._db: sqlite3.Connection | None = None

    @classmethod
    def for_build(
        cls, settings: Mapping[str, Any], render: Mapping[str, Any]
    ) -> ThreadCache:
        """Return the cache of a build with ``settings``, rendering with
        ``render`` (``thread_model.render_settings``)."""
        path = settings.get("CACHE_PATH")
        selective = bool(settings.get("FEEDBACK_WRITE_SELECTED"))
        return cls(
            Path(path) / NAME if path else None,
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
        if not self.load:
            return None
        db = self._open(create=False)
        if db is None:
            return None
        try:
            row = db.execute("SELECT data FROM entry WHERE key = ?", (key,)).fetchone()
            if row is None:
                return None
            rendered = RenderedThread(**json.loads(zlib.decompress(row[0])))
        except (sqlite3.Error, ValueError, TypeError, zlib.error):
            return None
        self.used.add(key)
        return rendered

    def encoder(self) -> Callable[[RenderedThread], bytes | None] | None:
        """Return what makes an entry of a rendered thread (``encode``), or
        None if this build keeps none: the render pool's workers run it."""
        return encode if self.save else None

    def put(
        self, key: str, rendered: RenderedThread, entry: bytes | None = None
    ) -> None:
        """Keep ``rendered`` as the entry ``key`` (not a thread with pages),
        once ``close`` writes the build's new entries; ``entry``: its
        ``encode``, if already made."""
        if not self.save:
            return
        if entry is None:
            entry = encode(rendered)
        if entry is None:  # a thread with comment pages
            return
        self._new[key] = entry
        self.used.add(key)

    def close(self, *, prune: bool = True) -> None:
        """Write the new entries in one transaction; with ``prune``, remove
        the entries this build did not use once they outnumber those it
        did: the cache holds at most about two builds' threads, and a
        thread that comes back (an approval undone, a build of the site
        without its comments) is still there."""
        if not self.save:
            if self._db is not None:
                self._db.close()
                self._db = None
            return
        try:
            db = self._open(create=True)
            if db is None:
                return
            with db:
                db.executemany(
                    "INSERT OR REPLACE INTO entry (key, data) VALUES (?, ?)",
                    self._new.items(),
                )
                if prune:
                    keys = [k for (k,) in db.execute("SELECT key FROM entry")]
                    unused = [(k,) for k in keys if k not in self.used]
                    if len(unused) > len(self.used):
                        db.executemany("DELETE FROM entry WHERE key = ?", unused)
        except sqlite3.Error as exc:
            # A cache: the next build renders again, from a new file if
            # this one is damaged (not merely locked by another build).
            if self.path and not isinstance(exc, sqlite3.OperationalError):
                self.path.unlink(missing_ok=True)
            return
        finally:
            self._new.clear()
            if self._db is not None:
                self._db.close()
                self._db = None
        old = self.path.parent / _OLD_FOLDER if self.path else None
        if old is not None and old.is_dir():
            shutil.rmtree(old, ignore_errors=True)

    def _open(self, *, create: bool) -> sqlite3.Connection | None:
        if self._db is not None:
            return self._db
        if self.path is None or not (create or self.path.is_file()):
            return None
        try:
            self._db = _connect(self.path, create=create)
        except sqlite3.Error:
            if not create:
                return None
            self.path.unlink(missing_ok=True)  # not a cache: start anew
            self._db = _connect(self.path, create=True)
        return self._db


def encode(rendered: RenderedThread) -> bytes | None:
    """Return the entry of ``rendered``, or None for a thread with comment
    pages (never kept)."""
    if rendered.files:
        return None
    text = json.dumps(asdict(rendered), ensure_ascii=False).encode()
    # Compressed: a tenth of the room on disk, for a fraction of a read.
    return zlib.compress(text, 1)


def _connect(path: Path, *, create: bool) -> sqlite3.Connection:
    if create:
        path.parent.mkdir(parents=True, exist_ok=True)
    db = sqlite3.connect(path, timeout=30)  # ``with db``: one transaction
    try:
        db.execute("CREATE TABLE IF NOT EXISTS entry (key TEXT PRIMARY KEY, data BLOB)")
        db.execute("SELECT key, data FROM entry LIMIT 1").fetchall()
    except sqlite3.Error:
        db.close()
        raise
    return db


def fingerprint(render: Mapping[str, Any]) -> bytes:
    """Return the hash of how a build renders threads: the render settings,
    every file of the theme's template folders and of the translations'
    catalogues, this code."""
    digest = hashlib.sha256(json.dumps(render, sort_keys=True).encode())
    for module in (thread_model, thread_render, i18n):
        digest.update(Path(module.__file__ or "").read_bytes())
    for folder in [*render["templates"], str(i18n.CATALOGUES)]:
        root = Path(folder)
        if not root.is_dir():
            continue
        for path in sorted(p for p in root.rglob("*") if p.is_file()):
            digest.update(str(path.relative_to(root)).encode() + b"\0")
            digest.update(path.read_bytes())
    return digest.digest()
