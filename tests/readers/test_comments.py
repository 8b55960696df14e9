"""Public comments through the app: posting, moderation rules, the CLI."""

from __future__ import annotations

import json
import re
from dataclasses import replace
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner
from sqlalchemy import func, select
from werkzeug.test import TestResponse

from feedback_app.core.db import get_db
from feedback_app.core.models import Comment
from feedback_app.readers import comment_rules
from feedback_app.site.files import comment_file_name
from feedback_app.site.lock import publish_lock
from feedback_app.site.publishing import Publisher
from feedback_app.site.threads import published_comments
from feedback_app.store import comments as cm

from ..conftest import ARTICLE, ROOT, Commenter, build_site, newest_comment

OTHER_ARTICLE = "2026/follow-up-emails-that-get-answered/"


def newest(app: Flask) -> Comment:
    return newest_comment(app)


def count(app: Flask) -> int:
    with get_db(app).read() as session:
        return session.scalar(select(func.count(Comment.id)))


def shown_id(commenter: Commenter, response: TestResponse) -> str:
    """Return the id of the comment a posted page shows."""
    page = commenter.client.get(response.location).text
    return re.search(r'id="comment-(\d+)"', page).group(1)


def approve(app: Flask, comment_id: int) -> None:
    with get_db(app).write() as session:
        cm.set_state(session, comment_id, "approved")


# --- posting ---


def test_first_comment_is_held_and_shown_as_it_will_look(
    app: Flask, client: FlaskClient, commenter: Commenter
) -> None:
    response = commenter.post(body="Hello **there**\n\n> quoted")
    page = client.get(response.location)
    assert page.status_code == 200
    assert "awaiting moderation" in page.text
    assert "<strong>there</strong>" in page.text
    assert "<blockquote>" in page.text
    comment = newest(app)
    assert comment.state == "pending"
    assert comment.reason == "first comment from this address"
    assert comment.body == "Hello **there**\n\n> quoted"  # the source is kept
    assert comment.depth == 1 and comment.parent_id is None


def test_markdown_is_rendered_and_sanitised_once_when_stored(
    app: Flask, commenter: Commenter
) -> None:
    comment = commenter.post_ok(
        body="<script>alert(1)</script> [x](javascript:alert(1)) "
        "[ok](https://example.org) <img src=x onerror=alert(1)>"
    )
    assert "<script" not in comment.html and "<img" not in comment.html
    assert "javascript:" not in comment.html.replace("[x](javascript:", "")
    assert 'href="javascript' not in comment.html
    assert (
        '<a href="https://example.org" rel="nofollow ugc noopener">ok</a>'
        in comment.html
    )
    assert "&lt;script&gt;" in comment.html


def test_approved_address_and_name_are_trusted_afterwards(
    app: Flask, commenter: Commenter
) -> None:
    first = commenter.post_ok()
    approve(app, first.id)
    assert commenter.post_ok(body="Second").state == "approved"
    assert commenter.post_ok(body="Third", name="ANA").state == "approved"
    # The same address under another name is a stranger, as in WordPress.
    other = commenter.post_ok(body="Fourth", name="Not Ana")
    assert other.state == "pending"


def test_comment_without_address_is_held_unless_configured(
    app: Flask, commenter: Commenter
) -> None:
    held = commenter.post_ok(email="")
    assert (held.state, held.reason, held.email) == (
        "pending",
        "has no e-mail address",
        None,
    )
    app.config["COMMENTS_HOLD_WITHOUT_EMAIL"] = False
    assert commenter.post_ok(email="", body="Again").state == "approved"


@pytest.mark.parametrize(("links", "state"), [(2, "approved"), (3, "pending")])
def test_more_links_than_the_limit_are_held(
    app: Flask, commenter: Commenter, links: int, state: str
) -> None:
    approve(app, commenter.post_ok().id)
    body = " ".join(f"see https://example.org/{i}" for i in range(links))
    comment = commenter.post_ok(body=body)
    assert comment.state == state
    if state == "pending":
        assert comment.reason == "has 3 links"


def test_word_lists_hold_or_mark_as_spam(app: Flask, commenter: Commenter) -> None:
    approve(app, commenter.post_ok().id)
    app.config["COMMENTS_HOLD_WORDS"] = ["crypto"]
    app.config["COMMENTS_SPAM_WORDS"] = ["casino"]
    held = commenter.post_ok(body="About CRYPTO payments")
    assert (held.state, held.reason) == ("pending", "contains the word “crypto”")
    spam = commenter.post_ok(body="Best Casino here")
    assert spam.state == "spam"
    in_website = commenter.post_ok(body="hi", website="https://casino.example")
    assert in_website.state == "spam"


def test_honeypot_looks_like_success_but_is_spam(
    app: Flask, client: FlaskClient, commenter: Commenter
) -> None:
    response = commenter.post(homepage="http://spam.example")
    assert response.status_code == 303
    assert "awaiting moderation" in client.get(response.location).text
    assert newest(app).state == "spam"


def test_email_can_be_required_by_the_site(
    app: Flask, commenter: Commenter, tmp_path: Path
) -> None:
    index = json.loads(Path(app.config["SITE_INDEX_PATH"]).read_text())
    index["comments"]["require_email"] = True
    path = tmp_path / "site.json"
    path.write_text(json.dumps(index))
    app.extensions["site_index"].path = str(path)
    response = commenter.post(email="")
    assert response.status_code == 422
    assert "Please give your e-mail address." in response.text
    assert count(app) == 0
    assert commenter.post(email="a@example.org").status_code == 303


@pytest.mark.parametrize(
    ("given", "stored"),
    [
        ("https://ana.example/blog", "https://ana.example/blog"),
        ("http://ana.example", "http://ana.example"),
        ("ana.example", "https://ana.example"),
        ("", None),
    ],
)
def test_website_is_http_or_https(
    app: Flask, commenter: Commenter, given: str, stored: str | None
) -> None:
    assert commenter.post_ok(website=given).website == stored


@pytest.mark.parametrize(
    "website",
    [
        "javascript:alert(1)",
        "javascript://%0aalert(1)",
        "ftp://files.example",
        "data:text/html,hi",
        "https://",
        "https://exa mple.org",
        "https://example.org:99999",
    ],
)
def test_other_websites_are_refused_with_the_text_kept(
    app: Flask, commenter: Commenter, website: str
) -> None:
    response = commenter.post(website=website, body="Kept text")
    assert response.status_code == 422
    assert "starting with http:// or https://" in response.text
    assert "Kept text" in response.text
    assert count(app) == 0


@pytest.mark.parametrize(
    ("field", "limit_key"),
    [
        ("body", "MAX_MESSAGE_LENGTH"),
        ("name", "MAX_NAME_LENGTH"),
        ("website", "MAX_WEBSITE_LENGTH"),
    ],
)
def test_fields_accept_their_limit_and_refuse_one_more(
    app: Flask, commenter: Commenter, field: str, limit_key: str
) -> None:
    limit = app.config[limit_key]
    prefix = "https://example.org/" if field == "website" else ""

    def value(length: int) -> str:
        return prefix + "a" * (length - len(prefix))

    assert commenter.post(**{field: value(limit)}).status_code == 303
    refused = commenter.post(**{"body": "other text", field: value(limit + 1)})
    assert refused.status_code == 422
    assert f"Please keep this to {limit:,} characters" in refused.text
    assert count(app) == 1


@pytest.mark.parametrize(
    ("fields", "error", "status"),
    [
        ({"name": ""}, "Please give a name.", 422),
        ({"body": " \n "}, "Please write a comment.", 422),
        ({"email": "ana@"}, "not an e-mail address", 422),
        # No keyboard types a control character: 400, the text still kept.
        ({"name": "Ana\u0007"}, "control characters", 400),
        ({"body": "null \x00 byte"}, "control characters", 400),
    ],
)
def test_invalid_comments_are_shown_again_with_errors(
    app: Flask, commenter: Commenter, fields: dict[str, str], error: str, status: int
) -> None:
    response = commenter.post(**{"website": "https://kept.example", **fields})
    assert response.status_code == status
    assert error in response.text
    assert 'value="https://kept.example"' in response.text
    assert count(app) == 0


def test_cross_site_posts_are_refused(app: Flask, commenter: Commenter) -> None:
    assert commenter.post(origin="https://evil.example").status_code == 403
    assert commenter.post(origin=None).status_code == 403
    assert count(app) == 0


def test_unknown_article_is_refused_without_echo(
    app: Flask, commenter: Commenter
) -> None:
    response = commenter.post(article="no-such-<b>article</b>")
    assert response.status_code == 400
    assert "no-such" not in response.text
    assert count(app) == 0


# --- idempotency ---


def test_same_submission_key_stores_one_comment(
    app: Flask, commenter: Commenter
) -> None:
    key = "3f1c2a9e-1b7d-4c55-9a0e-5d1f0b6c7a21"
    first = commenter.post(submission_key=key)
    second = commenter.post(submission_key=key)
    assert first.status_code == second.status_code == 303
    assert shown_id(commenter, first) == shown_id(commenter, second)
    assert count(app) == 1


def test_new_text_under_a_used_key_is_a_new_comment(
    app: Flask, commenter: Commenter
) -> None:
    # The form came back from the browser's history with its old key.
    key = "3f1c2a9e-1b7d-4c55-9a0e-5d1f0b6c7a21"
    first = commenter.post(submission_key=key)
    second = commenter.post(submission_key=key, body="A second thought")
    assert shown_id(commenter, first) != shown_id(commenter, second)
    assert count(app) == 2
    assert newest(app).body == "A second thought"
    assert newest(app).submission_key is None


def test_same_reply_to_two_comments_is_two_replies(
    app: Flask, commenter: Commenter
) -> None:
    one = commenter.post_ok(body="one")
    two = commenter.post_ok(body="two")
    approve(app, one.id)
    approve(app, two.id)
    commenter.post_ok(body="Thanks!", parent=str(one.id))
    commenter.post_ok(body="Thanks!", parent=str(two.id))
    assert count(app) == 4


def test_same_comment_twice_without_key_stores_one(
    app: Flask, commenter: Commenter
) -> None:
    first = commenter.post()
    second = commenter.post()
    assert shown_id(commenter, first) == shown_id(commenter, second)
    assert count(app) == 1
    commenter.post(body="Something else")
    assert count(app) == 2


def test_a_reply_is_checked_against_its_parent_when_stored(
    app: Flask, commenter: Commenter
) -> None:
    """The comment is rendered and judged before the write transaction; its
    parent is looked up inside it, after the duplicate check: a reply whose
    parent was unpublished meanwhile is refused, a retry of one stored
    before is still answered with it."""
    parent = commenter.post_ok()
    approve(app, parent.id)
    article = app.extensions["site_index"].article(ARTICLE)
    fields = {"name": "Rita", "body": "A reply", "email": "rita@example.org"}
    with app.test_request_context():
        new = comment_rules.prepare_comment(
            article, parent_id=parent.id, rules=app.config, **fields
        )
    with get_db(app).write() as session:
        stored, created = cm.store_comment(session, new, submission_key="k-1")
    assert created and (stored.parent_id, stored.depth) == (parent.id, 2)
    with get_db(app).write() as session:
        cm.set_state(session, parent.id, "trash")  # a moderator, meanwhile

    with get_db(app).write() as session:  # the retry
        again, created = cm.store_comment(session, new, submission_key="k-1")
    assert (again.id, created) == (stored.id, False)
    other = replace(new, body="Another", fingerprint="another")
    with (
        pytest.raises(cm.CommentError, match="not published"),
        get_db(app).write() as session,
    ):
        cm.store_comment(session, other, submission_key="k-2")
    with get_db(app).read() as session:
        replies = session.scalars(
            select(Comment.id).where(Comment.parent_id == parent.id)
        ).all()
    assert replies == [stored.id]


def test_a_known_commenter_is_approved_by_name_and_address(
    app: Flask, commenter: Commenter
) -> None:
    """The one rule that needs the database (an address with a comment
    approved under the same name) is applied in the write transaction."""
    first = commenter.post_ok(name="Åsa Berg", email="asa@example.org")
    assert (first.state, first.reason) == (
        "pending",
        "first comment from this address",
    )
    approve(app, first.id)
    again = commenter.post_ok(name="ÅSA BERG", email="asa@example.org", body="2")
    assert again.state == "approved"
    other_name = commenter.post_ok(name="Someone", email="asa@example.org", body="3")
    assert other_name.state == "pending"
    other_address = commenter.post_ok(name="Åsa Berg", email="b@example.org", body="4")
    assert other_address.state == "pending"


def test_malformed_submission_key_is_ignored(app: Flask, commenter: Commenter) -> None:
    commenter.post_ok(submission_key="short")
    assert newest(app).submission_key is None


# --- replies ---


def test_reply_to_a_published_comment(app: Flask, commenter: Commenter) -> None:
    parent = commenter.post_ok()
    approve(app, parent.id)
    reply = commenter.post_ok(parent=str(parent.id), body="A reply")
    assert (reply.parent_id, reply.depth) == (parent.id, 2)


@pytest.mark.parametrize("case", ["pending", "other-article", "missing", "garbage"])
def test_reply_must_answer_a_published_comment_of_the_article(
    app: Flask, commenter: Commenter, case: str
) -> None:
    parent = commenter.post_ok(
        article=OTHER_ARTICLE if case == "other-article" else ARTICLE
    )
    if case != "pending":
        approve(app, parent.id)
    target = {"missing": "999", "garbage": "1 OR 1=1"}.get(case, str(parent.id))
    response = commenter.post(parent=target, body="A reply")
    assert response.status_code == 400
    assert count(app) == 1


def test_threads_nest_no_deeper_than_the_limit(
    app: Flask, commenter: Commenter
) -> None:
    parent_id = None
    chain = []
    for level in range(7):
        fields = {"body": f"level {level}"}
        if parent_id:
            fields["parent"] = str(parent_id)
        comment = commenter.post_ok(**fields)
        approve(app, comment.id)
        chain.append(comment)
        parent_id = comment.id
    assert [c.depth for c in chain] == [1, 2, 3, 4, 5, 5, 5]
    # Past the limit a reply joins its parent's level, answering the same comment.
    assert chain[5].parent_id == chain[3].id
    assert chain[6].parent_id == chain[3].id


def test_reply_page_shows_the_comment_and_the_form(
    app: Flask, client: FlaskClient, commenter: Commenter
) -> None:
    parent = commenter.post_ok(body="The *parent*")
    assert client.get(f"/comments/reply/{parent.id}").status_code == 404  # pending
    approve(app, parent.id)
    page = client.get(f"/comments/reply/{parent.id}")
    assert page.status_code == 200
    assert "Reply to Ana" in page.text
    assert "The <em>parent</em>" in page.text
    assert f'name="parent" value="{parent.id}"' in page.text
    assert "ana@example.org" not in page.text  # nothing remembered: no cookie


# --- remember me ---


def test_nothing_is_remembered_without_the_checkbox(
    client: FlaskClient, commenter: Commenter
) -> None:
    response = commenter.post()
    assert "Set-Cookie" not in response.headers


def test_remembered_details_fill_the_form_and_can_be_forgotten(
    app: Flask, client: FlaskClient, commenter: Commenter
) -> None:
    response = commenter.post(remember="y", website="https://ana.example")
    cookie = response.headers["Set-Cookie"]
    assert cookie.startswith("comment_author=")
    assert "Path=/" in cookie and "SameSite=Lax" in cookie
    first = newest(app)
    approve(app, first.id)
    page = client.get(f"/comments/reply/{first.id}")
    assert 'value="ana@example.org"' in page.text
    assert 'value="https://ana.example"' in page.text

    forgotten = commenter.post(body="Forget me")
    assert "comment_author=;" in forgotten.headers["Set-Cookie"]  # deleted


# --- the posted page ---


def test_posted_page_needs_its_signed_ticket(
    client: FlaskClient, commenter: Commenter
) -> None:
    location = commenter.post().location
    assert client.get(location).status_code == 200
    tampered = re.sub(r"posted/\w", "posted/X", location)
    assert client.get(tampered).status_code == 404
    assert client.get("/comments/posted/1").status_code == 404


def test_posted_page_of_an_approved_comment_links_to_it(
    app: Flask, client: FlaskClient, commenter: Commenter
) -> None:
    approve(app, commenter.post_ok().id)
    response = commenter.post(body="Shown at once")
    page = client.get(response.location)
    comment = newest(app)
    assert comment.state == "approved"
    assert "Your comment is published" in page.text
    assert f"/{ARTICLE}#comment-{comment.id}" in page.text


# --- what is published ---


def test_published_comments_carry_no_private_data(
    app: Flask, commenter: Commenter
) -> None:
    comment = commenter.post_ok(website="https://ana.example")
    approve(app, comment.id)
    commenter.post_ok(body="Still pending", name="Bo", email="bo@example.org")
    with get_db(app).read() as session:
        published = published_comments(session, ARTICLE)
    assert len(published) == 1
    assert set(published[0]) == {
        "id",
        "parent",
        "name",
        "website",
        "date",
        "author",
        "html",
    }
    assert "ana@example.org" not in json.dumps(published)
    assert published[0]["author"] is False


def test_replies_to_hidden_comments_move_up_the_thread(
    app: Flask, commenter: Commenter
) -> None:
    top = commenter.post_ok(body="top")
    approve(app, top.id)
    middle = commenter.post_ok(body="middle", parent=str(top.id))
    approve(app, middle.id)
    leaf = commenter.post_ok(body="leaf", parent=str(middle.id))
    approve(app, leaf.id)
    with get_db(app).write() as session:
        cm.set_state(session, middle.id, "trash")
    with get_db(app).read() as session:
        published = {c["id"]: c["parent"] for c in published_comments(session, ARTICLE)}
    assert published == {top.id: None, leaf.id: top.id}

    deeper = commenter.post_ok(body="deeper", parent=str(leaf.id))
    with get_db(app).write() as session:
        cm.delete_comment(session, middle.id)
    with get_db(app).read() as session:
        moved = session.get(Comment, leaf.id)
        below = session.get(Comment, deeper.id)
    assert (moved.parent_id, moved.depth) == (top.id, 2)
    assert (below.parent_id, below.depth) == (leaf.id, 3)


# --- the CLI ---


def test_cli_moderates_and_publishes(
    app: Flask, runner: FlaskCliRunner, commenter: Commenter
) -> None:
    comment = commenter.post_ok(body="Approve *me*")
    listed = runner.invoke(args=["comments", "list"]).output
    assert f"#{comment.id}  pending" in listed
    assert "first comment from this address" in listed

    shown = runner.invoke(args=["comments", "show", str(comment.id)]).output
    assert "ana@example.org" in shown and "Approve *me*" in shown

    result = runner.invoke(args=["comments", "approve", str(comment.id)])
    assert result.exit_code == 0, result.output
    assert "approved" in result.output
    published = Path(app.config["COMMENTS_PATH"]) / comment_file_name(ARTICLE)
    data = json.loads(published.read_text())
    assert [c["id"] for c in data["comments"]] == [comment.id]
    assert "<em>me</em>" in data["comments"][0]["html"]

    runner.invoke(args=["comments", "unapprove", str(comment.id)])
    assert not published.exists()  # no approved comment left
    runner.invoke(args=["comments", "approve", str(comment.id)])
    runner.invoke(args=["comments", "spam", str(comment.id)])
    assert newest(app).state == "spam"
    assert not published.exists()

    runner.invoke(args=["comments", "trash", str(comment.id)])
    trash = runner.invoke(args=["comments", "list", "--state", "trash"]).output
    assert f"#{comment.id}  trash" in trash
    result = runner.invoke(args=["comments", "delete", str(comment.id)])
    assert "deleted" in result.output
    assert count(app) == 0


def test_cli_unknown_comment_fails_clearly(runner: FlaskCliRunner) -> None:
    for command in ("show", "approve", "delete"):
        result = runner.invoke(args=["comments", command, "99"])
        assert result.exit_code == 1
        assert "No comment #99." in result.output


# --- publishing: coalesced rebuilds on a real build ---


@pytest.mark.build
def test_concurrent_publishes_coalesce_into_few_rebuilds(
    app: Flask, commenter: Commenter, tmp_path: Path
) -> None:
    out = tmp_path / "site"
    comments_dir = tmp_path / "comments"
    index = build_site(
        out,
        extra={"FEEDBACK_COMMENTS_PATH": str(comments_dir)},
    )
    app.config.update(
        COMMENTS_REBUILD=True,
        CONTENT_PATH=str(ROOT / "content"),  # read only: no post is written
        COMMENTS_PATH=str(comments_dir),
        OUTPUT_PATH=str(out / "output"),
        SITE_INDEX_PATH=str(index),
        PELICAN_EXTRA_SETTINGS={"CACHE_PATH": str(out / "cache")},
    )
    app.extensions["site_index"].path = str(index)
    slugs = [ARTICLE, OTHER_ARTICLE, "2026/reader-mail-easy-to-say-without-a-quota/"]
    ids = []
    for slug in slugs:
        comment = commenter.post_ok(article=slug, body=f"On {slug}")
        approve(app, comment.id)
        ids.append(comment.id)

    publisher: Publisher = app.extensions["publisher"]
    # The known commenter's later comments were published as they came.
    assert publisher.wait_idle(timeout=60)
    before = publisher.runs
    # Requests that arrive while a publish runs (here: while the site's
    # lock is held) wait for it together, however slow the machine: the
    # first may have been taken already, the rest become one run.
    with publish_lock(app):
        for slug in slugs:
            publisher.publish({slug})
    assert publisher.wait_idle(timeout=60)
    assert 1 <= publisher.runs - before <= 2
    assert publisher.builds == 0  # the app wrote the pages: no Pelican run
    for slug, comment_id in zip(slugs, ids, strict=True):
        html = (out / "output" / slug / "index.html").read_text()
        assert f'id="comment-{comment_id}"' in html


# --- the author's own replies and imitations ---


@pytest.mark.parametrize(
    "name",
    [
        "Maya Lindqvist",
        "maya lindqvist",
        "Mаya Lindqvist",
        "Maya\u200bLindqvist",
        "MAYA.LINDQVIST",
        "Мауа Lindqvist",
    ],
)
def test_names_imitating_the_author_are_held(
    app: Flask, commenter: Commenter, name: str
) -> None:
    approve(app, commenter.post_ok(name=name, email="m@example.org").id)
    # Even an address with an approved comment does not let it through.
    comment = commenter.post_ok(name=name, email="m@example.org", body="Again")
    assert (comment.state, comment.reason) == (
        "pending",
        "name looks like the article's author",
    )
    assert comment.is_author is False


def test_author_reply_carries_the_badge(
    app: Flask, runner: FlaskCliRunner, commenter: Commenter
) -> None:
    parent = commenter.post_ok()
    approve(app, parent.id)
    result = runner.invoke(
        args=[
            "comments",
            "reply",
            str(parent.id),
            "--as",
            "Maya Lindqvist",
            "-m",
            "Thanks, *Ana*.",
        ]
    )
    assert result.exit_code == 0, result.output
    reply = newest(app)
    assert (reply.is_author, reply.state, reply.parent_id) == (
        True,
        "approved",
        parent.id,
    )
    data = json.loads(
        (Path(app.config["COMMENTS_PATH"]) / comment_file_name(ARTICLE)).read_text()
    )
    assert [c["author"] for c in data["comments"]] == [False, True]

    wrong = runner.invoke(
        args=["comments", "reply", str(parent.id), "--as", "Tomás Ferreira", "-m", "x"]
    )
    assert wrong.exit_code == 1
    assert "is not an author of" in wrong.output


def test_command_reply_to_a_held_comment_approves_it_first_as_the_desk_does(
    app: Flask, runner: FlaskCliRunner, commenter: Commenter
) -> None:
    """``flask comments reply`` on a held comment: approved, then answered, in
    one step, as "Approve and reply" on the desk (it used to fail with "not
    published" and change nothing)."""
    held = commenter.post_ok(body="Is this right?")
    assert held.state == "pending"
    result = runner.invoke(
        args=["comments", "reply", str(held.id), "--as", "Maya Lindqvist", "-m", "Yes."]
    )
    assert result.exit_code == 0, result.output
    reply = newest(app)
    assert (reply.is_author, reply.state, reply.parent_id) == (
        True,
        "approved",
        held.id,
    )
    data = json.loads(
        (Path(app.config["COMMENTS_PATH"]) / comment_file_name(ARTICLE)).read_text()
    )
    assert [(c["id"], c["parent"]) for c in data["comments"]] == [
        (held.id, None),
        (reply.id, held.id),
    ]


def test_command_reply_by_someone_else_changes_nothing(
    app: Flask, runner: FlaskCliRunner, commenter: Commenter
) -> None:
    """A refused reply leaves a held comment held: nothing is approved first."""
    held = commenter.post_ok(body="Anyone?")
    result = runner.invoke(
        args=["comments", "reply", str(held.id), "--as", "Tomás Ferreira", "-m", "x"]
    )
    assert result.exit_code == 1
    assert "is not an author of" in result.output
    assert newest(app).id == held.id
    assert newest(app).state == "pending"


def test_relative_links_are_not_links_and_still_count(
    app: Flask, commenter: Commenter
) -> None:
    approve(app, commenter.post_ok().id)
    comment = commenter.post_ok(
        body="[a](//evil.example/x) [b](/local) [c](//evil.example/y)"
    )
    assert "href" not in comment.html
    assert (comment.state, comment.reason) == ("pending", "has 3 links")


def test_trusted_names_match_whatever_their_case(
    app: Flask, commenter: Commenter
) -> None:
    approve(app, commenter.post_ok(name="Åsa Berg").id)
    assert commenter.post_ok(name="ÅSA BERG", body="Again").state == "approved"
