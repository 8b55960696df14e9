"""Measured what-ifs: the app and the plugin with one change each, for profiling.

Nothing here changes the project: each variant patches a copy in memory, in
the benchmark's own processes, to measure what a change would buy before
anyone makes it. ``PATCH`` (comma-separated) names the changes.

App variants (``post_load.py --app 'variants:app()'``; post_load puts bench/
on the servers' PYTHONPATH):

``flock``
    Serialise write transactions with an exclusive ``fcntl.flock`` on a file
    next to the database before ``BEGIN IMMEDIATE``. A waiting writer then
    sleeps in the kernel and wakes the moment the lock is free, instead of
    SQLite's busy handler, which sleeps 1, 2, 5, 10, 15, 20, 25, 25, 25, 50,
    50, 100 ms between retries whatever the holder does.
``normal``
    ``PRAGMA synchronous=NORMAL`` (WAL): commits no longer wait for an fsync;
    a committed transaction survives a crash of the app, not a power cut.

Build variants (``.venv/bin/python bench/variants.py build``): full builds of
the bench site, warm cache, interleaved, median of ``--runs``:

``nofeeds``   the plugin writes no comment feeds;
``hoist``     the comment feed computes ``article.url`` once per article, not
              once per comment (Pelican recomputes it on every access);
``nofsync``   ``write_atomically`` without ``fsync`` (a full build writes
              1,000 comment feeds, each fsynced).
"""

from __future__ import annotations

import argparse
import fcntl
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

PATCHES = set(filter(None, os.environ.get("PATCH", "").split(",")))


# --------------------------------------------------------------------------
# App variants


def app() -> Any:
    """Create the app (config from FEEDBACK_* variables) with ``PATCH``."""
    from sqlalchemy import event

    import feedback_app.db as db
    from feedback_app import create_app

    if "flock" in PATCHES:
        original = db.Database.write

        @contextmanager
        def write(self: Any) -> Iterator[Any]:
            lock = f"{self.engine.url.database}.writelock"
            fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)
                with original(self) as session:
                    yield session
            finally:
                fcntl.flock(fd, fcntl.LOCK_UN)
                os.close(fd)

        db.Database.write = write  # type: ignore[method-assign]

    flask_app = create_app()
    if "normal" in PATCHES:

        @event.listens_for(db.get_db(flask_app).engine, "connect")
        def _normal(dbapi_connection: Any, _record: Any) -> None:
            dbapi_connection.execute("PRAGMA synchronous=NORMAL")

    return flask_app


# --------------------------------------------------------------------------
# Build variants


def patch_plugin() -> None:
    """Patch the Pelican plugin as ``PATCH`` says (before Pelican loads it)."""
    import feedback_app.pelican_plugin as pp

    if "nofsync" in PATCHES:

        def write_atomically(path: Path, text: str) -> None:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(text)
            os.chmod(tmp, 0o644)
            os.replace(tmp, path)

        pp.write_atomically = write_atomically
    if "nofeeds" in PATCHES:
        pp.write_comment_feeds = lambda generator, writer: None
    elif "hoist" in PATCHES:
        from feedgenerator import Atom1Feed

        def write_comment_feeds(generator: Any, writer: Any) -> None:
            settings = generator.settings
            siteurl = settings.get("SITEURL", "")
            for article in generator.articles:
                path = pp.comment_feed_path(article.save_as)
                if (
                    isinstance(writer, pp.SelectiveWriter)
                    and path not in writer.selected
                ):
                    continue
                url, title = article.url, article.title
                feed = Atom1Feed(
                    title=f"Comments on “{title}”",
                    link=f"{siteurl}/{url}",
                    feed_url=f"{siteurl}/{article.comment_feed_url}",
                    description="",
                    language=settings.get("DEFAULT_LANG", "en"),
                )
                flat: list[Any] = []
                pp._flatten(article.comments, flat)
                for c in sorted(flat, key=lambda c: (c.date, c.id), reverse=True):
                    link = f"{siteurl}/{url}#comment-{c.id}"
                    feed.add_item(
                        title=f"{c.name} on “{title}”",
                        link=link,
                        description=c.html,
                        author_name=c.name,
                        pubdate=c.date,
                        unique_id=link,
                    )
                target = Path(writer.output_path) / path
                pp.write_atomically(target, feed.writeString("utf-8"))

        pp.write_comment_feeds = write_comment_feeds


def run_pelican() -> None:
    """Run Pelican's command line (sys.argv) with the plugin patched."""
    patch_plugin()
    from pelican import main as pelican_main

    pelican_main()


VARIANTS = [
    ("without comments", "without", ""),
    ("with comments", "with", ""),
    ("without, no comment feeds", "without", "nofeeds"),
    ("with, no comment feeds", "with", "nofeeds"),
    ("with, url hoisted in feeds", "with", "hoist"),
    ("with, no fsync per feed", "with", "nofsync"),
    ("with, hoisted + no fsync", "with", "hoist,nofsync"),
    ("without, no fsync per feed", "without", "nofsync"),
]


def build_variants(runs: int) -> dict[str, Any]:
    """Time warm full builds of the bench site for each variant."""
    sys.path.insert(0, str(Path(__file__).parent))
    from common import DEFAULT_SITE, PELICANCONF, ROOT, pelican_overrides, wait_quiet
    from make_site import make_site

    site = make_site(DEFAULT_SITE)
    times: dict[str, list[float]] = {name: [] for name, _, _ in VARIANTS}
    wait_quiet()
    for _ in range(runs):
        for name, comments, patch in VARIANTS:
            folder = site.no_comments if comments == "without" else site.comments
            overrides = pelican_overrides(site, comments=folder)
            cmd = [sys.executable, __file__, "pelican", "-s", str(PELICANCONF)]
            cmd += ["-o", str(site.output), "-q", "-e"]
            cmd += [f"{k}={json.dumps(v)}" for k, v in overrides.items()]
            started = time.perf_counter()
            subprocess.run(
                cmd,
                cwd=ROOT,
                env={**os.environ, "PATCH": patch},
                check=True,
                capture_output=True,
                timeout=300,
            )
            times[name].append(time.perf_counter() - started)
    subprocess.run(  # leave the site as make_site.py built it
        [
            sys.executable,
            "-m",
            "pelican",
            "-s",
            str(PELICANCONF),
            "-o",
            str(site.output),
        ]
        + ["-q", "-e"]
        + [f"{k}={json.dumps(v)}" for k, v in pelican_overrides(site).items()],
        cwd=ROOT,
        check=True,
        capture_output=True,
        timeout=300,
    )
    base = statistics.median(times["without comments"])
    print(f"{'variant':<28} {'median s':>8}  vs without comments")
    for name, values in times.items():
        m = statistics.median(values)
        print(f"{name:<28} {m:>8.2f}  {(m / base - 1) * 100:+6.1f} %")
    return times


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args and args[0] == "pelican":
        sys.argv = ["pelican", *args[1:]]
        run_pelican()
        return 0
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("what", choices=("build",))
    parser.add_argument("--runs", type=int, default=5)
    parsed = parser.parse_args(args)
    build_variants(parsed.runs)
    return 0


if __name__ == "__main__":
    sys.exit(main())
