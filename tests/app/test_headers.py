"""Security headers on every page the app sends, and the static pages' policy."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import func, select

from feedback_app.core.models import Comment, Feedback
from feedback_app.factory import CONTENT_SECURITY_POLICY
from feedback_app.site.page_policy import content_security_policy, headers_snippet

from ..conftest import ROOT, Desk, Reader

PAGES_SIGNED_OUT = [
    "/desk/sign-in",
    "/desk/",
    "/deleted",
    "/comments/reply/999999",
    "/comments/posted/not-a-ticket",
    "/r/" + "x" * 43,
    "/no-such-page",
]
PAGES_SIGNED_IN = ["/desk/", "/desk/comments", "/desk/feedback/1"]


def assert_protected(headers: dict[str, str], where: str) -> None:
    policy = headers.get("Content-Security-Policy", "")
    assert "default-src 'self'" in policy, where
    assert "frame-ancestors 'none'" in policy, where
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy, where
    assert headers.get("X-Content-Type-Options") == "nosniff", where
    assert headers.get("X-Frame-Options") == "DENY", where
    assert headers.get("Referrer-Policy") in ("same-origin", "strict-origin"), where


@pytest.mark.parametrize("path", PAGES_SIGNED_OUT)
def test_every_app_page_carries_the_headers(app: Flask, path: str) -> None:
    response = app.test_client().get(path)
    assert_protected(dict(response.headers), f"{path} ({response.status_code})")


def test_pages_for_signed_in_authors_and_readers_carry_them(
    app: Flask, desk: Desk, reader: Reader
) -> None:
    token, thanks = reader.send_and_follow(message="Hello.")
    assert_protected(dict(thanks.headers), "thanks")
    assert_protected(dict(reader.client.get(f"/r/{token}").headers), "reply page")
    for path in PAGES_SIGNED_IN:
        response = desk.get(path)
        assert response.status_code == 200, path
        assert_protected(dict(response.headers), path)
    posted = reader.send(message="x" * 10)  # a POST's answer too
    assert_protected(dict(posted.headers), "POST /feedback")


def test_app_pages_have_no_inline_script_or_handlers(
    app: Flask, desk: Desk, reader: Reader
) -> None:
    """What the policy forbids, the pages do not need."""
    reader.send(message="Hello.")
    for path in ["/desk/sign-in", *PAGES_SIGNED_IN]:
        html = desk.get(path).text
        assert not re.search(r"<script(?![^>]*\bsrc=)", html), path
        assert not re.search(r"\son[a-z]+=", html), path


def test_static_pages_get_the_policy_pelicanconf_names_from_the_nginx_snippet(
    built_site: Path,
) -> None:
    """The committed snippet is what a build writes from pelicanconf.py (so
    a server's build changes no tracked file), and its policy is the app's
    own, widened only by what the CSP_* settings name."""
    import pelicanconf

    settings = {k: getattr(pelicanconf, k) for k in dir(pelicanconf) if k.isupper()}
    snippet = (ROOT / "theme" / "security-headers.conf").read_text()
    assert snippet == headers_snippet(settings)
    policy = content_security_policy(settings)
    assert f'Content-Security-Policy "{policy}" always;' in snippet
    assert 'X-Frame-Options "DENY"' in snippet and "nosniff" in snippet
    static = dict(d.split(" ", 1) for d in policy.split("; "))
    app = dict(d.split(" ", 1) for d in CONTENT_SECURITY_POLICY.split("; "))
    assert {k: static[k] for k in app} == {**app, "img-src": "'self' data: https:"}
    assert static["script-src"] == "'self'" and static["style-src"] == "'self'"
    assert static["frame-src"].split() == pelicanconf.CSP_FRAME_HOSTS
    # ... and the built pages keep to it: no inline script, no handlers.
    for page in (built_site / "output").rglob("*.html"):
        html = page.read_text(encoding="utf-8")
        assert not re.search(r"<script(?![^>]*\bsrc=)", html), page
        assert not re.search(r"\son[a-z]+=", html), page


# --- bad input: 4xx with a reason, never 500, nothing stored ----------------------

URLENCODED = {"Content-Type": "application/x-www-form-urlencoded"}


@pytest.mark.parametrize("path", ["/feedback", "/comments"])
@pytest.mark.parametrize(
    "body",
    [
        b"article=2026%2Finside-sales-without-the-script%2F&name=Ana&message=a%FF%FEb&body=a%FFb",
        b"article=2026%2Finside-sales-without-the-script%2F&name=Ana&message=%ED%A0%80&body=%ED%A0%80",
        b"article=2026%2Finside-sales-without-the-script%2F&name=Ana&message=\xff&body=\xff",
        b"article=2026%2Finside-sales-without-the-script%2F&name=%C3&message=x&body=x",
    ],
)
def test_invalid_utf8_is_refused_and_nothing_stored(
    app: Flask, path: str, body: bytes
) -> None:
    from feedback_app.core.db import get_db

    response = app.test_client().post(
        path, data=body, headers={"Origin": "http://localhost", **URLENCODED}
    )
    assert response.status_code == 400
    assert "not valid UTF-8" in response.text
    with get_db(app).read() as session:
        stored = [
            session.scalar(select(func.count()).select_from(m))
            for m in (Feedback, Comment)
        ]
    assert stored == [0, 0]


def test_valid_non_ascii_text_is_accepted(app: Flask) -> None:
    body = (
        "article=2026%2Finside-sales-without-the-script%2F&message=%C3%85sa+%E2%9C%93"
    )
    response = app.test_client().post(
        "/feedback", data=body, headers={"Origin": "http://localhost", **URLENCODED}
    )
    assert response.status_code == 303
