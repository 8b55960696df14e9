"""A command starts without loading what it does not use.

``flask --app feedback_app comments approve 12`` runs as a new process
each time: whatever the app imports or computes before the command's own
work is time the author waits. These tests run the app, or a command, in a
fresh interpreter and look at what it loaded and built, never at how long
it took (a timed test passes or fails with the machine's load). Each
command's module is imported when the command runs (``cli/commands.py``),
and each library below by the code that uses it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import click
import pytest
from flask import Flask

from feedback_app import create_app
from feedback_app.cli.commands import COMMANDS, LazyCommand
from feedback_app.core.db import get_db, upgrade
from feedback_app.core.models import Comment

ROOT = Path(__file__).resolve().parents[2]

#: Libraries neither the app's creation nor ``flask … --help`` needs, and
#: who loads each when it is needed.
HEAVY = (
    "mailparser_reply",  # reading received mail (mail/inbound.py)
    "inscriptis",
    "lxml",
    "markdown_it",  # rendering a comment (core/rendering.py)
    "email_validator",  # checking an address (core/addresses.py)
    "idna",
    "markdown",  # Pelican's, in its own process
    "pelican",
    "alembic",  # flask db
    "smtplib",  # sending mail (mail/transport.py)
    "imaplib",  # fetching it (mail/imap.py)
    "jsonschema",  # the tests'
)
#: What ``comments approve`` never uses, whatever publishing needs.
NOT_FOR_APPROVING = (
    "mailparser_reply",
    "inscriptis",
    "markdown_it",
    "email_validator",
    "idna",
    "alembic",
    "smtplib",
    "imaplib",
)

#: Runs in a fresh interpreter: create the app (no arguments) or run a
#: ``flask`` command; write what was loaded and built to the file named.
PROBE = """
import json, sys
args, out = json.loads(sys.argv[1]), sys.argv[2]
if args is None:
    from feedback_app import create_app
    create_app()
elif args == ["warm_up"]:
    from feedback_app.factory import create_app, warm_up
    create_app()
    warm_up()
else:
    from flask.cli import main
    sys.argv = ["flask", "--app", "feedback_app", *args]
    try:
        main()
    except SystemExit as exc:
        if exc.code:
            raise
auth = sys.modules.get("feedback_app.desk.auth")
rendering = sys.modules.get("feedback_app.core.rendering")
with open(out, "w") as fh:
    json.dump({
        "modules": sorted(sys.modules),
        "dummy hash": bool(auth and auth.dummy_hash.cache_info().currsize),
        "renderer": bool(rendering and rendering._markdown.cache_info().currsize),
    }, fh)
"""


def probe(tmp_path: Path, args: list[str] | None, **settings: Any) -> dict[str, Any]:
    """Run PROBE on an instance in ``tmp_path``; return what it found."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("FEEDBACK_")}
    env["FEEDBACK_INSTANCE_PATH"] = str(tmp_path)
    env["FEEDBACK_SECRET_KEY"] = "k"
    for key, value in settings.items():
        env[f"FEEDBACK_{key}"] = value if isinstance(value, str) else json.dumps(value)
    out = tmp_path / "probe.json"
    subprocess.run(
        [sys.executable, "-c", PROBE, json.dumps(args), str(out)],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    found: dict[str, Any] = json.loads(out.read_text())
    return found


def loaded(found: dict[str, Any], names: tuple[str, ...]) -> list[str]:
    """The packages of ``names`` that were imported, themselves or a part."""
    modules = found["modules"]
    return [n for n in names if any(m == n or m.startswith(n + ".") for m in modules)]


def commands_loaded(found: dict[str, Any]) -> list[str]:
    return [
        m
        for m in found["modules"]
        if m.startswith("feedback_app.cli.") and m != "feedback_app.cli.commands"
    ]


def test_creating_the_app_loads_no_command_and_computes_nothing_ahead(
    tmp_path: Path,
) -> None:
    found = probe(tmp_path, None)
    assert loaded(found, HEAVY) == []
    assert commands_loaded(found) == []
    assert "feedback_app.services.inbound" not in found["modules"]
    assert not found["dummy hash"]
    assert not found["renderer"]


@pytest.mark.parametrize("args", [["--help"], ["routes"]])
def test_the_command_list_loads_no_command(tmp_path: Path, args: list[str]) -> None:
    found = probe(tmp_path, args)
    assert loaded(found, HEAVY) == []
    assert commands_loaded(found) == []


def test_a_command_group_loads_its_own_module_only(tmp_path: Path) -> None:
    found = probe(tmp_path, ["comments", "--help"])
    assert loaded(found, HEAVY) == []
    assert commands_loaded(found) == ["feedback_app.cli.comments"]
    assert not found["dummy hash"]


def test_approving_a_comment_loads_nothing_it_does_not_use(
    tmp_path: Path, database_url: str
) -> None:
    settings = {
        "DATABASE_URL": database_url,
        "COMMENTS_PATH": str(tmp_path / "comments"),
        "CONTENT_PATH": str(tmp_path / "content"),
        "OUTPUT_PATH": str(tmp_path / "output"),
        "COMMENTS_REBUILD": False,
    }
    app = create_app({"SECRET_KEY": "k", **settings})
    app.instance_path = str(tmp_path)
    upgrade(app)
    with get_db(app).write() as session:
        comment = Comment(
            article_slug="a",
            article_page_url="2026/a/",
            name="Ada",
            body="Hello.",
            html="<p>Hello.</p>",
            fingerprint="f",
        )
        session.add(comment)
        session.flush()
        comment_id = comment.id
    get_db(app).dispose()
    found = probe(tmp_path, ["comments", "approve", str(comment_id)], **settings)
    if database_url.startswith("sqlite:///"):
        # The command closed its connections on its way out (the last one
        # folds the write-ahead log back in), however quickly it ended.
        assert not Path(database_url.removeprefix("sqlite:///") + "-wal").exists()
    with get_db(app).read() as session:
        assert session.get(Comment, comment_id).state == "approved"
    get_db(app).dispose()
    assert loaded(found, NOT_FOR_APPROVING) == []
    assert commands_loaded(found) == ["feedback_app.cli.comments"]
    assert not found["dummy hash"]
    assert not found["renderer"]


def test_warm_up_loads_what_a_server_shares_with_its_workers(tmp_path: Path) -> None:
    found = probe(tmp_path, ["warm_up"])
    assert loaded(found, ("markdown_it", "nh3", "email_validator")) == [
        "markdown_it",
        "nh3",
        "email_validator",
    ]
    assert "feedback_app.services.inbound" in found["modules"]
    assert found["dummy hash"]
    assert found["renderer"]


@pytest.fixture
def bare_app(tmp_path: Path) -> Flask:
    """An app with no database or site: enough for the commands' help."""
    app = create_app({"SECRET_KEY": "k", "TESTING": True})
    app.instance_path = str(tmp_path)
    return app


def test_every_command_is_listed_with_the_help_it_stands_for(bare_app: Flask) -> None:
    listing = bare_app.test_cli_runner().invoke(args=["--help"])
    assert listing.exit_code == 0, listing.output
    for name in COMMANDS:
        entry = bare_app.cli.get_command(click.Context(bare_app.cli), name)
        assert isinstance(entry, LazyCommand)
        real = entry.load()
        assert real.name == name
        for limit in (45, 200):
            assert entry.get_short_help_str(limit) == real.get_short_help_str(limit)
        assert f"  {name} " in listing.output


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_every_command_runs_as_itself(bare_app: Flask, name: str) -> None:
    """Each entry hands over to its command: its usage, help, options and
    subcommands are the command's own."""
    runner = bare_app.test_cli_runner()
    entry = bare_app.cli.commands[name]
    assert isinstance(entry, LazyCommand)
    command = entry.load()
    ctx = click.Context(command, info_name=name)
    shown = runner.invoke(args=[name, "--help"])
    assert shown.exit_code == 0, shown.output
    assert f" {name} {' '.join(command.collect_usage_pieces(ctx))}\n" in shown.output
    assert (command.help or "").split("\n")[0] in shown.output
    for param in command.get_params(ctx):
        if isinstance(param, click.Option):
            assert param.opts[0] in shown.output
    if isinstance(command, click.Group):
        for sub in command.list_commands(ctx):
            assert f"  {sub} " in shown.output
            sub_help = runner.invoke(args=[name, sub, "--help"])
            assert sub_help.exit_code == 0, sub_help.output
            assert f" {name} {sub} " in sub_help.output
