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
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from email.message import Message
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
from ..processes import guard_group, stop
from .test_devserver import free_port

MAYA = "Maya Lindqvist"  # the author of ARTICLE
MAYA_EMAIL = "maya@example.org"
ANA = "ana@example.org"  # a commenter who asks for replies by mail
RITA = "rita@example.org"  # a reader who sends feedback


def to(message: email.message.EmailMessage, address: str) -> bool:
    return str(message["To"]) == address


def text_of(message: email.message.EmailMessage) -> str:
    body = message.get_body(("plain",))
    assert body is not None
    return body.get_content()


def confirmations(kept: list[email.message.EmailMessage]) -> list:
    """The mail asking Ana to confirm she wants replies by mail."""
    return [m for m in kept if to(m, ANA) and "/subscriptions/confirm/" in text_of(m)]


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


@dataclass(frozen=True)
class Answer:
    status: int
    headers: Message
    text: str


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
    ) -> Answer:
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
            text = response.read().decode()
            return Answer(response.status, response.headers, text)
        finally:
            connection.close()

    def mail_until(
        self, done: Callable[[list[email.message.EmailMessage]], bool]
    ) -> list[email.message.EmailMessage]:
        """Wait until the mail the sender kept is ``done``; return it all."""
        folder = self.root / "instance" / "maildir" / "new"
        deadline = time.monotonic() + 120
        while True:
            kept = [
                email.message_from_bytes(f.read_bytes(), policy=email.policy.default)
                for f in (sorted(folder.iterdir()) if folder.is_dir() else [])
            ]
            if done(kept):
                return kept
            assert time.monotonic() < deadline, [str(m["Subject"]) for m in kept]
            time.sleep(0.5)


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
    # make, a shell and the server, in a group of their own: stopped below
    # when the test fails, and by the guard when pytest is killed before.
    guard = guard_group(proc.pid)
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
        stop(guard, signal.SIGTERM)
    # Stopped, the server takes its address back.
    assert not served_file(root / "instance").exists(), log.read_text()


def _listening(port: int) -> bool:
    import socket

    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
    except OSError:
        return False
    return True


def web_addresses(text: str) -> list[str]:
    """The http(s) addresses in ``text``, without the punctuation after them."""
    found = re.findall(r"https?://[^\s<>\"()]+", text)
    return [url.rstrip(".,;:!?") for url in found]


def links_in(message: email.message.EmailMessage) -> list[str]:
    body = message.get_body(("plain",))
    assert body is not None
    found = web_addresses(body.get_content())
    unsubscribe = message["List-Unsubscribe"]
    if unsubscribe:
        found.append(str(unsubscribe).strip("<>"))
    return found


@pytest.mark.slow
def test_make_serve_on_a_port_is_every_processs_address(served: Served) -> None:
    base = served.base
    served.flask("authors", "add", MAYA, MAYA_EMAIL)
    printed = served.flask(
        "authors", "set-password", MAYA, stdin="a long enough password\n" * 2
    )

    # A reader's feedback and comment, over HTTP.
    sent = served.request(
        "POST",
        "/app/feedback",
        {"article": ARTICLE, "message": "Say more?", "email": RITA},
    )
    assert sent.status == 303, sent.text
    comment = {
        "article": ARTICLE,
        "name": "Ana",
        "email": ANA,
        "body": "A comment.",
        "notify_replies": "y",
    }
    posted = served.request("POST", "/app/comments", comment)
    assert posted.status == 303, posted.text

    # Ana confirms, by the link in her mail.
    confirmation = served.mail_until(lambda kept: bool(confirmations(kept)))
    [confirmation] = confirmations(confirmation)
    [confirm] = [link for link in links_in(confirmation) if "/confirm/" in link]
    page = served.request("GET", urlsplit(confirm).path)
    cookie = page.headers["Set-Cookie"].split(";", 1)[0]
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page.text)
    assert token, page.text
    done = served.request(
        "POST", urlsplit(confirm).path, {"csrf_token": token[1]}, cookie=cookie
    )
    assert done.status == 200, done.text

    # Maya answers both from another shell: mail with links, queued there.
    printed += served.flask("feedback", "reply", "1", "-m", "Gladly.", "--as", MAYA)
    printed += served.flask("comments", "reply", "1", "-m", "Thanks!", "--as", MAYA)
    printed += served.flask("feedback", "show", "1")
    # The sender sends in the order mail was queued: once the last queued
    # (the reply notification) is kept, all the mail made above is.
    mail = served.mail_until(
        lambda kept: any(m["List-Unsubscribe"] for m in kept if to(m, ANA))
    )
    assert {str(m["To"]) for m in mail} >= {ANA, RITA, MAYA_EMAIL}
    assert any("Gladly." in text_of(m) for m in mail if to(m, RITA))

    urls = web_addresses(printed)
    assert f"{base}/app/desk/sign-in" in urls
    for message in mail:
        urls += links_in(message)
    assert any("/unsubscribe/" in url for url in urls)
    assert any("/moderate/" in url for url in urls)
    for url in urls:
        assert url == base or url.startswith(f"{base}/"), url
        parts = urlsplit(url)
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        answer = served.request("GET", path)
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
