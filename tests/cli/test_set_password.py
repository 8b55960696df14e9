"""`flask --app feedback_app authors set-password`: at a terminal, a password
the rules refuse is said at once and asked again; from a pipe, it fails
clearly. The terminal is a real one (a pseudo-terminal), the command a real
process on the test's database."""

from __future__ import annotations

import os
import pty
import select
import subprocess
import sys
from pathlib import Path

from flask import Flask

from feedback_app.core.db import get_db
from feedback_app.core.models import Author

from ..conftest import MAYA, add_author
from ..desk.test_access import author, desk_of, is_signed_in

ROOT = Path(__file__).resolve().parents[2]
NEW = "a long enough passphrase"


class Terminal:
    """A command at a pseudo-terminal: read what it shows, type lines."""

    def __init__(self, args: list[str], env: dict[str, str]) -> None:
        self.master, slave = pty.openpty()
        self.process = subprocess.Popen(
            args, stdin=slave, stdout=slave, stderr=slave, env=env, cwd=ROOT
        )
        os.close(slave)
        self.shown = ""

    def wait_for(self, text: str, timeout: float = 60) -> str:
        """Read until ``text`` is shown (after what was read before); return
        all that was shown."""
        start = len(self.shown)
        while text not in self.shown[start:]:
            ready, _, _ = select.select([self.master], [], [], timeout)
            assert ready, f"{text!r} not shown; shown: {self.shown!r}"
            try:
                chunk = os.read(self.master, 4096)
            except OSError:  # the command ended
                chunk = b""
            assert chunk, f"{text!r} not shown; shown: {self.shown!r}"
            self.shown += chunk.decode(errors="replace")
        return self.shown

    def type(self, line: str) -> None:
        os.write(self.master, line.encode() + b"\r")

    def finish(self) -> int:
        try:
            while select.select([self.master], [], [], 60)[0]:
                chunk = os.read(self.master, 4096)
                if not chunk:
                    break
                self.shown += chunk.decode(errors="replace")
        except OSError:
            pass
        code = self.process.wait(timeout=60)
        os.close(self.master)
        return code


def command_env(app: Flask, tmp_path: Path) -> dict[str, str]:
    """The environment that makes `flask --app feedback_app` this test's app."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("FEEDBACK_")}
    env.update(
        FEEDBACK_INSTANCE_PATH=str(tmp_path / "instance"),
        FEEDBACK_SECRET_KEY=str(app.config["SECRET_KEY"]),
        FEEDBACK_DATABASE_URL=str(app.config["DATABASE_URL"]),
        FEEDBACK_SITE_INDEX_PATH=str(app.config["SITE_INDEX_PATH"]),
        FEEDBACK_SITE_URL=str(app.config["SITE_URL"]),
        PYTHONPATH=str(ROOT),
        TERM="dumb",
    )
    return env


def test_at_a_terminal_a_refused_password_is_said_at_once_and_asked_again(
    app: Flask, tmp_path: Path
) -> None:
    add_author(app)
    maya = desk_of(app, MAYA)
    minimum = app.config["MIN_PASSWORD_LENGTH"]
    terminal = Terminal(
        [
            sys.executable,
            "-m",
            "flask",
            "--app",
            "feedback_app",
            "authors",
            "set-password",
            MAYA,
        ],
        command_env(app, tmp_path),
    )
    prompt = f"New password for {MAYA} (at least {minimum} characters): "
    terminal.wait_for(prompt)
    terminal.type("short")
    # Refused before "Once more", and asked again.
    shown = terminal.wait_for(prompt)
    assert f"Use at least {minimum} characters." in shown
    assert "Once more" not in shown
    terminal.type(" " * minimum)
    shown = terminal.wait_for(prompt)
    assert "only spaces" in shown
    terminal.type(NEW)
    terminal.wait_for("Once more: ")
    terminal.type(NEW + " but not quite")
    shown = terminal.wait_for(prompt)  # two that differ: from the start
    assert "do not match" in shown
    terminal.type(NEW)
    terminal.wait_for("Once more: ")
    terminal.type(NEW)
    assert terminal.finish() == 0, terminal.shown
    assert "Password set." in terminal.shown
    assert NEW not in terminal.shown and "short" not in terminal.shown
    assert not is_signed_in(maya)
    desk_of(app, MAYA, NEW)


def test_from_a_pipe_a_refused_password_fails_at_once(app: Flask) -> None:
    add_author(app)
    before = author(app, MAYA).password_hash
    runner = app.test_cli_runner()
    minimum = app.config["MIN_PASSWORD_LENGTH"]
    # One refused line: the command does not wait for a second.
    result = runner.invoke(args=["authors", "set-password", MAYA], input="short\n")
    assert result.exit_code == 1
    assert f"Use at least {minimum} characters. Nothing was changed." in result.output
    assert "Once more" not in result.output
    for given, said in (
        ("", "No password read"),
        (f"{NEW}\n", "No password read"),
        (f"{NEW}\n{NEW}!\n", "The two passwords are not the same."),
    ):
        result = runner.invoke(args=["authors", "set-password", MAYA], input=given)
        assert result.exit_code == 1, result.output
        assert said in result.output
        assert "Aborted" not in result.output
    with get_db(app).read() as session:
        assert session.get(Author, author(app, MAYA).id).password_hash == before
