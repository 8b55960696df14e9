"""The answer form's rules, through the desk's pages (Flask's test client):
privately unless a post is chosen, a post's fields counted only for a post,
and the author's own reply named as theirs."""

from __future__ import annotations

from flask import Flask

from ..conftest import MAYA, Commenter, Desk, Reader, newest_comment
from .test_work import all_feedback, drafts_in, one_feedback, send


def test_a_private_answer_ignores_the_posts_fields(
    app: Flask, reader: Reader, desk: Desk
) -> None:
    """Fields of a post not chosen, however filled, stop nothing."""
    feedback_id = send(reader)  # no address, not to be quoted
    response = desk.post(
        f"/desk/feedback/{feedback_id}/answer",
        {"answer": "Hi.", "send_to": "private", "title": "T" * 300, "summary": ""},
    )
    assert response.status_code == 303
    assert [m.via for m in one_feedback(app, feedback_id).messages] == ["page"]
    assert drafts_in(app) == []


def test_the_form_without_a_choice_answers_privately(
    app: Flask, reader: Reader, desk: Desk
) -> None:
    feedback_id = send(reader)
    page = desk.get(f"/desk/feedback/{feedback_id}").text
    chosen = 'id="answer-to-private" type="radio" name="send_to" value="private"'
    assert chosen + " checked" in page
    assert page.count(" checked") == 1  # one choice, privately
    response = desk.post(f"/desk/feedback/{feedback_id}/answer", {"answer": "Hi."})
    assert response.status_code == 303
    assert one_feedback(app, feedback_id).state == "answered"


def test_a_posts_error_is_named_in_the_banner_and_by_its_field(
    app: Flask, reader: Reader, desk: Desk
) -> None:
    feedback_id = send(reader)
    response = desk.post(
        f"/desk/feedback/{feedback_id}/answer",
        {"answer": "Kept.", "send_to": "both", "title": "On quotas"},
    )
    assert response.status_code == 422
    page = response.text
    banner = page[page.index('id="form-error"') :][:600]
    assert "The post: The reader did not agree to be quoted" in banner
    assert 'id="answer-summary-error"' in page
    chosen = 'id="answer-to-both" type="radio" name="send_to" value="both"'
    assert chosen + " checked" in page
    assert ">Kept.</textarea>" in page
    assert one_feedback(app, feedback_id).messages == []
    assert [f.state for f in all_feedback(app)] == ["new"]


def test_the_authors_own_comment_reply_is_named_as_theirs(
    app: Flask, commenter: Commenter, desk: Desk
) -> None:
    comment_id = commenter.post_ok(body="Is this right?").id
    desk.post(f"/desk/comments/{comment_id}/reply", {"body": "Yes."})
    reply = newest_comment(app)
    assert reply.is_author and reply.name == MAYA
    page = desk.get(f"/desk/comments/{reply.id}").text
    assert "(no address)" not in page
    assert "(you)" in page
