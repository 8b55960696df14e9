"""The shipped deployment over HTTP: nginx in front of gunicorn, as in production.

The real nginx runs ``deploy/nginx/blog.conf`` as shipped, with only its
operator paths and ports replaced (the tokens listed at its top), on loopback
with a temporary prefix. Behind it gunicorn runs the app with
``deploy/gunicorn.conf.py`` and ``FEEDBACK_PROXY_COUNT=1``,
``FEEDBACK_TRUSTED_PROXIES=["127.0.0.1"]``, as ``deploy/app.env.example``
says. The site is a real Pelican build, served as every full build leaves it:
through the ``output`` link to the live build. Requests name the public host
``blog.example.org``, and each test's reader connects from an address of its
own in 127.0.0.0/8, so nginx sees different readers as production would.

nginx is Debian's package ``nginx``; without it these tests are skipped,
unless ``REQUIRE_NGINX=1`` or ``CI`` is set, when they fail.
"""

from __future__ import annotations

import gzip
import http.client
import json
import os
import re
import runpy
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, suppress
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from typing import IO
from urllib.parse import urlencode, urljoin, urlsplit

import pytest

from feedback_app import create_app
from feedback_app.core.db import get_db, upgrade
from feedback_app.factory import CONTENT_SECURITY_POLICY
from feedback_app.site.live_site import new_build

from ..conftest import ARTICLE, ROOT

pytestmark = pytest.mark.slow

NGINX = os.environ.get("NGINX", "/usr/sbin/nginx")
DEPLOY = ROOT / "deploy"
PUBLIC_HOST = "blog.example.org"  # server_name of the shipped blog.conf
SITE_URL = f"http://{PUBLIC_HOST}"
SNIPPET = ROOT / "theme" / "security-headers.conf"
GZIP = {"Accept-Encoding": "gzip"}


def nginx_binary() -> str:
    """Return nginx's path; skip (or fail, where it must run) without it."""
    if os.access(NGINX, os.X_OK):
        return NGINX
    message = f"{NGINX} is missing (Debian: apt-get install nginx)"
    if os.environ.get("REQUIRE_NGINX") == "1" or os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def snippet_headers() -> dict[str, str]:
    """The headers theme/security-headers.conf adds, by name."""
    found = re.findall(
        r'^add_header\s+(\S+)\s+"([^"]*)"\s+always;', SNIPPET.read_text(), re.M
    )
    assert found, "no add_header lines in the snippet"
    return dict(found)


# --- the stack: gunicorn, then nginx -------------------------------------------


@dataclass
class Stack:
    port: int
    tmp: Path
    output: Path
    app_log: Path  # gunicorn's stdout: its access log
    nginx_log: Path  # blog.conf's access log


def site_conf(
    tmp: Path, output: Path, port: int, app_port: int, redirects: Path | None = None
) -> str:
    """deploy/nginx/blog.conf with the operator's tokens set for this test;
    the redirect map ``redirects`` (default: none, never imported)."""
    text = (DEPLOY / "nginx" / "blog.conf").read_text()
    redirects = redirects or tmp / "redirects.map"
    assert redirects.name.endswith("p"), redirects
    tokens = {
        # A pattern, as shipped: the map file may be missing.
        "/srv/blog/redirects.ma[p]": f"{redirects.parent}/{redirects.name[:-1]}[p]",
        "listen 80;": f"listen 127.0.0.1:{port};",
        "listen [::]:80;": "",  # the test machine may have no IPv6
        "127.0.0.1:8001": f"127.0.0.1:{app_port}",
        "/srv/blog/output": str(output),
        "/srv/blog/theme/security-headers.conf": str(SNIPPET),
        "/var/log/nginx/blog.access.log": str(tmp / "blog.access.log"),
    }
    for token, value in tokens.items():
        assert token in text, f"blog.conf lost the token {token!r}"
        text = text.replace(token, value)
    directives = re.sub(r"#.*", "", text)
    assert "/srv/" not in directives and "/var/" not in directives, (
        "blog.conf has an operator path the test does not replace"
    )
    return text


def main_conf(tmp: Path) -> str:
    """A main nginx.conf like Debian's, with every path in ``tmp``."""
    user = "user root;" if os.geteuid() == 0 else ""  # workers read tmp_path
    temp = "\n".join(
        f"    {kind}_temp_path {tmp / kind};"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    return f"""{user}
worker_processes 1;
pid {tmp / "nginx.pid"};
error_log {tmp / "error.log"} notice;
events {{ worker_connections 256; }}
http {{
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    sendfile on;
    gzip on;
    access_log {tmp / "other.access.log"};
{temp}
    include {tmp / "blog.conf"};
}}
"""


def wait_for(port: int, path: str, proc: subprocess.Popen[bytes], log: Path) -> None:
    """Wait until ``path`` answers on loopback ``port``."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"exited {proc.returncode}:\n{log.read_text()}")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", path, headers={"Host": PUBLIC_HOST})
            conn.getresponse().read()
            conn.close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"not answering:\n{log.read_text()}")


def stop(proc: subprocess.Popen[bytes], quick: signal.Signals) -> None:
    """Stop a server and its workers (its own process group), for sure."""
    for sig, seconds in ((quick, 15), (signal.SIGKILL, 5)):
        with suppress(ProcessLookupError):
            os.killpg(proc.pid, sig)
        try:
            proc.wait(seconds)
            return
        except subprocess.TimeoutExpired:
            continue


@pytest.fixture(scope="module")
def stack(
    built_site: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Stack]:
    nginx = nginx_binary()
    tmp = tmp_path_factory.mktemp("deploy")
    app_port, port = free_port(), free_port()
    # The site as every full build leaves it (feedback_app/site/live_site.py):
    # output/ a link to the live build, which nginx follows.
    output, index = tmp / "site" / "output", tmp / "site" / "site.json"
    with new_build(output, index) as build:
        shutil.copytree(built_site / "output", build.folder, dirs_exist_ok=True)
        shutil.copy(built_site / "site.json", build.site_index)
    settings = {
        "SECRET_KEY": "nginx test",
        "DATABASE_URL": f"sqlite:///{tmp / 'feedback.sqlite3'}",
        "SITE_URL": SITE_URL,
        "SITE_INDEX_PATH": str(index),
        "OUTPUT_PATH": str(output),
        "COMMENTS_PATH": str(tmp / "comments"),
        "CONTENT_PATH": str(tmp / "content"),
        "MAILDIR_PATH": str(tmp / "maildir"),
        "COMMENTS_REBUILD": False,
        # As deploy/app.env.example sets them:
        "PROXY_COUNT": 1,
        "TRUSTED_PROXIES": ["127.0.0.1"],
        # One post per reader's address, so the tests see whose it is.
        "POST_LIMIT_PER_ADDRESS": 1,
        "POST_LIMIT_PER_ARTICLE": 0,
        "FORM_MIN_SECONDS": 0,  # the tests post at once
    }
    env = dict(os.environ, FEEDBACK_INSTANCE_PATH=str(tmp))
    env.update({f"FEEDBACK_{k}": json.dumps(v) for k, v in settings.items()})
    env.update(GUNICORN_BIND=f"127.0.0.1:{app_port}", GUNICORN_WORKERS="2")
    migrated = create_app(settings)  # what `flask db upgrade` does
    upgrade(migrated)
    get_db(migrated).dispose()
    (tmp / "blog.conf").write_text(site_conf(tmp, output, port, app_port))
    (tmp / "nginx.conf").write_text(main_conf(tmp))
    nginx_cmd = [nginx, "-p", str(tmp), "-c", str(tmp / "nginx.conf")]
    nginx_cmd += ["-e", str(tmp / "error.log")]
    checked = subprocess.run(
        [*nginx_cmd, "-t"], capture_output=True, text=True, check=False
    )
    assert checked.returncode == 0, checked.stderr
    assert "[warn]" not in checked.stderr and "[emerg]" not in checked.stderr, (
        checked.stderr
    )

    with ExitStack() as cleanup:
        logs: dict[str, IO[bytes]] = {
            name: cleanup.enter_context(open(tmp / name, "wb"))
            for name in ("gunicorn.out", "gunicorn.err", "nginx.out")
        }
        app = subprocess.Popen(
            [
                *(sys.executable, "-m", "gunicorn"),
                *("--config", str(DEPLOY / "gunicorn.conf.py")),
                "feedback_app:create_app()",
            ],
            env=env,
            cwd=ROOT,
            stdout=logs["gunicorn.out"],
            stderr=logs["gunicorn.err"],
            start_new_session=True,
        )
        cleanup.callback(stop, app, signal.SIGINT)  # gunicorn's quick stop
        wait_for(app_port, "/health", app, tmp / "gunicorn.err")
        web = subprocess.Popen(
            [*nginx_cmd, "-g", "daemon off;"],
            stdout=logs["nginx.out"],
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        cleanup.callback(stop, web, signal.SIGTERM)  # nginx's
        wait_for(port, "/", web, tmp / "error.log")
        yield Stack(
            port=port,
            tmp=tmp,
            output=output,
            app_log=tmp / "gunicorn.out",
            nginx_log=tmp / "blog.access.log",
        )


# --- a reader's browser, over plain HTTP ----------------------------------------


@dataclass
class Reply:
    status: int
    headers: http.client.HTTPMessage
    body: bytes

    def all(self, name: str) -> list[str]:
        return self.headers.get_all(name) or []

    @property
    def text(self) -> str:
        data = self.body
        if self.headers.get("Content-Encoding") == "gzip":
            data = gzip.decompress(data)
        return data.decode("utf-8")


class Browser:
    """A reader connecting from loopback address ``source`` to nginx."""

    def __init__(self, stack: Stack, source: str) -> None:
        self.port = stack.port
        self.source = source

    def request(
        self,
        method: str,
        path: str,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> Reply:
        conn = http.client.HTTPConnection(
            "127.0.0.1", self.port, timeout=15, source_address=(self.source, 0)
        )
        try:
            conn.request(
                method,
                path,
                body=body,
                headers={"Host": PUBLIC_HOST, **(headers or {})},
            )
            response = conn.getresponse()
            return Reply(response.status, response.headers, response.read())
        finally:
            conn.close()

    def get(self, path: str, headers: dict[str, str] | None = None) -> Reply:
        return self.request("GET", path, headers=headers)

    def post_form(
        self,
        action: str,
        fields: dict[str, str],
        page: str,
        headers: dict[str, str] | None = None,
    ) -> Reply:
        """Post a form of ``page`` as a current browser does (same origin)."""
        sent = {
            "Content-Type": "application/x-www-form-urlencoded",
            "Origin": SITE_URL,
            "Referer": SITE_URL + page,
            "Sec-Fetch-Site": "same-origin",
            **(headers or {}),
        }
        return self.request("POST", action, urlencode(fields).encode(), sent)


def reader(stack: Stack, n: int) -> Browser:
    """Reader number ``n``: each test uses its own, so the per-address
    limit of one post is theirs alone."""
    return Browser(stack, f"127.0.0.{n}")


@dataclass
class Form:
    action: str
    fields: dict[str, str]
    ticket_url: str | None


class FormFinder(HTMLParser):
    """The forms of a page: action, hidden fields, ticket URL."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[Form] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self.forms.append(Form(a.get("action", ""), {}, a.get("data-ticket-url")))
        elif tag == "input" and self.forms and a.get("type") == "hidden":
            self.forms[-1].fields[a.get("name", "")] = a.get("value", "")


def form_of(html: str, action_ending: str) -> Form:
    finder = FormFinder()
    finder.feed(html)
    forms = [f for f in finder.forms if f.action.endswith(action_ending)]
    assert len(forms) == 1, [f.action for f in finder.forms]
    return forms[0]


def article_path(stack: Stack) -> str:
    site = json.loads((stack.output.parent / "site.json").read_text())
    return next(a["url"] for a in site["articles"] if a["page_url"] == ARTICLE)


def fill(browser: Browser, form: Form, **fields: str) -> dict[str, str]:
    """The form's fields as its page's script leaves them, plus ``fields``."""
    values = dict(form.fields)
    if form.ticket_url:  # the script asks for a ticket when the reader types
        ticket = browser.get(form.ticket_url)
        assert ticket.status == 200, ticket.text
        assert_app_response(ticket)
        values["ticket"] = json.loads(ticket.text)["ticket"]
    if "submission_key" in values:
        values["submission_key"] = str(uuid.uuid4())
    return values | fields


def assert_static_headers(reply: Reply) -> None:
    """The static pages' headers: the snippet's, each once, and revalidation."""
    for name, value in snippet_headers().items():
        assert reply.all(name) == [value], name
    assert reply.all("Cache-Control") == ["no-cache"]
    assert "Server" not in reply.headers or "/" not in reply.headers["Server"]


def assert_app_response(reply: Reply) -> None:
    """An app response as the app made it: its own security headers, once
    each (nginx adds none), never compressed, never cached for long."""
    for name in (
        "Content-Security-Policy",
        "X-Content-Type-Options",
        "Referrer-Policy",
    ):
        assert len(reply.all(name)) == 1, (name, reply.all(name))
    assert "Content-Encoding" not in reply.headers
    cache = ", ".join(reply.all("Cache-Control")).lower()
    assert "immutable" not in cache and "public" not in cache
    ages = [int(m) for m in re.findall(r"max-age=(\d+)", cache)]
    assert all(age == 0 for age in ages), cache
    assert "Expires" not in reply.headers


def send_feedback(
    browser: Browser, message: str, headers: dict[str, str] | None = None
) -> Reply:
    """Post feedback straight to the form's address, as a browser would."""
    fields = {"article": ARTICLE, "message": message}
    return browser.post_form("/app/feedback", fields, "/", headers)


# --- the static site -------------------------------------------------------------


def test_an_article_page_is_served_with_the_headers_and_gzip(stack: Stack) -> None:
    browser = reader(stack, 2)
    path = article_path(stack)
    page = browser.get(path, GZIP)
    assert page.status == 200
    assert page.headers["Content-Encoding"] == "gzip"
    assert "Accept-Encoding" in page.headers["Vary"]
    assert page.headers["Content-Type"] == "text/html; charset=utf-8"
    assert_static_headers(page)
    html = page.text
    built = stack.output / path.strip("/") / "index.html"
    assert html == built.read_text()
    # The build's own .gz twin, sent as it is (gzip_static), not compressed
    # again for every reader.
    twin = built.with_name("index.html.gz")
    assert int(page.headers["Content-Length"]) == twin.stat().st_size
    assert form_of(html, "/feedback").action == "/app/feedback"
    # Plain when not asked for gzip; revalidated with a 304.
    plain = browser.get(path)
    assert "Content-Encoding" not in plain.headers and plain.body.decode() == html
    again = browser.get(path, {**GZIP, "If-None-Match": page.headers["ETag"]})
    assert again.status == 304
    # A folder without its slash: a relative redirect, no internal port.
    folder = browser.get(path.rstrip("/"))
    assert (folder.status, folder.headers["Location"]) == (301, path)


def test_theme_files_are_compressed_and_revalidated_not_immutable(
    stack: Stack,
) -> None:
    browser = reader(stack, 3)
    css = browser.get("/theme/css/main.css", GZIP)
    assert css.status == 200 and css.headers["Content-Encoding"] == "gzip"
    assert css.headers["Content-Type"].startswith("text/css")
    assert_static_headers(css)  # no-cache: the file keeps its name when it changes
    assert css.text == (stack.output / "theme" / "css" / "main.css").read_text()


def test_a_missing_page_gets_the_sites_404_page(stack: Stack) -> None:
    browser = reader(stack, 4)
    missing = browser.get("/no/such/page/", GZIP)
    assert missing.status == 404
    assert missing.text == (stack.output / "404.html").read_text()
    assert "Page not found" in missing.text
    assert_static_headers(missing)


# --- the app behind it -----------------------------------------------------------


def test_health_through_nginx(stack: Stack) -> None:
    health = reader(stack, 5).get("/app/health", GZIP)
    assert health.status == 200
    body = json.loads(health.body)
    assert body | {"outbox": None, "moderation_queue": None, "last_publish": None} == {
        "status": "ok",
        "database": "ok",
        # No author has an account, nor any editor: the owner is told whose.
        "authors_without_account": ["Maya Lindqvist", "Tomás Ferreira"],
        # What waits: tests/app/test_health.py.
        "outbox": None,
        "moderation_queue": None,
        "last_publish": None,
    }
    assert health.all("Cache-Control") == ["no-store"]
    assert_app_response(health)


def test_feedback_from_an_article_page_reaches_its_thanks_and_reply_pages(
    stack: Stack,
) -> None:
    browser = reader(stack, 11)
    path = article_path(stack)
    form = form_of(browser.get(path).text, "/feedback")
    fields = fill(browser, form, message="Sent through nginx.")
    posted = browser.post_form(form.action, fields, path)
    assert posted.status == 303, posted.text
    assert_app_response(posted)
    # On the public host, under /app (a relative Location resolves there).
    location = urljoin(SITE_URL + path, posted.headers["Location"])
    match = re.fullmatch(rf"{re.escape(SITE_URL)}/app/r/([\w-]+)/thanks", location)
    assert match, location
    thanks = browser.get(urlsplit(location).path)
    assert thanks.status == 200
    assert_app_response(thanks)
    # The reply page's address the thanks page gives: scheme, host and prefix
    # from nginx's X-Forwarded-* headers.
    reply_url = f"{SITE_URL}/app/r/{match.group(1)}"
    assert reply_url in thanks.text
    reply = browser.get(urlsplit(reply_url).path)
    assert reply.status == 200 and "Sent through nginx." in reply.text
    assert reply.all("Referrer-Policy") == ["strict-origin"]  # the app's own
    assert reply.all("Cache-Control") == ["no-store"]
    assert_app_response(reply)


def test_a_comment_posted_from_an_article_page_is_taken(stack: Stack) -> None:
    browser = reader(stack, 12)
    path = article_path(stack)
    form = form_of(browser.get(path).text, "/comments")
    assert form.action == "/app/comments"
    fields = fill(browser, form, name="Ana", body="A comment through nginx.")
    posted = browser.post_form(form.action, fields, path)
    assert posted.status == 303, posted.text
    location = urljoin(SITE_URL + path, posted.headers["Location"])
    assert location.startswith(f"{SITE_URL}/app/comments/posted/"), location
    shown = browser.get(urlsplit(location).path)
    assert shown.status == 200 and "A comment through nginx." in shown.text
    assert_app_response(shown)


def test_the_desk_sign_in_page_loads_with_the_apps_policy(stack: Stack) -> None:
    page = reader(stack, 13).get("/app/desk/sign-in", GZIP)
    assert page.status == 200
    assert page.all("Content-Security-Policy") == [CONTENT_SECURITY_POLICY]
    assert page.all("X-Frame-Options") == ["DENY"]
    assert page.all("Cache-Control") == ["no-store"]
    assert_app_response(page)  # not compressed: it carries a CSRF token
    assert form_of(page.text, "/sign-in").action == "/app/desk/sign-in"


def test_a_forged_forwarded_for_does_not_escape_the_rate_limit(stack: Stack) -> None:
    """The per-address limit is one post: a reader who makes up a new
    X-Forwarded-For for each post is still counted by their real address,
    and another reader is not counted with them."""
    first = reader(stack, 21)
    assert send_feedback(first, "One", {"X-Forwarded-For": "203.0.113.1"}).status == 303
    again = send_feedback(first, "Two", {"X-Forwarded-For": "203.0.113.2"})
    assert again.status == 429 and int(again.headers["Retry-After"]) >= 1
    assert_app_response(again)
    # Posing as the first reader, or as nginx itself, changes nothing either.
    for n, forged in ((22, "127.0.0.21"), (23, "127.0.0.1")):
        other = send_feedback(reader(stack, n), "Mine", {"X-Forwarded-For": forged})
        assert other.status == 303, (n, other.status)


def test_a_forged_host_does_not_reach_the_apps_links(stack: Stack) -> None:
    """The app writes its host into links it mails: nginx gives it the
    public one whatever Host the request named."""
    browser = reader(stack, 31)
    evil = {"Host": "evil.example.net", "Origin": "http://evil.example.net"}
    posted = send_feedback(browser, "Whose link?", evil)
    assert posted.status == 303, posted.text
    thanks = browser.request(
        "GET", urlsplit(posted.headers["Location"]).path, headers=evil
    )
    assert thanks.status == 200
    assert f"{SITE_URL}/app/r/" in thanks.text and "evil.example" not in thanks.text


def test_a_body_too_large_gets_413(stack: Stack) -> None:
    browser = reader(stack, 41)
    # Past the app's 64 KB: the app's own page, in the site's look.
    page = send_feedback(browser, "x" * 100_000)
    assert page.status == 413
    assert "larger than this site accepts" in page.text
    assert_app_response(page)
    # Past nginx's limit too: nginx refuses it without bothering the app,
    # with the page the build wrote in the site's language (413.html).
    refused = send_feedback(browser, "x" * 300_000)
    assert refused.status == 413
    assert refused.text == (stack.output / "413.html").read_text()


def test_access_logs_name_no_reader(stack: Stack) -> None:
    """One line per request, with no address, query, user agent, referer or
    secret token, in gunicorn's log and in nginx's."""
    browser = reader(stack, 51)
    token = "S3cr3tT0k3n" + "x" * 32
    private = {
        "User-Agent": "Mozilla/5.0 (Secret Agent)",
        "Referer": "https://elsewhere.example/private",
        "Accept-Encoding": "gzip",
    }
    assert browser.get(f"/app/r/{token}?email=ana@example.org", private).status == 404
    assert browser.get("/app/health?probe=ana@example.org", private).status == 200
    assert browser.get("/about/?q=ana@example.org", private).status == 200

    # Each server writes its line once the response is out: wait for them.
    expected = [
        (stack.app_log, r'^\[[^\]]+\] "GET /r/-" 404 \d+ \d+ms$'),
        (stack.app_log, r'^\[[^\]]+\] "GET /health" 200 \d+ \d+ms$'),
        (stack.nginx_log, r'^\S+ "GET /app/r/-" 404 \d+ [\d.]+$'),
        (stack.nginx_log, r'^\S+ "GET /about/" 200 \d+ [\d.]+$'),
    ]
    deadline = time.monotonic() + 5
    while not all(re.search(p, f.read_text(), re.M) for f, p in expected):
        assert time.monotonic() < deadline, [
            p for f, p in expected if not re.search(p, f.read_text(), re.M)
        ]
        time.sleep(0.05)
    for log in (stack.app_log.read_text(), stack.nginx_log.read_text()):
        for secret in (token, "ana@example.org", "Secret", "elsewhere", "127.0.0."):
            assert secret not in log, (secret, log)


def test_the_example_settings_agree_with_gunicorn_nginx_and_systemd(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """app.env.example, sourced by deploy/run with sh (as systemd reads it),
    gives the app the proxy settings above and gunicorn the address nginx
    proxies to."""
    env = dict(os.environ, BLOG_ENV=str(DEPLOY / "app.env.example"))
    out = subprocess.run(
        ["sh", str(DEPLOY / "run"), "env"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    values = dict(line.split("=", 1) for line in out.splitlines() if "=" in line)
    assert json.loads(values["FEEDBACK_PROXY_COUNT"]) == 1
    assert json.loads(values["FEEDBACK_TRUSTED_PROXIES"]) == ["127.0.0.1"]
    assert values["FEEDBACK_SITE_URL"] == f"https://{PUBLIC_HOST}"
    assert values["SITEURL"] == values["FEEDBACK_SITE_URL"]
    assert values["FLASK_APP"] == "feedback_app"
    assert values["PATH"].startswith(f"{ROOT}/.venv/bin:")
    nginx_conf = (DEPLOY / "nginx" / "blog.conf").read_text()
    assert f"server {values['GUNICORN_BIND']};" in nginx_conf
    monkeypatch.delenv("GUNICORN_BIND", raising=False)
    monkeypatch.delenv("GUNICORN_WORKERS", raising=False)
    monkeypatch.delenv("GUNICORN_WORKER_CLASS", raising=False)
    monkeypatch.delenv("GUNICORN_THREADS", raising=False)
    gunicorn = runpy.run_path(str(DEPLOY / "gunicorn.conf.py"))
    assert gunicorn["bind"] == [values["GUNICORN_BIND"]]
    assert 3 <= gunicorn["workers"] <= 8
    # The example's database (SQLite): sync workers, one thread each.
    monkeypatch.setenv("FEEDBACK_DATABASE_URL", values["FEEDBACK_DATABASE_URL"])
    assert values["FEEDBACK_DATABASE_URL"].startswith("sqlite:")
    gunicorn = runpy.run_path(str(DEPLOY / "gunicorn.conf.py"))
    assert (gunicorn["worker_class"], gunicorn["threads"]) == ("sync", 1)
    # Its commented-out PostgreSQL line, as systemd reads it (quotes removed)
    # and as JSON (the app's own reading of FEEDBACK_* values): gthread.
    example = (DEPLOY / "app.env.example").read_text()
    postgres = re.search(r"^#FEEDBACK_DATABASE_URL='(.+)'$", example, re.M)
    assert postgres is not None
    for url in (postgres[1], json.dumps(postgres[1])):
        monkeypatch.setenv("FEEDBACK_DATABASE_URL", url)
        gunicorn = runpy.run_path(str(DEPLOY / "gunicorn.conf.py"))
        assert (gunicorn["worker_class"], gunicorn["threads"]) == ("gthread", 4)
    monkeypatch.setenv("GUNICORN_WORKER_CLASS", "sync")
    gunicorn = runpy.run_path(str(DEPLOY / "gunicorn.conf.py"))
    assert (gunicorn["worker_class"], gunicorn["threads"]) == ("sync", 1)
    for unit in ("blog-app.service", "blog-outbox.service"):
        text = (DEPLOY / "systemd" / unit).read_text()
        assert "EnvironmentFile=/etc/blog/app.env" in text, unit
