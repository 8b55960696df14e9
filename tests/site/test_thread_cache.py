"""The rendered threads a warm build keeps: used again when nothing that
made them changed, never when the comments, the theme's templates or the
settings did, and pruned of what no build uses.

Real Pelican builds of the project's content into a tmp folder, one cache.
"""

from __future__ import annotations

import json
import shutil
import zlib
from pathlib import Path

from feedback_app.site.files import comment_file_name

from ..conftest import ROOT, build_site

ARTICLE = "2026/inside-sales-without-the-script/"
PAGE = f"output/{ARTICLE}index.html"


def entries(tmp: Path) -> set[str]:
    return {
        p.name for p in (tmp / "cache" / "feedback-threads").rglob("*") if p.is_file()
    }


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
    for path in (tmp_path / "cache" / "feedback-threads").rglob("*"):
        if path.is_file():
            data = json.loads(zlib.decompress(path.read_bytes()))
            forged = "<!-- thread -->FORGED<!-- /thread -->"
            data["regions"] = {k: forged for k in data["regions"]}
            path.write_bytes(zlib.compress(json.dumps(data).encode()))
    build_site(tmp_path, extra={**extra, "LOAD_CONTENT_CACHE": False})
    assert "FORGED" not in (tmp_path / PAGE).read_text("utf-8")
    assert "Written by Ana." in (tmp_path / PAGE).read_text("utf-8")


def test_an_entry_a_killed_build_left_half_written_is_rendered_again(
    tmp_path: Path,
) -> None:
    comments = tmp_path / "comments"
    comments.mkdir()
    write_comments(comments, "Ana")
    extra = {"FEEDBACK_COMMENTS_PATH": str(comments)}
    build_site(tmp_path, extra=extra)
    for path in (tmp_path / "cache" / "feedback-threads").rglob("*"):
        if path.is_file():
            path.write_bytes(path.read_bytes()[: len(path.read_bytes()) // 2])
    (tmp_path / PAGE).unlink()
    build_site(tmp_path, extra=extra)
    assert "Written by Ana." in (tmp_path / PAGE).read_text("utf-8")
