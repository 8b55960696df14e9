"""The rendered threads a warm build keeps: used again when nothing that
made them changed, never when the comments, the theme's templates or the
settings did, and pruned of what no build uses.

Real Pelican builds of the project's content into a tmp folder, one cache.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
import zlib
from contextlib import closing
from pathlib import Path

from feedback_app.site.files import comment_file_name

from ..conftest import ROOT, build_site

ARTICLE = "2026/inside-sales-without-the-script/"
PAGE = f"output/{ARTICLE}index.html"


def cache_file(tmp: Path) -> Path:
    return tmp / "cache" / "feedback-threads.sqlite3"


def entries(tmp: Path) -> set[str]:
    with closing(sqlite3.connect(cache_file(tmp))) as db:
        return {key for (key,) in db.execute("SELECT key FROM entry")}


def comment(cid: int, name: str) -> dict[str, object]:
    return {
        "id": cid,
        "parent": None,
        "name": name,
        "website": None,
        "date": "2026-11-02T10:00:00+00:00",
        "author": False,
        "html": f"<p>Written by {name}.</p>",
    }


def write_comments(folder: Path, *names: str) -> None:
    data = {
        "version": 2,
        "article": ARTICLE,
        "comments": [comment(i + 1, n) for i, n in enumerate(names)],
    }
    (folder / comment_file_name(ARTICLE)).write_text(json.dumps(data), "utf-8")


def test_a_warm_build_uses_the_threads_it_kept_and_never_a_stale_one(
    tmp_path: Path,
) -> None:
    theme = tmp_path / "theme"
    shutil.copytree(ROOT / "theme", theme)
    comments = tmp_path / "comments"
    comments.mkdir()
    write_comments(comments, "Ana")
    extra = {"FEEDBACK_COMMENTS_PATH": str(comments), "THEME": str(theme)}
    build_site(tmp_path, extra=extra)
    first = entries(tmp_path)
    assert len(first) == 3  # one per article

    page = tmp_path / PAGE
    page.unlink()
    build_site(tmp_path, extra=extra)  # nothing changed: the same entries
    assert entries(tmp_path) == first
    assert "Written by Ana." in page.read_text("utf-8")

    # The comments change: that thread is rendered again; its old entry
    # stays while the unused ones do not outnumber the used.
    write_comments(comments, "Ana", "Ben")
    build_site(tmp_path, extra=extra)
    assert "Written by Ben." in page.read_text("utf-8")
    second = entries(tmp_path)
    assert len(second) == 4 and first < second

    # The theme's thread template changes: every thread is rendered again.
    template = theme / "templates" / "comments.html"
    template.write_text(
        template.read_text("utf-8").replace("No comments yet", "Be the first"),
        "utf-8",
    )
    build_site(tmp_path, extra=extra)
    other = tmp_path / "output/2026/follow-up-emails-that-get-answered/index.html"
    assert "Be the first" in other.read_text("utf-8")
    # Four unused, three used: the unused go.
    third = entries(tmp_path)
    assert len(third) == 3 and not third & second

    # A setting the thread is rendered with changes: rendered again.
    build_site(tmp_path, extra={**extra, "COMMENTS_FEED_SIZE": 1})
    feed = (tmp_path / f"output/{ARTICLE}comments.atom.xml").read_text("utf-8")
    assert feed.count("<entry>") == 1


def test_a_build_that_starts_clean_renders_every_thread(tmp_path: Path) -> None:
    comments = tmp_path / "comments"
    comments.mkdir()
    write_comments(comments, "Ana")
    extra = {"FEEDBACK_COMMENTS_PATH": str(comments)}
    build_site(tmp_path, extra=extra)
    # A kept entry that does not hold what its name says is never read
    # when the build loads no cache (publishconf.py's LOAD_CONTENT_CACHE).
    with closing(sqlite3.connect(cache_file(tmp_path))) as db, db:
        for key, blob in db.execute("SELECT key, data FROM entry").fetchall():
            data = json.loads(zlib.decompress(blob))
            forged = "<!-- thread -->FORGED<!-- /thread -->"
            data["regions"] = {k: forged for k in data["regions"]}
            db.execute(
                "UPDATE entry SET data = ? WHERE key = ?",
                (zlib.compress(json.dumps(data).encode()), key),
            )
    build_site(tmp_path, extra={**extra, "LOAD_CONTENT_CACHE": False})
    assert "FORGED" not in (tmp_path / PAGE).read_text("utf-8")
    assert "Written by Ana." in (tmp_path / PAGE).read_text("utf-8")


def test_a_cache_file_that_is_not_one_is_started_anew(tmp_path: Path) -> None:
    comments = tmp_path / "comments"
    comments.mkdir()
    write_comments(comments, "Ana")
    extra = {"FEEDBACK_COMMENTS_PATH": str(comments)}
    build_site(tmp_path, extra=extra)
    whole = cache_file(tmp_path).read_bytes()
    # Cut short (a disk that filled up), then not a database at all.
    for broken in (whole[: len(whole) // 2], b"not a database" * 100):
        cache_file(tmp_path).write_bytes(broken)
        (tmp_path / PAGE).unlink()
        build_site(tmp_path, extra=extra)
        assert "Written by Ana." in (tmp_path / PAGE).read_text("utf-8")
        assert len(entries(tmp_path)) == 3


def test_the_folder_of_entries_of_before_is_removed(tmp_path: Path) -> None:
    old = tmp_path / "cache" / "feedback-threads" / "ab"
    old.mkdir(parents=True)
    (old / ("ab" + "0" * 62)).write_bytes(b"an entry of before")
    build_site(tmp_path)
    assert not old.parent.exists()
    assert len(entries(tmp_path)) == 3
