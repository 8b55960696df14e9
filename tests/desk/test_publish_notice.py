"""A publish that fails is said on every desk page until one succeeds: an
approval on the desk whose page cannot be written (the comment file shows
a comment the database never knew) is not silent."""

from __future__ import annotations

import json
from pathlib import Path

from flask import Flask

from feedback_app.site.files import comment_file_name

from ..conftest import ARTICLE, Commenter, Desk, add_author


def test_a_failed_publish_is_on_every_desk_page_until_one_succeeds(
    publishing_app: Flask,
) -> None:
    app = publishing_app
    add_author(app)
    desk = Desk(app.test_client())
    assert desk.sign_in().status_code == 303
    commenter = Commenter(app.test_client())
    first, second = commenter.post_ok(body="One."), commenter.post_ok(body="Two.")
    desk.post(f"/desk/comments/{first.id}/state", {"action": "approve"})
    app.extensions["publisher"].wait_idle()
    assert "last publish failed" not in desk.get("/desk/").text

    # A file that shows a comment this database never had (a new database).
    path = Path(app.config["COMMENTS_PATH"]) / comment_file_name(ARTICLE)
    data = json.loads(path.read_text())
    data["comments"].append({**data["comments"][0], "id": 4242})
    path.write_text(json.dumps(data))
    desk.post(f"/desk/comments/{second.id}/state", {"action": "approve"})
    app.extensions["publisher"].wait_idle()

    for page in ("/desk/", "/desk/comments", "/desk/settings"):
        text = desk.get(page).text
        assert "last publish failed (" in text, page
        assert "#4242" in text and "comments import" in text, page

    # Once the file is whole again, the next publish clears it.
    data["comments"].pop()
    path.write_text(json.dumps(data))
    desk.post(f"/desk/comments/{second.id}/state", {"action": "unapprove"})
    app.extensions["publisher"].wait_idle()
    assert "last publish failed" not in desk.get("/desk/").text
