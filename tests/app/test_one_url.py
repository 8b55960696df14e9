"""One public address: ``make serve PORT=N`` is the site's address for every
process of the instance while it runs, the ``flask`` commands of another
shell included, unless SITE_URL is set.

The real ``make serve`` runs in a copy of the project (its own instance/,
output/ and content/, none of this checkout's), with no FEEDBACK_* setting:
as a developer runs it. A reader posts over HTTP, authors act from the
command line, and every link in every mail the sender writes to the Maildir,
and every address a command prints, must name that port and answer.
"""

from __future__ import annotations

import email
import email.policy
import http.client
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode, urlsplit

import pytest

from feedback_app.core import config
from feedback_app.core.dev_address import (
    forget_served_url,
    record_served_url,
    served_file,
    served_url,
)

from ..conftest import ARTICLE, ROOT
from .test_devserver import free_port

MAYA = "Maya Lindqvist"  # the author of ARTICLE


def project_copy(target: Path) -> Path:
    """Copy the project's files (tracked and new, not ignored) to ``target``."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        check=True,
        capture_output=True,
    ).stdout.split(b"\0")
    for name in filter(None, listed):
        source = ROOT / name.decode()
        if source.is_file():
            (target / name.decode()).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name.decode())
    return target


@dataclass
class Served:
    """``make serve PORT=port`` running in the project copy ``root``."""

    root: Path
    port: int
    env: dict[str, str]

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def flask(self, *args: str, stdin: str = "") -> str:
        """Run ``flask --app feedback_app ARGS`` in the copy, as in a shell."""
        done = subprocess.run(
            [sys.executable, "-m", "flask", "--app", "feedback_app", *args],
            cwd=self.root,
            env=self.env,
            input=stdin,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert done.returncode == 0, done.stdout + done.stderr
        return done.stdout

    def request(
        self,
        method: str,
        path: str,
        form: dict[str, str] | None = None,
        cookie: str = "",
    ) -> http.client.HTTPResponse:
        headers = {"Origin": self.base}
        if cookie:
            headers["Cookie"] = cookie
        body = None
        if form is not None:
            body = urlencode(form)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        try:
            connection.request(method, path, body=body, headers=headers)
            response = connection.getresponse()
            response.text = response.read().decode()  # type: ignore[attr-defined]
            return response
        finally:
            connection.close()

    def mail(self, count: int) -> list[email.message.EmailMessage]:
        """Wait until the sender has kept ``count`` messages; return them."""
        folder = self.root / "instance" / "maildir" / "new"
        deadline = time.monotonic() + 120
        while True:
            files = sorted(folder.glob("*")) if folder.is_dir() else []
            if len(files) >= count or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        assert len(files) == count, [f.read_text()[:300] for f in files]
        return [
            email.message_from_bytes(f.read_bytes(), policy=email.policy.default)
            for f in files
        ]


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    root = project_copy(tmp_path / "project")
    port = free_port()
    while port == 8000:
        port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("FEEDBACK_")}
    venv = Path(sys.executable).parent.parent
    keep = ["-o", f"{venv}/.installed"]
    log = tmp_path / "serve.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            # -o: the venv is this one, already installed; never reinstall
            # it from the copy.
            ["make", "serve", f"PORT={port}", f"VENV={venv}", *keep],
            cwd=root,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + 300  # a Pelican build first
        while not _listening(port):
            assert proc.poll() is None, log.read_text()
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.2)
        yield Served(root, port, env)
    finally:
        os.killpg(proc.pid, signal.SIGINT)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)
    # Stopped, the server takes its address back.
    assert not served_file(root / "instance").exists(), log.read_text()


def _listening(port: int) -> bool:
    import socket

    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
    except OSError:
        return False
    return True


def links_in(message: email.message.EmailMessage) -> list[str]:
    body = message.get_body(("plain",))
    assert body is not None
    found = re.findall(r"https?://[^\s<>\"]+", body.get_content())
    unsubscribe = message["List-Unsubscribe"]
    if unsubscribe:
        found.append(str(unsubscribe).strip("<>"))
    return found


@pytest.mark.slow
def test_make_serve_on_a_port_is_every_processs_address(served: Served) -> None:
    base = served.base
    served.flask("authors", "add", MAYA, "maya@example.org")
    printed = served.flask(
        "authors", "set-password", MAYA, stdin="a long enough password\n" * 2
    )

    # A reader's feedback and comment, over HTTP.
    sent = served.request(
        "POST",
        "/app/feedback",
        {"article": ARTICLE, "message": "Say more?", "email": "rita@example.org"},
    )
    assert sent.status == 303, sent.text  # type: ignore[attr-defined]
    comment = {
        "article": ARTICLE,
        "name": "Ana",
        "email": "ana@example.org",
        "body": "A comment.",
        "notify_replies": "y",
    }
    posted = served.request("POST", "/app/comments", comment)
    assert posted.status == 303, posted.text  # type: ignore[attr-defined]

    # Ana confirms, by the link in her mail.
    confirmation = next(
        m for m in served.mail(3) if m["To"] == "ana@example.org"
    )  # and Maya's two notifications
    [confirm] = [link for link in links_in(confirmation) if "/confirm/" in link]
    page = served.request("GET", urlsplit(confirm).path)
    cookie = page.headers["Set-Cookie"].split(";", 1)[0]
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page.text)  # type: ignore[attr-defined]
    done = served.request(
        "POST", urlsplit(confirm).path, {"csrf_token": token[1]}, cookie=cookie
    )
    assert done.status == 200, done.text  # type: ignore[attr-defined]

    # Maya answers both from another shell: mail with links, queued there.
    printed += served.flask("feedback", "reply", "1", "-m", "Gladly.", "--as", MAYA)
    printed += served.flask("comments", "reply", "1", "-m", "Thanks!", "--as", MAYA)
    printed += served.flask("feedback", "show", "1")
    mail = served.mail(5)
    assert sorted(m["To"] for m in mail) == [
        "ana@example.org",
        "ana@example.org",
        "maya@example.org",
        "maya@example.org",
        "rita@example.org",
    ]

    urls = re.findall(r"https?://[^\s<>\"]+", printed)
    assert f"{base}/app/desk/sign-in" in urls
    for message in mail:
        urls += links_in(message)
    assert any("/unsubscribe/" in url for url in urls)
    assert any("/moderate/" in url for url in urls)
    for url in urls:
        assert url.startswith(f"{base}/"), url
        parts = urlsplit(url)
        answer = served.request(
            "GET", parts.path + (f"?{parts.query}" if parts.query else "")
        )
        assert answer.status in (200, 302, 303), (url, answer.status)
        location = answer.headers.get("Location", "")
        assert not location.startswith("http") or location.startswith(base), location


def settings(instance: Path, **chosen: object) -> dict[str, object]:
    """The settings ``create_app`` makes from the defaults and ``chosen``."""
    values = {k: getattr(config, k) for k in dir(config) if k.isupper()}
    values.update(chosen, SECRET_KEY="k")
    config.finalize(values, str(instance))
    return values


def test_a_recorded_address_counts_only_while_its_server_runs(tmp_path: Path) -> None:
    """The record names the process that serves; once that process is gone
    (killed, so it could not remove the file), the record is ignored."""
    record = record_served_url(tmp_path, "http://127.0.0.1:9123/")
    assert served_url(tmp_path) == "http://127.0.0.1:9123"
    assert settings(tmp_path)["SITE_URL"] == "http://127.0.0.1:9123"
    assert settings(tmp_path)["APP_URL"] == "http://127.0.0.1:9123/app"
    chosen = settings(tmp_path, SITE_URL="https://blog.example.org")
    assert chosen["SITE_URL"] == "https://blog.example.org"  # the operator's
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    record.write_text(json.dumps({"url": "http://127.0.0.1:9124", "pid": gone.pid}))
    assert served_url(tmp_path) is None
    assert settings(tmp_path)["SITE_URL"] == "http://127.0.0.1:8000"
    forget_served_url(record)  # not this process's record: kept
    assert record.exists()
    record_served_url(tmp_path, "http://127.0.0.1:9125")
    forget_served_url(record)
    assert not record.exists() and served_url(tmp_path) is None
