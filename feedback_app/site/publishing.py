"""Publishing approved comments: the JSON files, then the pages that show them.

When comments of an article change state, ``Publisher.publish(page_urls)``
writes the article's file in ``COMMENTS_PATH``, named after its URL
(``files.comment_file_name``: ``2026%2Finside-sales%2F.json``), from the
database (approved comments only, public fields only; an older
``<slug>.json`` of the same article goes, once the new file is there), then
the pages those files feed: the thread's region of the article's page and of
each of its translations', its comment pages, its comment feed, each with
its ``.gz`` twin, written atomically. The app renders them itself with the
theme's templates and the settings the last build recorded
(``thread_render.py``), the same bytes a full build writes, in time that
does not grow with the site. Only a page without a thread region (a theme
without one) is rebuilt by Pelican, with the plugin's selective writer.

Requests that arrive while a publish runs are coalesced: one background
thread per process takes every article asked for so far and publishes them in
one run. One writer at a time changes the site (``lock.publish_lock``): a
thread's publishing waits for a full build (``build_site``: a new folder,
then one switch, ``live_site.py``) to go live and then writes into the new
site, so nothing approved during a build is lost; each run writes the
newest state, so the order does not matter.

For sites whose static files are served elsewhere, ``PUBLISH_COMMAND`` (an
rsync to a web root, a bucket sync, ...) runs after every rebuild, still
under the lock, so two copies never interleave either.
"""

from __future__ import annotations

import json
import logging
import os
import shlex
import subprocess  # nosec B404
import sys
import threading
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from flask import Flask, current_app

from ..core.db import get_db
from . import live_site
from .comment_sync import UnknownComments, unknown_ids
from .contract import COMMENT_FILE_VERSION
from .files import comment_file_name, write_atomically
from .index import Site, site_index
from .lock import PublishError, publish_lock
from .thread_files import with_regions, write_thread
from .thread_model import comment_file, comment_rows
from .threads import published_comments

logger = logging.getLogger(__name__)


class PublishCommandError(PublishError):
    """Raised when the site was built but ``PUBLISH_COMMAND`` failed."""


class Publisher:
    """Writes comment files and rebuilds the affected pages, coalescing."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self._pending: set[str] = set()
        self._busy = False
        self._condition = threading.Condition()
        self._thread: threading.Thread | None = None
        self.runs = 0  # how many times this process published
        self.builds = 0  # how many of them needed a Pelican run
        self.last_error: str | None = None

    def publish(
        self,
        page_urls: Iterable[str],
        *,
        wait: bool = False,
        drop_unknown: bool = False,
    ) -> None:
        """Publish the comments of the articles at ``page_urls`` (their
        site-relative URLs): now if ``wait``, else soon.

        An article whose file shows a comment the database never knew (a
        new or restored database) is left as it is, unless ``drop_unknown``.

        :raise UnknownComments: (``wait``) naming them, the others published.
        """
        page_urls = set(page_urls)
        if not page_urls:
            return
        if wait:
            self._publish_now(page_urls, drop_unknown=drop_unknown)
            return
        with self._condition:
            self._pending |= page_urls
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self._work, name="comment-publisher", daemon=True
                )
                self._thread.start()
            self._condition.notify_all()

    def wait_idle(self, timeout: float = 30.0) -> bool:
        """Wait until nothing is pending or running; tell whether it is so."""
        deadline = time.monotonic() + timeout
        with self._condition:
            while self._pending or self._busy:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._condition.wait(left)
        return True

    def _work(self) -> None:
        while True:
            with self._condition:
                while not self._pending:
                    # A publish() may add articles between the wait's timeout
                    # and its taking the lock back: look again before ending.
                    if not self._condition.wait(timeout=60) and not self._pending:
                        self._thread = None  # idle for a minute: let it end
                        return
                page_urls, self._pending = self._pending, set()
                self._busy = True
            try:
                self._publish_now(page_urls)
            except Exception:
                logger.exception("publishing comments of %s failed", sorted(page_urls))
            finally:
                with self._condition:
                    self._busy = False
                    self._condition.notify_all()

    def _publish_now(self, page_urls: set[str], *, drop_unknown: bool = False) -> None:
        config = self.app.config
        with publish_lock(self.app):
            folder = Path(config["COMMENTS_PATH"])
            site = site_index(self.app).current()
            # What the pages show now: the comment pages that stay the same
            # are not rendered again.
            previous = {u: _previous_rows(folder, u) for u in sorted(page_urls)}
            with get_db(self.app).read() as session:
                threads = {u: published_comments(session, u) for u in previous}
                unknown = {} if drop_unknown else unknown_ids(session, previous)
            for page_url in unknown:
                del threads[page_url]
            for page_url, rows in threads.items():
                write_comment_file(folder, page_url, rows)
                article = site.articles.get(page_url)
                if article is not None and f"{article.slug}.json" != (
                    comment_file_name(page_url)  # ARTICLE_URL = "{slug}"
                ):
                    _retire_slug_file(folder, article.slug)
            self.runs += 1
            if config["COMMENTS_REBUILD"]:
                slow = [
                    u
                    for u, rows in threads.items()
                    if not self._write(site, u, rows, previous[u])
                ]
                if slow:
                    self.rebuild(slow)
                elif any(u in site.articles for u in threads):
                    run_publish_command(self.app)
            if unknown:
                raise UnknownComments(unknown)

    def _write(
        self,
        site: Site,
        page_url: str,
        rows: list[dict[str, Any]],
        previous: list[dict[str, Any]] | None,
    ) -> bool:
        """Write the pages of the thread at ``page_url`` without Pelican; tell
        whether it could (False: its pages need a Pelican run)."""
        article = site.articles.get(page_url)
        if article is None:
            return True  # not on the site: its file is all there is
        renderer = site_index(self.app).renderer()
        if article.thread is None or renderer is None:
            return False  # an index from before threads were recorded
        rendered = renderer.render(article.thread, rows, previous)
        output = Path(self.app.config["OUTPUT_PATH"])
        pages = with_regions(output, rendered)
        if pages is None:
            return False
        twins = bool(renderer.settings.get("FEEDBACK_GZIP", True))
        written = write_thread(
            output, article.thread, rendered, pages=pages, twins=twins
        )
        logger.info("published the thread of %s: %s", page_url, ", ".join(written))
        return True

    def rebuild(self, page_urls: Iterable[str]) -> None:
        """Rebuild the pages of the articles at ``page_urls`` (those the site
        index knows).

        :raise PublishError: if Pelican fails.
        """
        page_urls = sorted(set(page_urls))
        site = site_index(self.app).current()
        selected: list[str] = []
        for page_url in page_urls:
            article = site.articles.get(page_url)
            if article is not None:
                selected += article.outputs  # as the build recorded them
        if not selected:
            return
        run_pelican(self.app, selected, page_urls=page_urls)
        self.builds += 1
        run_publish_command(self.app)


def write_comment_file(
    folder: Path, page_url: str, comments: list[dict[str, Any]]
) -> None:
    """Write the published comments of the article at ``page_url``, or
    remove its file if none."""
    path = folder / comment_file_name(page_url)
    if not comments:
        path.unlink(missing_ok=True)
        return
    text = json.dumps(
        {"version": COMMENT_FILE_VERSION, "article": page_url, "comments": comments},
        indent=1,
        ensure_ascii=False,
    )
    write_atomically(path, text + "\n")


def _previous_rows(folder: Path, page_url: str) -> list[dict[str, Any]] | None:
    """Return the comments of the article's file as it is, before it is
    written again; None if it cannot be read (every page is rendered)."""
    try:
        return comment_rows(comment_file(str(folder), page_url), page_url)
    except (OSError, ValueError, KeyError):
        return None


def _retire_slug_file(folder: Path, slug: str) -> None:
    """Remove ``<slug>.json``, an article's file from before files were named
    by URL, once its own file (or its having no comments) replaces it.

    Only a file in the old form (it names the slug as its article) goes;
    the build reads it only for an article whose slug no other shares.
    """
    path = folder / f"{slug}.json"
    try:
        with open(path, encoding="utf-8") as fh:
            old = json.load(fh)
    except (OSError, ValueError):
        return
    if isinstance(old, dict) and old.get("article") == slug:
        path.unlink(missing_ok=True)


def run_pelican(
    app: Flask, selected: list[str] | None = None, page_urls: list[str] | None = None
) -> None:
    """Run Pelican with the app's settings: only the ``selected`` paths, into
    the live site, if given; else the whole site, into a new folder that
    becomes the live site once it is whole (``live_site.new_build``). The
    caller holds ``publish_lock``.

    :raise PublishError: if Pelican fails, or outlasts ``BUILD_TIMEOUT``, or
        a whole site cannot be made the live one.
    """
    config = app.config
    extra: dict[str, Any] = {
        # Never wipe the site for a partial build, and always use the cache.
        "DELETE_OUTPUT_DIRECTORY": False,
        "CACHE_CONTENT": True,
        "LOAD_CONTENT_CACHE": True,
        "FEEDBACK_COMMENTS_PATH": config["COMMENTS_PATH"],
        "FEEDBACK_SITE_INDEX": config["SITE_INDEX_PATH"],
        # The app's own files (database, secret key) never reach the site.
        "FEEDBACK_PRIVATE_PATHS": [app.instance_path],
        **config["PELICAN_EXTRA_SETTINGS"],
    }
    started = time.monotonic()
    if selected:
        extra["FEEDBACK_WRITE_SELECTED"] = selected
        extra["FEEDBACK_SELECTED_URLS"] = page_urls or []
        # Pelican's static copier rewrites files in place: readers fetching
        # the stylesheet during an approval could get half of it.
        extra["THEME_STATIC_PATHS"] = []
        _run_pelican(app, config["OUTPUT_PATH"], extra)
    else:
        _build_whole_site(app, extra)
    logger.info(
        "rebuilt %s in %.2f s",
        ", ".join(selected) if selected else "the site",
        time.monotonic() - started,
    )


def _build_whole_site(app: Flask, extra: dict[str, Any]) -> None:
    """Build the whole site into a new folder and switch the live site to it."""
    config = app.config
    try:
        with live_site.new_build(
            config["OUTPUT_PATH"], config["SITE_INDEX_PATH"]
        ) as build:
            _run_pelican(app, str(build.folder), {**extra, **build.settings()})
    except (OSError, live_site.LayoutError) as exc:
        raise PublishError(f"The full build failed: {exc}") from exc


def _run_pelican(app: Flask, output: str, extra: dict[str, Any]) -> None:
    """Run Pelican writing into ``output``, with ``extra`` settings."""
    config = app.config
    settings = Path(config["PELICAN_SETTINGS"])
    cmd = [sys.executable, "-m", "pelican", config["CONTENT_PATH"]]
    cmd += ["-s", str(settings)]
    cmd += ["-o", output, "-q"]
    cmd += ["-e", *(f"{key}={json.dumps(value)}" for key, value in extra.items())]
    # No shell; the program is this Python running Pelican, and the
    # arguments come from the app's own settings, never from a request.
    try:
        result = subprocess.run(  # nosec B603
            cmd,
            cwd=settings.parent,
            capture_output=True,
            text=True,
            timeout=config["BUILD_TIMEOUT"],
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise PublishError(
            f"Pelican took longer than BUILD_TIMEOUT ({config['BUILD_TIMEOUT']} s)"
            " and was stopped."
        ) from None
    if result.returncode != 0:
        raise PublishError(f"Pelican failed:\n{result.stdout}\n{result.stderr}")


def build_site(app: Flask) -> None:
    """Build the whole site (a new post changes lists, archives and feeds)
    and make it the live site in one step, then run ``PUBLISH_COMMAND``.

    The publish lock is held from before Pelican reads the comment files
    until the new site is live: a comment published meanwhile waits, then
    its page is rewritten in the new site.

    :raise PublishError: if Pelican fails (the live site is left as it was).
    :raise PublishCommandError: if the site went live but the command failed.
    """
    with publish_lock(app):
        run_pelican(app)
        run_publish_command(app)


def run_publish_command(app: Flask, command: str | None = None) -> None:
    """Run ``command`` (default: ``PUBLISH_COMMAND``) after a build, if any.

    It runs without a shell, in the folder of the Pelican settings (the
    project), with ``OUTPUT_PATH`` in its environment.

    :raise PublishCommandError: if it fails or outlasts
        ``PUBLISH_COMMAND_TIMEOUT``.
    """
    config = app.config
    command = command or config["PUBLISH_COMMAND"]
    if not command:
        return
    started = time.monotonic()
    try:
        # The operator's own command from the settings, never from a request.
        result = subprocess.run(  # nosec B603
            shlex.split(command),
            cwd=Path(config["PELICAN_SETTINGS"]).parent,
            env={**os.environ, "OUTPUT_PATH": str(config["OUTPUT_PATH"])},
            capture_output=True,
            text=True,
            timeout=config["PUBLISH_COMMAND_TIMEOUT"],
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise PublishCommandError(f"The publish command failed: {exc}") from None
    if result.returncode != 0:
        raise PublishCommandError(
            f"The publish command exited with {result.returncode}:\n"
            f"{result.stdout}\n{result.stderr}"
        )
    logger.info("publish command done in %.2f s", time.monotonic() - started)


def publisher(app: Flask | None = None) -> Publisher:
    """Return the publisher of ``app`` (default: the current app)."""
    return (app or current_app).extensions["publisher"]
