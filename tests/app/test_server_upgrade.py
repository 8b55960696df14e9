"""Upgrading a server with git while readers comment: deploy/README's own
commands on real clones.

An upstream repository (a copy of this project's site: content, theme,
settings, tasks), a server that cloned it and publishes with the guide's
settings (comment files in ``FEEDBACK_COMMENTS_PATH``, outside the
checkout), comments approved there; then upstream gets a new article and,
as an author's repository may, a comment file of its own; the server runs
the "Upgrading" commands. Nothing conflicts, no comment is lost, and the
new article is live.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from flask import Flask

from feedback_app import create_app
from feedback_app.site.files import comment_file_name

from ..conftest import ARTICLE, ROOT, Commenter

pytestmark = pytest.mark.build

GIT_ENV = {
    "GIT_AUTHOR_NAME": "Maya Lindqvist",
    "GIT_AUTHOR_EMAIL": "maya@example.org",
    "GIT_COMMITTER_NAME": "Maya Lindqvist",
    "GIT_COMMITTER_EMAIL": "maya@example.org",
}
NEW_ARTICLE = """\
Title: Cold calls in the new year
Date: 2026-12-06 09:00
Category: Sales
Slug: cold-calls-in-the-new-year
Author: Maya Lindqvist
Summary: What changes when the prospect has heard it all.

The first call of January is the hardest one.
"""


def run(cwd: Path, *args: str, env: dict[str, str] | None = None) -> str:
    result = subprocess.run(
        args,
        cwd=cwd,
        env={**os.environ, **GIT_ENV, **(env or {})},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, (args, result.stdout, result.stderr)
    return result.stdout + result.stderr


def upgrading_commands() -> list[str]:
    """The commands of deploy/README.md's "Upgrading", as the guide has them
    (every block of the section, in order)."""
    text = (ROOT / "deploy" / "README.md").read_text()
    section = text.split("## Upgrading", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```sh\n(.*?)```", section, re.S)
    assert blocks
    return [
        line.split("  #")[0].strip() for block in blocks for line in block.splitlines()
    ]


def test_a_server_upgrades_with_git_and_keeps_every_comment(
    tmp_path: Path, database_url: str
) -> None:
    # Upstream: the site, with a comment file committed as a clone may have.
    upstream, author = tmp_path / "upstream.git", tmp_path / "author"
    run(tmp_path, "git", "init", "-q", "--bare", "-b", "main", str(upstream))
    author.mkdir()
    for name in ("tasks.py", "pelicanconf.py", "publishconf.py", ".gitignore"):
        shutil.copy(ROOT / name, author / name)
    shutil.copytree(
        ROOT / "content", author / "content", ignore=shutil.ignore_patterns("comments")
    )
    shutil.copytree(ROOT / "theme", author / "theme")
    run(author, "git", "init", "-q", "-b", "main")
    run(author, "git", "add", "-A")
    run(author, "git", "commit", "-qm", "The site")
    run(author, "git", "push", "-q", str(upstream), "main")

    # The server: a clone, and the guide's settings.
    server, comments = tmp_path / "srv-blog", tmp_path / "var-lib-blog" / "comments"
    run(tmp_path, "git", "clone", "-q", str(upstream), str(server))
    comments.mkdir(parents=True)
    settings = {
        "FEEDBACK_INSTANCE_PATH": str(server / "instance"),
        "FEEDBACK_DATABASE_URL": database_url,
        "FEEDBACK_OUTPUT_PATH": str(server / "output"),
        "FEEDBACK_CONTENT_PATH": str(server / "content"),
        "FEEDBACK_COMMENTS_PATH": str(comments),
        "FEEDBACK_PELICAN_SETTINGS": str(server / "publishconf.py"),
        "FEEDBACK_SITE_URL": "https://blog.example.org",
        "SITEURL": "https://blog.example.org",
        "FEEDBACK_PELICAN_EXTRA_SETTINGS": json.dumps(
            {"CACHE_PATH": str(server / "cache")}
        ),
    }
    flask = [sys.executable, "-m", "flask", "--app", "feedback_app"]
    invoke = [sys.executable, "-m", "invoke"]
    run(server, *flask, "db", "upgrade", env=settings)
    run(server, *invoke, "publish", env=settings)

    # Readers comment; the server approves (and rewrites the page).
    app: Flask = create_app(
        {
            key.removeprefix("FEEDBACK_"): json.loads(value)
            if key == "FEEDBACK_PELICAN_EXTRA_SETTINGS"
            else value
            for key, value in settings.items()
            if key.startswith("FEEDBACK_") and key != "FEEDBACK_INSTANCE_PATH"
        }
        | {
            "TESTING": True,
            "SECRET_KEY": "s",
            "SITE_INDEX_PATH": str(server / "instance" / "site.json"),
        }
    )
    app.instance_path = str(server / "instance")
    commenter = Commenter(app.test_client())
    first = commenter.post_ok(body="Approved on the server.")
    runner = app.test_cli_runner()
    assert runner.invoke(args=["comments", "approve", str(first.id)]).exit_code == 0
    app.extensions["publisher"].wait_idle()
    page = server / "output" / ARTICLE / "index.html"
    assert "Approved on the server." in page.read_text()
    assert (comments / comment_file_name(ARTICLE)).is_file()
    assert run(server, "git", "status", "--porcelain") == ""

    # Upstream moves on: a new article, and a comment file from a clone.
    (author / "content" / "cold-calls-in-the-new-year.md").write_text(NEW_ARTICLE)
    (author / "content" / "comments").mkdir()
    (author / "content" / "comments" / comment_file_name(ARTICLE)).write_text(
        json.dumps({"version": 3, "article": ARTICLE, "comments": []}) + "\n"
    )
    run(author, "git", "add", "-A")
    run(author, "git", "commit", "-qm", "A new article")
    run(author, "git", "push", "-q", str(upstream), "main")

    # The guide's upgrade, command by command (the machine's own steps, the
    # venv and the services, are this test's).
    done = []
    for command in upgrading_commands():
        if command == "sudo -u blog -H git pull --ff-only":
            run(server, "git", "pull", "--ff-only")
        elif command == "$R flask --app feedback_app db upgrade":
            run(server, *flask, "db", "upgrade", env=settings)
        elif command == "$R invoke publish":
            run(server, *invoke, "publish", env=settings)
        else:
            continue
        done.append(command)
    assert len(done) == 3, upgrading_commands()

    # The new article is live, and the comment approved before is still on
    # its page: the build read the server's comments, not the clone's file.
    assert (server / "output" / "2026" / "cold-calls-in-the-new-year").is_dir()
    assert "Approved on the server." in page.read_text()
    # The next approval keeps it too.
    second = commenter.post_ok(body="After the upgrade.")
    assert runner.invoke(args=["comments", "approve", str(second.id)]).exit_code == 0
    shown = json.loads((comments / comment_file_name(ARTICLE)).read_text())
    assert [c["id"] for c in shown["comments"]] == [first.id, second.id]
    assert "After the upgrade." in page.read_text()
    assert run(server, "git", "status", "--porcelain") == ""
