"""The development server: the built site and the app on one origin."""

from __future__ import annotations

from pathlib import Path

import pytest
from flask import Flask
from werkzeug.test import Client

from feedback_app.devserver import make_site_app


@pytest.fixture
def site(app: Flask) -> Client:
    return Client(make_site_app(app))


def test_serves_built_pages_with_folder_index(site: Client, built_site: Path) -> None:
    page = site.get("/2026/inside-sales-without-the-script/")
    assert page.status_code == 200
    expected = built_site / "output/2026/inside-sales-without-the-script/index.html"
    assert page.get_data() == expected.read_bytes()
    assert (
        site.get("/theme/css/main.css").headers["Content-Type"].startswith("text/css")
    )


def test_folder_without_slash_redirects(site: Client) -> None:
    response = site.get("/about")
    assert response.status_code == 301
    assert response.headers["Location"] == "/about/"


@pytest.mark.parametrize("path", ["/nope/", "/../pyproject.toml", "/%2e%2e/tasks.py"])
def test_missing_or_outside_paths_are_not_found(site: Client, path: str) -> None:
    response = site.get(path)
    assert response.status_code == 404
    assert "Page not found" in response.get_data(as_text=True)  # the theme's 404


def test_static_site_takes_no_posts(site: Client) -> None:
    assert site.post("/about/").status_code == 405


def test_app_is_mounted_under_app(site: Client) -> None:
    response = site.post(
        "/app/feedback",
        data={"article": "2026/inside-sales-without-the-script/", "message": "hi"},
        headers={"Origin": "http://localhost"},
    )
    assert response.status_code == 303
    assert response.headers["Location"].startswith("/app/r/")
    thanks = site.get(response.headers["Location"])
    assert thanks.status_code == 200
    assert "/app/r/" in thanks.get_data(as_text=True)
