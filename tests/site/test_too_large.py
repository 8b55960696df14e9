"""A reader's post too large to take, on a site that is not in English: the
page that says so speaks the site's ``DEFAULT_LANG``.

Two pages say it. Past the app's ``MAX_CONTENT_LENGTH`` (64 KB) the app
answers 413 with its error page (``factory._error_page``), which reads no
form and so knows no article: it speaks the site's language. Past nginx's
``client_max_body_size`` (128 KB, ``deploy/nginx/blog.conf``) the app never
sees the post: nginx answers with ``413.html``, which the build writes from
``theme/templates/413.html`` in the site's language; nginx's own page is
English whatever the site. The sites are ``language_sites``' real builds;
nginx is the real one, with the shipped blog.conf (skipped without it, as in
``tests/app/test_nginx.py``).
"""

from __future__ import annotations

import http.client
import shutil
import signal
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlencode

import pytest
from flask import Flask

from feedback_app import create_app
from feedback_app.core import translations
from feedback_app.core.db import get_db, upgrade

from ..app.test_nginx import (
    PUBLIC_HOST,
    free_port,
    main_conf,
    nginx_binary,
    site_conf,
    stop,
    wait_for,
)
from ..conftest import ORIGIN
from ..processes import dies_with_this_process
from .language_sites import LANGS, THREADED
from .test_build import Page

pytestmark = pytest.mark.build

TITLE = "Too long to send"
SAID = (
    "What you sent is larger than this site accepts. Please go back, shorten it "
    "and send it again."
)


def in_language(lang: str, message: str) -> str:
    return translations.translations(lang).gettext(message)


def assert_speaks(html: Page, lang: str) -> None:
    """The page is the too-large page, in ``lang``, and no English is left."""
    assert html.one("html").attrs["lang"] == lang
    title = html.one("h1").text.strip()
    assert title == in_language(lang, TITLE)
    text = " ".join(e.text for e in html.elements if e.tag == "main")
    assert in_language(lang, SAID) in " ".join(text.split())
    if (translations.CATALOGUES / lang).is_dir():  # not Arabic: no catalogue
        assert title != TITLE and "larger than this site accepts" not in text


@contextmanager
def site_app(output: Path, tmp_path: Path) -> Iterator[Flask]:
    """The app of the site built into ``output``, on a new database."""
    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "test secret",
            "DATABASE_URL": f"sqlite:///{tmp_path / 'feedback.sqlite3'}",
            "SITE_INDEX_PATH": str(output.parent / "site.json"),
            "OUTPUT_PATH": str(output),
            "SITE_URL": "https://blog.example.org",
            "COMMENTS_PATH": str(tmp_path / "comments"),
            "CONTENT_PATH": str(tmp_path / "content"),
            "MAILDIR_PATH": str(tmp_path / "maildir"),
            "COMMENTS_REBUILD": False,
            "MAX_CONTENT_LENGTH": 4096,
            "MAX_FORM_MEMORY_SIZE": 4096,
        }
    )
    app.instance_path = str(tmp_path)
    upgrade(app)
    try:
        yield app
    finally:
        get_db(app).dispose()


@pytest.mark.parametrize("lang", ["fr", "de"])
@pytest.mark.parametrize("form", ["/feedback", "/comments"])
def test_the_apps_413_speaks_the_sites_language(
    language_sites: dict[str, Path], tmp_path: Path, lang: str, form: str
) -> None:
    with site_app(language_sites[lang], tmp_path) as app:
        refused = app.test_client().post(
            form,
            data={"article": f"2024/{THREADED}/", "message": "x" * 10_000},
            headers={"Origin": ORIGIN, "Referer": f"{ORIGIN}/2024/{THREADED}/"},
        )
    assert refused.status_code == 413
    assert_speaks(Page(refused.text), lang)


@pytest.mark.parametrize("lang", LANGS)
def test_the_build_writes_the_413_page_in_the_sites_language(
    language_sites: dict[str, Path], lang: str
) -> None:
    html = Page.load(language_sites[lang] / "413.html")
    assert_speaks(html, lang)
    assert html.one("html").attrs["dir"] == ("rtl" if lang == "ar" else "ltr")


@pytest.fixture
def french_nginx(language_sites: dict[str, Path], tmp_path: Path) -> Iterator[int]:
    """Real nginx with the shipped blog.conf serving the French site (no
    app behind it: what nginx refuses never reaches the app); its port."""
    nginx = nginx_binary()
    output = tmp_path / "output"
    shutil.copytree(language_sites["fr"], output)
    port, app_port = free_port(), free_port()
    (tmp_path / "blog.conf").write_text(site_conf(tmp_path, output, port, app_port))
    (tmp_path / "nginx.conf").write_text(main_conf(tmp_path))
    command = [nginx, "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf")]
    command += ["-e", str(tmp_path / "error.log")]
    with (tmp_path / "nginx.out").open("wb") as log:
        web = subprocess.Popen(
            [*command, "-g", "daemon off;"],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=dies_with_this_process,
        )
    try:
        wait_for(port, "/", web, tmp_path / "error.log")
        yield port
    finally:
        stop(web, signal.SIGTERM)


def test_nginxs_413_speaks_the_sites_language(french_nginx: int) -> None:
    body = urlencode({"article": f"2024/{THREADED}/", "message": "x" * 300_000})
    connection = http.client.HTTPConnection("127.0.0.1", french_nginx, timeout=15)
    try:
        connection.request(
            "POST",
            "/app/feedback",
            body=body.encode(),
            headers={
                "Host": PUBLIC_HOST,
                "Content-Type": "application/x-www-form-urlencoded",
            },
        )
        response = connection.getresponse()
        text = response.read().decode()
    finally:
        connection.close()
    assert response.status == 413
    assert response.getheader("Content-Type") == "text/html; charset=utf-8"
    assert_speaks(Page(text), "fr")
