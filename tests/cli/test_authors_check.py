"""``flask authors check``: every ``Author`` of the built site's articles
has an account, or the command names who has none and exits 1."""

from __future__ import annotations

from flask import Flask

from ..conftest import MAYA, TOMAS, add_author


def test_check_names_the_authors_without_an_account(app: Flask) -> None:
    runner = app.test_cli_runner()
    add_author(app, MAYA)

    missing = runner.invoke(args=["authors", "check"])

    assert missing.exit_code == 1
    assert f"{TOMAS}: 1 article(s), no account" in missing.output
    assert MAYA not in missing.stdout

    add_author(app, "Eda Editor", "eda@example.org", role="editor")
    still = runner.invoke(args=["authors", "check"])
    assert still.exit_code == 1  # an editor makes no one's account

    add_author(app, TOMAS, "tomas@example.org")
    done = runner.invoke(args=["authors", "check"])
    assert done.exit_code == 0, done.output
    assert "has an account" in done.output
