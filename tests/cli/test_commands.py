"""The authors' command line."""

from __future__ import annotations

import re

from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner

from feedback_app.core.db import get_db
from feedback_app.core.models import BouncedAddress

from ..conftest import ARTICLE, Desk, Reader, csrf_token


def test_list_shows_new_feedback_newest_first(
    runner: FlaskCliRunner, reader: Reader
) -> None:
    assert runner.invoke(args=["feedback", "list"]).output == "No feedback.\n"
    reader.send_and_follow(message="First one")
    reader.send_and_follow(message="Second one", email="r@example.org")
    reader.send_and_follow(message="Buy pills", homepage="spam")
    output = runner.invoke(args=["feedback", "list"]).output
    assert output.index("Second one") < output.index("First one")
    assert "[e-mail + reply page]" in output and "[reply page only]" in output
    assert "Buy pills" not in output
    spam = runner.invoke(args=["feedback", "list", "--state", "spam"]).output
    assert "Buy pills" in spam
    other = runner.invoke(args=["feedback", "list", "--article", "nope"]).output
    assert other == "No feedback.\n"


def test_list_shows_what_the_desks_inbox_shows(
    app: Flask, runner: FlaskCliRunner, reader: Reader, desk: Desk
) -> None:
    """Answered feedback is in the inbox, and so in the list; the desk's
    other tabs are views of the list too, with its article and search."""
    reader.send_and_follow(message="Answered one")
    reader.send_and_follow(message="Read one")
    reader.send_and_follow(message="New one")
    reader.send_and_follow(message="Archived one")
    answered = runner.invoke(args=["feedback", "reply", "1", "-m", "Thanks!"])
    assert answered.exit_code == 0, answered.output
    desk.post("/desk/feedback/2/state", {"action": "read"})
    desk.post("/desk/feedback/4/state", {"action": "archive"})

    def listed(*args: str) -> list[int]:
        output = runner.invoke(args=["feedback", "list", *args]).output
        return [int(n) for n in re.findall(r"^#(\d+) ", output, re.M)]

    def on_the_desk(query: str = "") -> list[int]:
        page = desk.get(f"/desk/?{query}").text
        return [int(n) for n in re.findall(r'name="ids" value="(\d+)"', page)]

    assert listed() == on_the_desk() == [3, 2, 1]
    output = runner.invoke(args=["feedback", "list"]).output
    assert re.search(r"^#1  answered  ", output, re.M)
    assert re.search(r"^#2  read      ", output, re.M)
    for view in ("new", "read", "answered", "archived", "spam"):
        assert listed("--view", view) == on_the_desk(f"view={view}"), view
    assert listed("--view", "archived") == [4]
    assert listed("--state", "new", "--state", "archived") == [4, 3]
    assert listed("--search", "read") == on_the_desk("q=read") == [2]
    assert listed("--search", "thanks!") == [1]  # in the author's answer
    assert listed("--article", ARTICLE) == [3, 2, 1]


def test_show_prints_the_conversation(
    app: Flask, client: FlaskClient, runner: FlaskCliRunner, reader: Reader
) -> None:
    token, _ = reader.send_and_follow(message="Hello\nthere", may_quote="y")
    page = client.get(f"/r/{token}")
    client.post(
        f"/r/{token}/follow-up",
        data={"csrf_token": csrf_token(page.text), "message": "One more thing"},
    )
    output = runner.invoke(args=["feedback", "show", "1"]).output
    assert "Inside sales without the script" in output
    assert "reply page only (no address)" in output
    assert "Quote:   yes" in output
    assert "Hello\nthere" in output
    assert output.index("Hello") < output.index("--- Reader") < output.index("One more")


def test_show_unknown_feedback_fails_clearly(runner: FlaskCliRunner) -> None:
    result = runner.invoke(args=["feedback", "show", "99"])
    assert result.exit_code == 1
    assert "No feedback #99." in result.output


def test_an_author_address_given_again_may_get_mail_again(
    app: Flask, runner: FlaskCliRunner
) -> None:
    added = runner.invoke(args=["authors", "add", "Ida Mohr", "ida@example.org"])
    assert added.exit_code == 0, added.output
    with get_db(app).write() as session:
        session.add(BouncedAddress(email="ida@example.org", reason="550 5.1.1"))
    result = runner.invoke(
        args=["authors", "set", "Ida Mohr", "--email", "IDA@example.org"]
    )
    assert result.exit_code == 0, result.output
    with get_db(app).read() as session:
        assert session.query(BouncedAddress).count() == 0
