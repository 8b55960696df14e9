"""The private feedback channel, through the app's HTTP interface."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from feedback_app import create_app
from feedback_app.core.db import get_db
from feedback_app.core.models import Feedback, FeedbackMessage
from feedback_app.store.feedback import hash_token

from ..conftest import ARTICLE, ORIGIN, Reader, csrf_token


def stored(app: Flask) -> list[Feedback]:
    with get_db(app).read() as session:
        return list(session.scalars(select(Feedback).order_by(Feedback.id)))


# --- sending feedback ------------------------------------------------------


def test_feedback_without_address_gets_a_private_reply_page(
    app: Flask, client: FlaskClient, reader: Reader
) -> None:
    token, thanks = reader.send_and_follow(message="Where do I start?")
    assert thanks.status_code == 200
    assert "cannot write to you" in thanks.text
    assert f"/r/{token}" in thanks.text

    [feedback] = stored(app)
    assert feedback.article_page_url == ARTICLE
    assert feedback.message == "Where do I start?"
    assert feedback.email is None and feedback.name is None
    assert feedback.may_quote is False
    assert feedback.state == "new"
    assert feedback.article_url == "/2026/inside-sales-without-the-script/"

    page = client.get(f"/r/{token}")
    assert page.status_code == 200
    assert "Where do I start?" in page.text
    assert "You have left no address" in page.text


def test_feedback_with_address_is_answered_by_mail_too(
    app: Flask, reader: Reader
) -> None:
    _, thanks = reader.send_and_follow(
        name="Ana", email="Ana.Reader@EXAMPLE.org", may_quote="y"
    )
    assert "will come by e-mail" in thanks.text
    [feedback] = stored(app)
    assert feedback.name == "Ana"
    assert feedback.email == "Ana.Reader@example.org"  # domain normalised
    assert feedback.may_quote is True


@pytest.mark.sqlite
def test_only_a_hash_of_the_reply_token_is_stored(
    app: Flask, reader: Reader, tmp_path: Path
) -> None:
    token, _ = reader.send_and_follow()
    [feedback] = stored(app)
    assert feedback.reply_token_hash == hash_token(token)
    get_db(app).dispose()
    database = (tmp_path / "feedback.sqlite3").read_bytes()
    wal = tmp_path / "feedback.sqlite3-wal"
    everything = database + (wal.read_bytes() if wal.exists() else b"")
    assert token.encode() not in everything


def test_each_feedback_gets_its_own_token(app: Flask, reader: Reader) -> None:
    first, _ = reader.send_and_follow()
    second, _ = reader.send_and_follow()
    assert first != second
    assert len(stored(app)) == 2


@pytest.mark.parametrize(
    ("fields", "field_id", "error", "status"),
    [
        ({"message": "   "}, "feedback-message", "Please write a message.", 422),
        ({"email": "not-an-address@"}, "feedback-email", "not an e-mail address", 422),
        ({"email": "a@b@example.org"}, "feedback-email", "not an e-mail address", 422),
        ({"name": "Ana\nBcc: x@example.org"}, "feedback-name", "single line", 422),
        # Control characters: 400 (a broken or hostile client), form kept.
        ({"message": "null \x00 byte"}, "feedback-message", "control characters", 400),
        ({"name": "Ana\x1b[31m"}, "feedback-name", "control characters", 400),
    ],
)
def test_invalid_feedback_is_shown_again_with_the_error_by_its_field(
    app: Flask,
    reader: Reader,
    fields: dict[str, str],
    field_id: str,
    error: str,
    status: int,
) -> None:
    kept = "My carefully written words"
    response = reader.send(**{"message": kept, **fields, "may_quote": "y"})
    assert response.status_code == status
    html = response.text
    # The error sits inside the field's own wrapper, tied to it for screen readers.
    block = re.search(
        rf'<div class="field has-error">\s*<label for="{field_id}">.*?</div>',
        html,
        re.S,
    )
    assert block, html
    assert error in block.group(0)
    assert f'aria-describedby="{field_id}-error"' in block.group(0) or (
        f"{field_id}-error" in block.group(0)
    )
    if "message" not in fields:
        assert kept in html
    assert 'name="may_quote" value="y" checked' in html
    assert stored(app) == []


def test_control_characters_stripped_or_refused_by_policy(
    app: Flask, reader: Reader
) -> None:
    # Bidi overrides and zero-width spaces are stripped; emoji joiners stay.
    message = "Great \u202eevil\u202c post\u200b! \U0001f469\u200d\U0001f4bb"
    reader.send_and_follow(message=message, name="\u2066Ana\u2069")
    [feedback] = stored(app)
    assert feedback.message == "Great evil post! \U0001f469\u200d\U0001f4bb"
    assert feedback.name == "Ana"


def test_windows_line_breaks_are_normalised(app: Flask, reader: Reader) -> None:
    reader.send_and_follow(message="one\r\ntwo\rthree")
    assert stored(app)[0].message == "one\ntwo\nthree"


# --- limits: at the limit and one past it ----------------------------------


@pytest.mark.parametrize(
    ("field", "limit_key"),
    [("message", "MAX_MESSAGE_LENGTH"), ("name", "MAX_NAME_LENGTH")],
)
def test_text_fields_accept_their_limit_and_refuse_one_more(
    app: Flask, reader: Reader, field: str, limit_key: str
) -> None:
    limit = app.config[limit_key]
    assert reader.send(**{field: "é" * limit}).status_code == 303
    refused = reader.send(**{field: "é" * (limit + 1)})
    assert refused.status_code == 422
    assert f"Please keep this to {limit:,} characters" in refused.text
    assert len(stored(app)) == 1


def test_email_accepts_254_characters_and_refuses_255(
    app: Flask, reader: Reader
) -> None:
    def address(length: int) -> str:
        domain = ".".join(["d" * 61] * 3) + ".info"  # 190 characters
        local = "a" * (length - len(domain) - 1)
        assert len(local) <= 64
        return f"{local}@{domain}"

    assert len(address(254)) == 254
    assert reader.send(email=address(254)).status_code == 303
    refused = reader.send(email=address(255))
    assert refused.status_code == 422
    assert "Please keep this to 254 characters" in refused.text
    assert [f.email for f in stored(app)] == [address(254)]


def test_request_body_limit_is_exact(app: Flask, client: FlaskClient) -> None:
    app.config.update(MAX_CONTENT_LENGTH=4096, MAX_FORM_MEMORY_SIZE=4096)
    prefix = f"article={ARTICLE}&message="
    headers = {"Origin": ORIGIN, "Content-Type": "application/x-www-form-urlencoded"}

    at_limit = prefix + "x" * (4096 - len(prefix))
    ok = client.post("/feedback", data=at_limit, headers=headers)
    assert ok.status_code == 303

    too_big = client.post("/feedback", data=at_limit + "x", headers=headers)
    assert too_big.status_code == 413
    assert "larger than this site accepts" in too_big.text
    assert "<title>Too long to send — " in too_big.text
    assert "Request Entity Too Large" not in too_big.text
    assert "The limit is 4 KB" in too_big.text
    assert len(stored(app)) == 1


def test_form_parts_limit_is_exact(app: Flask, client: FlaskClient) -> None:
    limit = app.config["MAX_FORM_PARTS"]
    fields = {"article": ARTICLE, "message": "hello"}
    padding = {f"extra{i}": "x" for i in range(limit - len(fields))}
    ok = client.post(
        "/feedback",
        data={**fields, **padding},
        headers={"Origin": ORIGIN},
        content_type="multipart/form-data",
    )
    assert ok.status_code == 303
    padding["one_more"] = "x"
    refused = client.post(
        "/feedback",
        data={**fields, **padding},
        headers={"Origin": ORIGIN},
        content_type="multipart/form-data",
    )
    assert refused.status_code == 413
    assert len(stored(app)) == 1


# --- guards ------------------------------------------------------------------


@pytest.mark.parametrize(
    "headers",
    [
        {"Origin": "https://evil.example"},
        {"Origin": "null"},
        {"Origin": "http://localhost.evil.example"},
        {"Origin": "http://localhost:8080"},
        {"Referer": "https://evil.example/2026/inside-sales-without-the-script/"},
        {},  # a post that names no origin at all
        {"Sec-Fetch-Site": "cross-site", "Origin": ORIGIN},
        {"Sec-Fetch-Site": "same-site", "Origin": ORIGIN},
    ],
)
def test_cross_site_posts_are_refused(
    app: Flask, client: FlaskClient, headers: dict[str, str]
) -> None:
    response = client.post(
        "/feedback", data={"article": ARTICLE, "message": "hi"}, headers=headers
    )
    assert response.status_code == 403
    assert "only be sent from a page of this site" in response.text
    assert stored(app) == []


@pytest.mark.parametrize(
    "headers",
    [
        {"Origin": "https://blog.example.org"},  # SITE_URL's origin
        {"Origin": "HTTPS://Blog.Example.ORG:443"},
        {"Referer": "http://localhost/2026/inside-sales-without-the-script/"},
        # Under Referrer-Policy: no-referrer browsers send Origin: null.
        {"Sec-Fetch-Site": "same-origin", "Origin": "null"},
    ],
)
def test_same_site_posts_are_accepted(
    app: Flask, client: FlaskClient, headers: dict[str, str]
) -> None:
    response = client.post(
        "/feedback", data={"article": ARTICLE, "message": "hi"}, headers=headers
    )
    assert response.status_code == 303
    assert len(stored(app)) == 1


def test_feedback_for_an_unknown_article_is_refused_without_echo(
    app: Flask, reader: Reader
) -> None:
    response = reader.send(article="<script>alert(1)</script>no-such-article")
    assert response.status_code == 400
    assert "not about an article of this site" in response.text
    assert "no-such-article" not in response.text
    assert "<script>alert" not in response.text
    assert stored(app) == []


def test_honeypot_looks_like_success_but_is_stored_as_spam(
    app: Flask, reader: Reader
) -> None:
    _, thanks = reader.send_and_follow(homepage="http://spam.example")
    assert thanks.status_code == 200
    [feedback] = stored(app)
    assert feedback.state == "spam"


def test_get_on_the_form_endpoint_changes_nothing(
    app: Flask, client: FlaskClient
) -> None:
    response = client.get(f"/feedback?article={ARTICLE}&message=hi")
    assert response.status_code == 405
    assert stored(app) == []


def test_site_index_is_reread_after_a_rebuild(
    app: Flask, reader: Reader, tmp_path: Path
) -> None:
    index = tmp_path / "site.json"
    index.write_text('{"sitename": "New", "articles": []}')
    app.extensions["site_index"].path = str(index)
    assert reader.send().status_code == 400
    # An index from before page_url: the URL names the article all the same.
    article = {"slug": "t", "title": "T", "url": f"/{ARTICLE}", "authors": ["A"]}
    index.write_text(json.dumps({"sitename": "New", "articles": [article]}))
    assert reader.send().status_code == 303


# --- the private reply page ------------------------------------------------


def test_reply_page_is_private(client: FlaskClient, reader: Reader) -> None:
    token, thanks = reader.send_and_follow()
    pages = (thanks, client.get(f"/r/{token}"), client.get(f"/r/{token}/delete"))
    for response in pages:
        assert response.headers["Cache-Control"] == "no-store"
        assert response.headers["Referrer-Policy"] == "strict-origin"
        assert "noindex" in response.headers["X-Robots-Tag"]


def test_form_shown_again_keeps_its_origin_for_the_next_post(reader: Reader) -> None:
    # With no-referrer here, the browser would post the corrected form with
    # Origin: null and the guard would refuse it.
    response = reader.send(message="")
    assert response.status_code == 422
    assert response.headers["Referrer-Policy"] == "same-origin"


@pytest.mark.parametrize(
    "token", ["A" * 43, "short", "A" * 42 + "!", "../../etc/passwd"]
)
def test_unknown_tokens_find_nothing(
    client: FlaskClient, reader: Reader, token: str
) -> None:
    reader.send_and_follow()
    assert client.get(f"/r/{token}").status_code == 404
    assert client.get(f"/r/{token}/thanks").status_code == 404


def test_follow_up_is_added_to_the_conversation(
    app: Flask, client: FlaskClient, reader: Reader
) -> None:
    token, _ = reader.send_and_follow(message="First thought")
    page = client.get(f"/r/{token}")
    response = client.post(
        f"/r/{token}/follow-up",
        data={"csrf_token": csrf_token(page.text), "message": "Second thought"},
    )
    assert response.status_code == 303
    page = client.get(response.location)
    assert "Your follow-up is sent to the author." in page.text
    assert page.text.index("First thought") < page.text.index("Second thought")
    with get_db(app).read() as session:
        [message] = session.scalars(select(FeedbackMessage)).all()
    assert (message.sender, message.body) == ("reader", "Second thought")


def test_follow_up_too_long_is_refused_with_text_kept(
    app: Flask, client: FlaskClient, reader: Reader
) -> None:
    token, _ = reader.send_and_follow()
    limit = app.config["MAX_MESSAGE_LENGTH"]
    page = client.get(f"/r/{token}")
    response = client.post(
        f"/r/{token}/follow-up",
        data={"csrf_token": csrf_token(page.text), "message": "z" * (limit + 1)},
    )
    assert response.status_code == 422
    assert "z" * (limit + 1) in response.text
    assert f"Please keep this to {limit:,} characters" in response.text


@pytest.mark.parametrize(
    ("path", "data"),
    [
        ("follow-up", {"message": "forged"}),
        ("contact", {"email": "attacker@example.org"}),
        ("delete", {}),
    ],
)
def test_reply_page_forms_need_a_csrf_token(
    app: Flask, client: FlaskClient, reader: Reader, path: str, data: dict[str, str]
) -> None:
    token, _ = reader.send_and_follow()
    response = client.post(f"/r/{token}/{path}", data=data)
    assert response.status_code == 400
    assert "form had expired" in response.text
    [feedback] = stored(app)
    assert feedback.email is None
    with get_db(app).read() as session:
        assert session.scalar(select(func.count(FeedbackMessage.id))) == 0


def test_contact_address_can_be_added_changed_and_removed(
    app: Flask, client: FlaskClient, reader: Reader
) -> None:
    token, _ = reader.send_and_follow()

    def change(email: str) -> str:
        page = client.get(f"/r/{token}")
        response = client.post(
            f"/r/{token}/contact",
            data={"csrf_token": csrf_token(page.text), "email": email},
        )
        assert response.status_code == 303
        return client.get(response.location).text

    page = change("first@example.org")
    assert "Your address is saved" in page
    assert "f•••@example.org" in page
    assert "first@example.org" not in page  # shown masked on the page
    assert stored(app)[0].email == "first@example.org"

    change("second@example.org")
    assert stored(app)[0].email == "second@example.org"

    # An empty field changes nothing: removing is its own action.
    page = change("")
    assert "Nothing changed: your address is kept." in page
    assert stored(app)[0].email == "second@example.org"

    # It asks first, and a look changes nothing.
    confirm = client.get(f"/r/{token}/contact/remove")
    assert confirm.status_code == 200
    assert "Remove your address?" in confirm.text
    assert "s•••@example.org" in confirm.text
    assert stored(app)[0].email == "second@example.org"
    # Not without the page's token.
    refused = client.post(f"/r/{token}/contact/remove", data={})
    assert refused.status_code != 303
    assert stored(app)[0].email == "second@example.org"
    response = client.post(
        f"/r/{token}/contact/remove", data={"csrf_token": csrf_token(confirm.text)}
    )
    assert response.status_code == 303
    assert "Your address is removed" in client.get(response.location).text
    assert stored(app)[0].email is None
    # With none left, there is nothing to remove.
    gone = client.get(f"/r/{token}/contact/remove")
    assert gone.status_code == 303
    assert "Nothing changed: you gave no address." in client.get(gone.location).text


def test_invalid_contact_address_is_refused_and_kept(
    app: Flask, client: FlaskClient, reader: Reader
) -> None:
    token, _ = reader.send_and_follow(email="kept@example.org")
    page = client.get(f"/r/{token}")
    response = client.post(
        f"/r/{token}/contact",
        data={"csrf_token": csrf_token(page.text), "email": "nope@"},
    )
    assert response.status_code == 422
    assert 'value="nope@"' in response.text
    assert "not an e-mail address" in response.text
    assert stored(app)[0].email == "kept@example.org"


def test_delete_asks_first_then_deletes_everything(
    app: Flask, client: FlaskClient, reader: Reader
) -> None:
    token, _ = reader.send_and_follow()
    page = client.get(f"/r/{token}")
    client.post(
        f"/r/{token}/follow-up",
        data={"csrf_token": csrf_token(page.text), "message": "more"},
    )

    confirm = client.get(f"/r/{token}/delete")
    assert confirm.status_code == 200
    assert "Yes, delete it" in confirm.text
    assert len(stored(app)) == 1  # GET changes nothing

    response = client.post(
        f"/r/{token}/delete", data={"csrf_token": csrf_token(confirm.text)}
    )
    assert response.status_code == 303
    assert "is deleted" in client.get(response.location).text
    assert stored(app) == []
    with get_db(app).read() as session:
        assert session.scalar(select(func.count(FeedbackMessage.id))) == 0
    assert client.get(f"/r/{token}").status_code == 404


def test_app_pages_wear_the_site_theme(client: FlaskClient, reader: Reader) -> None:
    token, thanks = reader.send_and_follow()
    for html in (thanks.text, client.get(f"/r/{token}").text):
        assert '<link rel="stylesheet" href="/theme/css/main.css">' in html
        assert "Talking Shop" in html  # the site's name, from the build
        assert 'href="/about/"' in html  # the site's menu
        assert '<main id="main"' in html


def test_reply_page_forms_work_over_https(app: Flask, reader: Reader) -> None:
    """Under strict-origin the browser sends just the origin as Referer.

    Flask-WTF refuses a secure post without a Referer, which is why the
    reply page does not use no-referrer.
    """
    token, _ = reader.send_and_follow()
    client = app.test_client()
    secure = {"base_url": "https://localhost"}
    page = client.get(f"/r/{token}", **secure)
    data = {"csrf_token": csrf_token(page.text), "message": "Over HTTPS"}
    response = client.post(
        f"/r/{token}/follow-up",
        data=data,
        headers={"Referer": "https://localhost/"},
        **secure,
    )
    assert response.status_code == 303, response.text
    refused = client.post(f"/r/{token}/follow-up", data=data, **secure)
    assert refused.status_code == 400
    assert "form had expired or was sent from another page" in refused.text


def test_behind_a_proxy_the_reply_link_is_the_public_one(
    app: Flask, built_site: Path, tmp_path: Path
) -> None:
    proxied = create_app(
        {
            **{k: app.config[k] for k in ("SECRET_KEY", "DATABASE_URL")},
            "SITE_INDEX_PATH": str(built_site / "site.json"),
            "SITE_URL": "https://blog.example.org",
            "PROXY_COUNT": 1,
        }
    )
    client = proxied.test_client()
    forwarded = {
        "X-Forwarded-For": "203.0.113.9",
        "X-Forwarded-Proto": "https",
        "X-Forwarded-Host": "blog.example.org",
        "X-Forwarded-Prefix": "/app",
        "Origin": "https://blog.example.org",
    }
    response = client.post(
        "/feedback", data={"article": ARTICLE, "message": "hi"}, headers=forwarded
    )
    assert response.status_code == 303
    assert response.location.startswith("/app/r/")
    thanks = client.get(response.location.removeprefix("/app"), headers=forwarded)
    assert 'href="https://blog.example.org/app/r/' in thanks.text


@pytest.mark.parametrize(
    ("referrer", "back"),
    [
        (f"{ORIGIN}/{ARTICLE}", f'href="/{ARTICLE}">Back to the page you came from'),
        (f"{ORIGIN}/{ARTICLE}?x=1", f'href="/{ARTICLE}?x=1">Back to the page'),
        ("https://elsewhere.example/2026/a/", 'href="/">Back to '),
        (f"{ORIGIN}//elsewhere.example/", 'href="/">Back to '),
        (f"{ORIGIN}/\\elsewhere.example/", 'href="/">Back to '),
        ("", 'href="/">Back to '),
    ],
)
def test_a_refused_post_leads_back_to_the_page_it_came_from(
    app: Flask, client: FlaskClient, referrer: str, back: str
) -> None:
    """A 413 reads no form, so its way back is the page that sent it: the
    ``Referer`` the site sends to its own origin, and no other."""
    app.config.update(MAX_CONTENT_LENGTH=64, MAX_FORM_MEMORY_SIZE=64)
    headers = (
        {"Origin": ORIGIN, "Referer": referrer} if referrer else {"Origin": ORIGIN}
    )
    refused = client.post(
        "/feedback",
        data={"article": ARTICLE, "message": "x" * 100},
        headers=headers,
    )
    assert refused.status_code == 413
    assert back in refused.text


@pytest.mark.parametrize(
    ("address", "said"),
    [
        ("ana.example.org", "it has no @. An address looks like ana@example.org."),
        ("ana@", "there is nothing after the @."),
        ("@example.org", "there is nothing before the @."),
        ("josé@example.org", "not every mail server delivers to letters such as é"),
        ("ana@example", "“example” is not a whole domain: it needs a dot"),
        ("ana@exa mple.org", "please check it for a typing mistake"),
        ("ana..b@example.org", "please check it for a typing mistake"),
    ],
)
def test_a_bad_address_is_explained_in_a_readers_words(
    app: Flask, reader: Reader, address: str, said: str
) -> None:
    response = reader.send(message="Hello", email=address)
    assert response.status_code == 422
    text = " ".join(response.text.split())
    assert f"This is not an e-mail address we can use: {said}" in text
    assert "@-sign" not in text and "invalid characters" not in text
    assert len(stored(app)) == 0
