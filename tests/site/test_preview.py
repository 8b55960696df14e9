"""``invoke preview``: the production build, in a folder and on a port of its
own, while ``make serve`` goes on serving ``output/`` as it was.

Run as an author runs it, ``invoke`` in a copy of the project, and read over
HTTP as a browser reads it.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from ..conftest import ROOT
from ..processes import dies_with_this_process, stop

pytestmark = pytest.mark.build

ARTICLE = "/2026/inside-sales-without-the-script/"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A copy of the project, its development site built (`invoke build`)."""
    project = tmp_path / "project"
    project.mkdir()
    for name in ("tasks.py", "pelicanconf.py", "publishconf.py"):
        shutil.copy(ROOT / name, project / name)
    for name in ("content", "theme"):
        shutil.copytree(ROOT / name, project / name)
    done = subprocess.run(
        [sys.executable, "-m", "invoke", "build"],
        cwd=project,
        env=environment(project),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return project


def environment(project: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PORT", "SITEURL")}
    return {**env, "FEEDBACK_INSTANCE_PATH": str(project / "instance")}


def snapshot(project: Path) -> dict[str, str]:
    """Every file of the development site and what the app reads of it:
    output/ (through its link), the link itself, the site index, the
    headers snippet, the content cache."""
    seen = {"output ->": os.readlink(project / "output")}
    for top in ("output/", "instance/", "cache/", "theme/security-headers.conf"):
        path = project / top
        files = sorted(path.rglob("*")) if path.is_dir() else [path]
        for file in files:
            if file.is_file():
                digest = hashlib.sha256(file.read_bytes()).hexdigest()
                seen[str(file.relative_to(project))] = digest
    return seen


def get(port: int, path: str) -> tuple[int, str]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        return response.status, response.read().decode("utf-8", "replace")
    finally:
        connection.close()


@contextmanager
def preview(project: Path) -> Iterator[tuple[int, str]]:
    """`invoke preview --port P` running; yields P and what it printed
    until it served."""
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-u", "-m", "invoke", "preview", "--port", str(port)],
        cwd=project,
        env=environment(project),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        preexec_fn=dies_with_this_process,
    )
    try:
        assert proc.stdout is not None
        printed = ""
        for line in proc.stdout:  # until it says it serves, or ends
            printed += line
            if line.startswith("Serving the preview"):
                break
        assert "Serving the preview" in printed, printed
        yield port, printed
    finally:
        stop(proc, signal.SIGINT)  # type: ignore[arg-type]


def test_preview_builds_and_serves_apart_from_output(project: Path) -> None:
    before = snapshot(project)
    with preview(project) as (port, printed):
        check_preview(port, printed)
    # The development site is as it was: not one file written.
    assert (project / "output-preview" / "feeds" / "all.atom.xml").is_file()
    assert not (project / "output" / "feeds" / "all.atom.xml").exists()
    assert snapshot(project) == before
    page = (project / "output" / ARTICLE.strip("/") / "index.html").read_text()
    assert 'href="/theme/' in page


def check_preview(port: int, printed: str) -> None:
    base = f"http://127.0.0.1:{port}"
    assert f"on {base}/" in printed
    assert "output-preview/" in printed

    # The production settings (absolute links, the feed of all articles),
    # at the preview's own address: its styles and links work there.
    status, page = get(port, ARTICLE)
    assert status == 200
    sheets = re.findall(r'<link rel="stylesheet" href="([^"]+)"', page)
    assert sheets
    for sheet in sheets:
        assert sheet.startswith(f"{base}/theme/"), sheet
        assert get(port, sheet.removeprefix(base))[0] == 200
    links = set(re.findall(r'<a [^>]*href="(https?://[^/"]+)', page))
    assert base in links
    assert not [link for link in links if "example.com" in link]
    assert get(port, "/feeds/all.atom.xml")[0] == 200
    # The app is not run here, and says so.
    status, text = get(port, "/app/feedback")
    assert status == 503
    assert "make serve" in text


def test_preview_folder_is_not_committed() -> None:
    done = subprocess.run(
        ["git", "check-ignore", "-q", "output-preview/index.html"], cwd=ROOT
    )
    assert done.returncode == 0
