"""The development server: the built site and the app on one origin."""

from __future__ import annotations

import http.client
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from flask import Flask
from werkzeug.test import Client

from feedback_app.devserver import make_site_app
from feedback_app.site.live_site import new_build

from ..conftest import ARTICLE, ROOT, Reader
from ..processes import dies_with_this_process, stop


@pytest.fixture
def site(app: Flask) -> Client:
    return Client(make_site_app(app))


def test_serves_built_pages_with_folder_index(site: Client, built_site: Path) -> None:
    page = site.get("/2026/inside-sales-without-the-script/")
    assert page.status_code == 200
    expected = built_site / "output/2026/inside-sales-without-the-script/index.html"
    assert page.get_data() == expected.read_bytes()
    assert (
        site.get("/theme/css/main.css").headers["Content-Type"].startswith("text/css")
    )


def test_serves_the_site_through_the_output_link(
    app: Flask, built_site: Path, tmp_path: Path
) -> None:
    """As every full build leaves it: output/ a link to the live build."""
    output = tmp_path / "output"
    with new_build(output) as build:
        shutil.copytree(built_site / "output", build.folder, dirs_exist_ok=True)
    site = Client(make_site_app(app, str(output)))
    page = site.get("/2026/inside-sales-without-the-script/")
    assert page.status_code == 200
    expected = built_site / "output/2026/inside-sales-without-the-script/index.html"
    assert page.get_data() == expected.read_bytes()
    assert site.get("/about").status_code == 301
    assert "Page not found" in site.get("/nope/").get_data(as_text=True)


def test_folder_without_slash_redirects(site: Client) -> None:
    response = site.get("/about")
    assert response.status_code == 301
    assert response.headers["Location"] == "/about/"


@pytest.mark.parametrize("path", ["/nope/", "/../pyproject.toml", "/%2e%2e/tasks.py"])
def test_missing_or_outside_paths_are_not_found(site: Client, path: str) -> None:
    response = site.get(path)
    assert response.status_code == 404
    assert "Page not found" in response.get_data(as_text=True)  # the theme's 404


def test_static_site_takes_no_posts(site: Client) -> None:
    assert site.post("/about/").status_code == 405


def test_app_is_mounted_under_app(site: Client) -> None:
    response = site.post(
        "/app/feedback",
        data={"article": "2026/inside-sales-without-the-script/", "message": "hi"},
        headers={"Origin": "http://localhost"},
    )
    assert response.status_code == 303
    assert response.headers["Location"].startswith("/app/r/")
    thanks = site.get(response.headers["Location"])
    assert thanks.status_code == 200
    assert "/app/r/" in thanks.get_data(as_text=True)


# --- `make serve` as a real process: nginx's headers, nginx's private log ------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


READER_ADDRESS = "127.0.0.3"  # where this test's reader connects from


@dataclass
class DevServer:
    port: int
    log: Path

    def request(
        self, method: str, path: str, body: str | None = None, **headers: str
    ) -> http.client.HTTPResponse:
        """Send a request from READER_ADDRESS; return the read response."""
        connection = http.client.HTTPConnection(
            "127.0.0.1", self.port, timeout=10, source_address=(READER_ADDRESS, 0)
        )
        try:
            connection.request(method, path, body=body, headers=headers)
            response = connection.getresponse()
            response.read()
            return response
        finally:
            connection.close()


@pytest.fixture
def dev_server(app: Flask, built_site: Path, tmp_path: Path) -> Iterator[DevServer]:
    """``tasks._serve`` (what ``make serve`` runs after building) in a process
    of its own, on the test's database and built site, its log in a file."""
    port = free_port()
    env = {
        **os.environ,
        "FEEDBACK_DATABASE_URL": app.config["DATABASE_URL"],
        "FEEDBACK_SECRET_KEY": "dev server test secret",
        "FEEDBACK_INSTANCE_PATH": str(tmp_path / "instance"),
        "FEEDBACK_OUTPUT_PATH": str(built_site / "output"),
        "FEEDBACK_SITE_INDEX_PATH": str(built_site / "site.json"),
        "FEEDBACK_COMMENTS_PATH": str(tmp_path / "comments"),
        "FEEDBACK_CONTENT_PATH": str(tmp_path / "content"),
        "FEEDBACK_MAILDIR_PATH": str(tmp_path / "maildir"),
        "FEEDBACK_COMMENTS_REBUILD": "false",
    }
    log = tmp_path / "serve.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-u",
                "-c",
                f"import tasks; tasks._serve('127.0.0.1', {port})",
            ],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            # Stopped below when the test fails; stopped with pytest when
            # pytest is killed before it gets there (the server was once
            # found still running after such a run).
            preexec_fn=dies_with_this_process,
        )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert proc.poll() is None, log.read_text()
                assert time.monotonic() < deadline, log.read_text()
                time.sleep(0.1)
        yield DevServer(port, log)
    finally:
        stop(proc, signal.SIGINT)


def nginx_static_headers() -> dict[str, str]:
    """What nginx adds to every static answer: theme/security-headers.conf's
    add_header lines, and blog.conf's revalidation."""
    snippet = (ROOT / "theme" / "security-headers.conf").read_text()
    found = dict(
        re.findall(r'^add_header\s+(\S+)\s+"([^"]*)"\s+always;', snippet, re.M)
    )
    assert found
    return {**found, "Cache-Control": "no-cache"}


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/", 200),
        ("/2026/inside-sales-without-the-script/", 200),
        ("/theme/css/main.css", 200),
        ("/about", 301),
        ("/nope/", 404),
    ],
)
def test_make_serve_sends_nginxs_headers_on_static_pages(
    dev_server: DevServer, path: str, status: int
) -> None:
    response = dev_server.request("GET", path)
    assert response.status == status
    for name, value in nginx_static_headers().items():
        assert response.headers.get_all(name) == [value], (path, name)


def test_make_serve_logs_no_token_and_no_client_address(
    app: Flask, reader: Reader, dev_server: DevServer
) -> None:
    """Reply pages and mail links are logged with their secret replaced, and
    no line names the reader's address; requests are still logged."""
    token, _ = reader.send_and_follow(message="Hello.")
    sent = dev_server.request(
        "POST",
        "/app/feedback",
        body=f"article={ARTICLE}&message=Hi+there",
        **{
            "Content-Type": "application/x-www-form-urlencoded",
            "Origin": f"http://127.0.0.1:{dev_server.port}",
        },
    )
    assert sent.status == 303
    new_token = sent.headers["Location"].split("/r/")[1].split("/")[0]
    secrets = [token, new_token, "a" * 43, "query-secret"]
    for path in (
        f"/app/r/{token}",
        f"/app/r/{token}/thanks?from=query-secret",
        f"/app/unsubscribe/{'a' * 43}",
        f"/app/moderate/{'a' * 43}",
        f"/app/subscriptions/confirm/{'a' * 43}",
        "/?q=query-secret",
    ):
        dev_server.request("GET", path)
    assert dev_server.request("GET", f"/app/r/{token}").status == 200
    # The last line is written after the answer is sent: wait for it (two
    # answered reply pages), without the colours Werkzeug gives some lines.
    deadline = time.monotonic() + 10
    while True:
        log = re.sub(r"\x1b\[[0-9;]*m", "", dev_server.log.read_text())
        if log.count('"GET /app/r/- HTTP/1.1" 200') >= 2:
            break
        assert time.monotonic() < deadline, log
        time.sleep(0.05)
    assert '"GET /app/r/- HTTP/1.1" 200' in log, log
    assert '"POST /app/feedback HTTP/1.1" 303' in log, log
    for secret in secrets:
        assert secret not in log, secret
    assert READER_ADDRESS not in log
