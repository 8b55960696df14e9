"""A full build goes live in one step (feedback_app/site/live_site.py).

Readers of the live site (here a thread reading a page over and over, as
nginx would) meet the old site or the new one, never a missing page, even
with ``DELETE_OUTPUT_DIRECTORY``; a failed build changes nothing; a comment
published while a full build runs reaches the new site; old builds go.

The builds are real Pelican runs. To look at the live site while one runs,
the tests hold it with ``build_gate.py``, a plugin that waits, once
everything is read and nothing written, until the test opens the gate.
"""

from __future__ import annotations

import gzip
import json
import os
import runpy
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from feedback_app.services.moderation import moderate
from feedback_app.site.live_site import BUILDS_SUFFIX, CURRENT
from feedback_app.site.publishing import (
    PublishError,
    build_site,
    publish_lock,
    publisher,
)

from ..conftest import ARTICLE, ROOT, Commenter

pytestmark = pytest.mark.build

PAGE = f"{ARTICLE}index.html"
SOURCE = "inside-sales-without-the-script.md"
PLUGINS = runpy.run_path(str(ROOT / "pelicanconf.py"))["PLUGINS"]
GATE_PLUGIN = Path(__file__).with_name("build_gate.py")


def wait_until(done: Callable[[], bool], what: str, timeout: float = 60) -> None:
    """Poll ``done`` until it is true; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not done():
        assert time.monotonic() < deadline, f"waited {timeout} s for {what}"
        time.sleep(0.005)


class Gate:
    """The folder through which ``build_gate.py`` holds builds."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        folder.mkdir()

    def close(self) -> None:
        (self.folder / "open").unlink(missing_ok=True)
        (self.folder / "entered").unlink(missing_ok=True)

    def open(self) -> None:
        (self.folder / "open").touch()

    def wait_for_a_build(self) -> None:
        wait_until((self.folder / "entered").exists, "a build at the gate")


def hold_builds(app: Flask, gate: Gate, **settings: Any) -> None:
    """Have every Pelican run of ``app`` stop at ``gate`` while it is closed."""
    app.config["PELICAN_EXTRA_SETTINGS"] = {
        **app.config["PELICAN_EXTRA_SETTINGS"],
        "PLUGINS": [*PLUGINS, "tests.site.build_gate"],
        "BUILD_GATE": str(gate.folder),
        **settings,
    }


class Background(threading.Thread):
    """Run ``work`` in a thread; ``result`` re-raises what it raised."""

    def __init__(self, work: Callable[[], object]) -> None:
        super().__init__(daemon=True)
        self.work = work
        self.error: BaseException | None = None
        self.start()

    def run(self) -> None:
        try:
            self.work()
        except BaseException as exc:  # handed to the test by result()
            self.error = exc

    def result(self, timeout: float = 120) -> None:
        self.join(timeout)
        assert not self.is_alive(), f"still running after {timeout} s"
        if self.error is not None:
            raise self.error


class PageReader(threading.Thread):
    """Reads one file of the live site over and over, as nginx would."""

    def __init__(self, path: Path) -> None:
        super().__init__(daemon=True)
        self.path = path
        self.reads = 0
        self.seen: set[bytes] = set()
        self.errors: list[OSError] = []
        self.stopped = threading.Event()

    def run(self) -> None:
        while not self.stopped.is_set():
            try:
                self.seen.add(self.path.read_bytes())
            except OSError as exc:
                self.errors.append(exc)
            self.reads += 1
            time.sleep(0.001)  # a reader, not a busy loop beside the build

    def read_some_more(self) -> None:
        """Wait until it has read the page a few more times."""
        start = self.reads
        wait_until(lambda: self.reads >= start + 20, "the reader")


@contextmanager
def reading(path: Path) -> Iterator[PageReader]:
    reader = PageReader(path)
    reader.start()
    try:
        yield reader
    finally:
        reader.stopped.set()
        reader.join(10)


def second_edition(content: Path) -> None:
    """Change the article, so the next build's page differs."""
    with open(content / SOURCE, "a", encoding="utf-8") as fh:
        fh.write("\nSecond edition: one more question on every call.\n")


def builds_of(output: Path) -> Path:
    return output.with_name(output.name + BUILDS_SUFFIX)


def live_build(output: Path) -> str:
    """The name of the build ``output`` shows."""
    return os.readlink(builds_of(output) / CURRENT)


def folders_in(builds: Path) -> set[str]:
    return {p.name for p in builds.iterdir() if p.name != CURRENT}


# --- the desk's "Publish now" (build_site) ------------------------------------


def test_readers_never_miss_a_page_while_the_desk_publishes(
    publishing_app: Flask, tmp_path: Path
) -> None:
    app = publishing_app
    output = Path(app.config["OUTPUT_PATH"])
    build_site(app)  # a linked site already: this test is of the switch
    page = output / PAGE
    before = page.read_bytes()
    second_edition(Path(app.config["CONTENT_PATH"]))
    gate = Gate(tmp_path / "gate")
    # Deleting the output folder, as publishconf.py once did: harmless now.
    hold_builds(app, gate, DELETE_OUTPUT_DIRECTORY=True)

    with reading(page) as reader:
        build = Background(lambda: build_site(app))
        gate.wait_for_a_build()  # everything read, the output folder emptied
        reader.read_some_more()
        assert page.read_bytes() == before  # the old site, whole
        gate.open()
        build.result()
        reader.read_some_more()

    after = page.read_bytes()
    assert b"Second edition" in after
    assert reader.errors == []
    assert reader.seen == {before, after}


def test_a_failed_build_leaves_the_live_site_as_it_was(
    publishing_app: Flask, tmp_path: Path
) -> None:
    app = publishing_app
    output = Path(app.config["OUTPUT_PATH"])
    index = Path(app.config["SITE_INDEX_PATH"])
    build_site(app)
    live = os.path.realpath(output)
    before = {name: (output / name).read_bytes() for name in (PAGE, "index.html")}
    index_before = index.read_bytes()
    # A new post, and a theme whose article template does not compile: the
    # build reads the post and writes the index, then fails while writing.
    content = Path(app.config["CONTENT_PATH"])
    (content / "a-new-post.md").write_text(
        "Title: A new post\nDate: 2026-11-30 10:00\nCategory: Sales\n\nNew.\n",
        encoding="utf-8",
    )
    theme = tmp_path / "broken-theme"
    shutil.copytree(ROOT / "theme", theme)
    (theme / "templates" / "article.html").write_text("{% if %}", encoding="utf-8")
    app.config["PELICAN_EXTRA_SETTINGS"] = {
        **app.config["PELICAN_EXTRA_SETTINGS"],
        "THEME": str(theme),
        "DELETE_OUTPUT_DIRECTORY": True,
    }
    builds = builds_of(output)
    folders = folders_in(builds) if builds.exists() else set()

    with pytest.raises(PublishError, match="TemplateSyntaxError"):
        build_site(app)

    assert {name: (output / name).read_bytes() for name in before} == before
    assert os.path.realpath(output) == live
    assert folders_in(builds) == folders  # no half-built folder
    assert index.read_bytes() == index_before  # the app knows no new post
    assert list(index.parent.glob(f".{index.name}*")) == []


def test_old_builds_go_and_the_one_before_stays(publishing_app: Flask) -> None:
    app = publishing_app
    output = Path(app.config["OUTPUT_PATH"])
    builds = builds_of(output)
    names = []
    for _ in range(3):
        build_site(app)
        names.append(live_build(output))
        assert (output / PAGE).is_file()
    assert len(set(names)) == 3
    assert folders_in(builds) == set(names[-2:])
    # What a killed build leaves behind goes with the next build too.
    (builds / "20000101T000000000000Z" / "2026").mkdir(parents=True)
    (builds / ".current.new").symlink_to("20000101T000000000000Z")
    build_site(app)
    assert folders_in(builds) == {names[-1], live_build(output)}


def test_a_real_output_folder_is_moved_into_the_builds_once(
    publishing_app: Flask,
) -> None:
    app = publishing_app
    output = Path(app.config["OUTPUT_PATH"])
    assert output.is_dir() and not output.is_symlink()  # as builds left it
    old_page = os.stat(output / PAGE)

    build_site(app)

    # The link is relative: the project can move, or be mounted elsewhere.
    assert os.readlink(output) == f"{output.name}{BUILDS_SUFFIX}/{CURRENT}"
    builds = builds_of(output)
    [moved] = folders_in(builds) - {live_build(output)}
    kept = os.stat(builds / moved / PAGE)
    assert (kept.st_ino, kept.st_mtime_ns) == (old_page.st_ino, old_page.st_mtime_ns)
    assert (output / PAGE).is_file()
    assert os.stat(output / PAGE).st_ino != old_page.st_ino  # the new build


def test_an_output_link_to_elsewhere_is_left_alone(
    publishing_app: Flask, tmp_path: Path
) -> None:
    """A link the operator made (to a web root, say) is not this module's to
    replace: the build stops before Pelican runs."""
    app = publishing_app
    output = Path(app.config["OUTPUT_PATH"])
    web_root = tmp_path / "web-root"
    output.rename(web_root)
    output.symlink_to(web_root)

    with pytest.raises(PublishError, match="a build replaces only a link to"):
        build_site(app)

    assert os.readlink(output) == str(web_root)
    assert (web_root / PAGE).is_file()
    assert not builds_of(output).exists()


# --- a comment published while a full build runs ------------------------------


def test_the_lock_is_held_until_the_new_site_is_live(
    publishing_app: Flask, tmp_path: Path
) -> None:
    """Whoever waits for the publish lock during a full build (the app's
    rewrite of a page) gets it only once the new site is live."""
    app = publishing_app
    page = Path(app.config["OUTPUT_PATH"]) / PAGE
    build_site(app)
    second_edition(Path(app.config["CONTENT_PATH"]))
    gate = Gate(tmp_path / "gate")
    hold_builds(app, gate)
    live_when_locked: list[bytes] = []
    waiting = threading.Event()

    def wait_for_the_lock() -> None:
        waiting.set()
        with publish_lock(app):
            live_when_locked.append(page.read_bytes())

    build = Background(lambda: build_site(app))
    gate.wait_for_a_build()
    waiter = Background(wait_for_the_lock)
    assert waiting.wait(30)
    gate.open()  # the waiter is at the lock by now: Pelican still has to write
    build.result()
    waiter.result()
    [seen] = live_when_locked
    assert b"Second edition" in seen


def test_a_comment_approved_during_a_full_build_reaches_the_new_site(
    publishing_app: Flask, tmp_path: Path
) -> None:
    app = publishing_app
    output = Path(app.config["OUTPUT_PATH"])
    build_site(app)
    comment = Commenter(app.test_client()).post_ok(body="Approved mid-build.")
    assert comment.state == "pending"
    gate = Gate(tmp_path / "gate")
    hold_builds(app, gate)

    build = Background(lambda: build_site(app))
    gate.wait_for_a_build()  # the comment files are read: not this one
    with app.app_context():
        moderate([comment.id], "approved")  # the publisher's own thread
    gate.open()
    build.result()
    assert publisher(app).wait_idle(120)

    assert publisher(app).last_error is None
    assert f'id="comment-{comment.id}"'.encode() in (output / PAGE).read_bytes()


# --- invoke publish --------------------------------------------------------------


def project_copy(tmp_path: Path, gate: Gate) -> Path:
    """A copy of the project whose production builds stop at ``gate`` and
    delete their output folder, as publishconf.py once did."""
    project = tmp_path / "project"
    project.mkdir()
    for name in ("tasks.py", "pelicanconf.py", "publishconf.py"):
        shutil.copy(ROOT / name, project / name)
    for name in ("content", "theme"):
        shutil.copytree(ROOT / name, project / name)
    shutil.copy(GATE_PLUGIN, project / "build_gate.py")
    with open(project / "publishconf.py", "a", encoding="utf-8") as fh:
        fh.write(
            '\nPLUGINS = [*PLUGINS, "build_gate"]\n'
            f"BUILD_GATE = {str(gate.folder)!r}\n"
            "DELETE_OUTPUT_DIRECTORY = True\n"
        )
    return project


def invoke(project: Path, *args: str) -> subprocess.Popen[str]:
    env = dict(
        os.environ,
        SITEURL="https://blog.example.org",
        FEEDBACK_INSTANCE_PATH=str(project / "instance"),
    )
    return subprocess.Popen(
        [sys.executable, "-m", "invoke", *args],
        cwd=project,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def finished(proc: subprocess.Popen[str]) -> str:
    out, _ = proc.communicate(timeout=120)
    assert proc.returncode == 0, out
    return out


def test_invoke_publish_switches_the_whole_site_at_once(tmp_path: Path) -> None:
    gate = Gate(tmp_path / "gate")
    project = project_copy(tmp_path, gate)
    output = project / "output"
    gate.open()
    first = finished(invoke(project, "publish"))  # the first build: no output/
    # Without PUBLISH_COMMAND nothing is left undone: the build is live.
    assert f"Built {output}, live now (no PUBLISH_COMMAND:" in first
    page = output / PAGE
    before = page.read_bytes()
    second_edition(project / "content")
    gate.close()

    with reading(page) as reader:
        publish = invoke(project, "publish")
        gate.wait_for_a_build()
        reader.read_some_more()
        assert page.read_bytes() == before
        gate.open()
        finished(publish)
        reader.read_some_more()

    after = page.read_bytes()
    assert b"Second edition" in after
    assert reader.errors == []
    assert reader.seen == {before, after}
    site = json.loads((project / "instance" / "site.json").read_text("utf-8"))
    assert site["siteurl"] == "https://blog.example.org"

    finished(invoke(project, "clean"))
    assert not os.path.lexists(output)
    assert not builds_of(output).exists()


def test_a_full_build_takes_the_twins_of_unchanged_files_from_the_live_site(
    publishing_app: Flask,
) -> None:
    """Compressing every file again is the cost of a new folder: a file that
    is the same as in the live build gets that build's twin (a hard link);
    a changed one gets its own, and every twin holds its file."""
    output = Path(publishing_app.config["OUTPUT_PATH"])
    build_site(publishing_app)  # the first build in the builds' layout
    first = live_build(output)
    second_edition(Path(publishing_app.config["CONTENT_PATH"]))
    build_site(publishing_app)
    assert live_build(output) != first
    old, new = builds_of(output) / first, builds_of(output) / live_build(output)
    twins = sorted(new.rglob("*.gz"))
    assert len(twins) > 10
    linked = changed = 0
    for twin in twins:
        page = twin.with_suffix("")
        assert gzip.decompress(twin.read_bytes()) == page.read_bytes(), twin
        old_twin = old / twin.relative_to(new)
        same = old_twin.exists() and old_twin.stat().st_ino == twin.stat().st_ino
        if (old / page.relative_to(new)).read_bytes() == page.read_bytes():
            assert same, f"{twin} was compressed again"
            linked += 1
        else:
            assert not same, f"{twin} is the old page's"
            changed += 1
    assert linked and changed
