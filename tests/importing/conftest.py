"""An app on a copy of the project's site, for imports: its own content,
output, comment files and redirect map, built for real by Pelican."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from lxml import html as lxml_html

from feedback_app import create_app
from feedback_app.core.db import get_db, upgrade

from ..conftest import ROOT, build_site

DATA = Path(__file__).resolve().parents[1] / "data" / "imports"


@pytest.fixture
def site(tmp_path: Path) -> Path:
    """A copy of the project's content/ in ``tmp_path``, built into
    ``tmp_path / "build"`` (``output/``, ``site.json``, ``cache/``)."""
    content = tmp_path / "content"
    shutil.copytree(
        ROOT / "content", content, ignore=shutil.ignore_patterns("comments")
    )
    (content / "comments").mkdir()
    # The build's index beside the output, outside the content: the plugin
    # keeps the index's folder private.
    build_site(
        tmp_path / "build",
        content=content,
        extra={"FEEDBACK_COMMENTS_PATH": str(content / "comments")},
    )
    return tmp_path


@pytest.fixture
def importing_app(site: Path, database_url: str) -> Iterator[Flask]:
    """An app whose content, output, site index and redirect map are
    ``site``'s: an import writes there and builds that site."""
    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "test secret",
            "DATABASE_URL": database_url,
            "SITE_INDEX_PATH": str(site / "build" / "site.json"),
            "OUTPUT_PATH": str(site / "build" / "output"),
            "CONTENT_PATH": str(site / "content"),
            "COMMENTS_PATH": str(site / "content" / "comments"),
            "REDIRECTS_PATH": str(site / "redirects.map"),
            "MAILDIR_PATH": str(site / "maildir"),
            "SITE_URL": "https://blog.example.org",
            "PELICAN_EXTRA_SETTINGS": {"CACHE_PATH": str(site / "build" / "cache")},
        }
    )
    app.instance_path = str(site / "instance")
    upgrade(app)
    yield app
    app.extensions["publisher"].wait_idle()
    get_db(app).dispose()


@pytest.fixture
def uploads(tmp_path: Path) -> Path:
    """A copy of a WordPress site's ``wp-content/uploads`` with the image
    the test export's posts show."""
    folder = tmp_path / "uploads"
    (folder / "2019" / "05").mkdir(parents=True)
    png = bytes.fromhex(
        "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
        "1f15c4890000000d49444154789c6360f8cfc0f01f0005fe02fea7d6"
        "a4c30000000049454e44ae426082"
    )
    (folder / "2019" / "05" / "chat-au-telephone.png").write_bytes(png)
    return folder


def find(element: lxml_html.HtmlElement, path: str) -> list[lxml_html.HtmlElement]:
    """The elements under ``element`` at ``path``: steps of a tag name and
    classes (``li.comment``, ``.comment-body a``) separated by spaces."""
    xpath = "."
    for step in path.split():
        tag, *classes = step.split(".")
        xpath += f"//{tag or '*'}"
        for name in classes:
            xpath += (
                f"[contains(concat(' ', normalize-space(@class), ' '), ' {name} ')]"
            )
    return element.xpath(xpath)


def page(site: Path, url: str) -> lxml_html.HtmlElement:
    """The built page at the site-relative ``url``, parsed."""
    return lxml_html.fromstring(
        (site / "build" / "output" / url / "index.html").read_bytes()
    )
