"""An imported WordPress blog as readers meet it: every page of the build
valid HTML (the W3C Nu checker), and in Chromium every approved comment in
its place in the thread, an old link with its ``#comment-N`` landing on
that comment.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from playwright.sync_api import Browser
from werkzeug.serving import make_server

from feedback_app.devserver import make_site_app

from ..readers.test_browser import browser, new_page, playwright  # noqa: F401
from ..site.test_valid_html import html_files, nu_errors
from .conftest import DATA

CARNET = DATA / "wordpress-carnet.xml"

pytestmark = pytest.mark.slow

#: Each approved comment of the test export's first post and the comment
#: it is shown under (None: on top). WordPress nested 201 → 210 ten deep;
#: the site shows five levels: 206 to 210 are shown at the fifth, beside
#: 205, as a reply to a comment of the fifth level is (``place_reply``).
SHOWN_UNDER = {
    201: None,
    202: 201,
    203: 202,
    204: 203,
    205: 204,
    206: 204,
    207: 204,
    208: 204,
    209: 204,
    210: 204,
    216: 201,
    217: None,
    218: None,
}


@pytest.fixture
def imported_site(importing_app: Flask, site: Path, uploads: Path) -> Path:
    result = importing_app.test_cli_runner().invoke(
        args=["import", "wordpress", str(CARNET), "--uploads", str(uploads)]
    )
    assert result.exit_code == 0, result.output
    return site


@pytest.fixture
def served(imported_site: Path, importing_app: Flask) -> Iterator[str]:
    """The imported site on the development server; its address."""
    server = make_server("127.0.0.1", 0, make_site_app(importing_app))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join()


def test_every_page_of_the_imported_site_is_valid_html(imported_site: Path) -> None:
    files = html_files(imported_site / "build" / "output")
    assert any("appels-et-relances" in str(f) for f in files)
    errors = nu_errors(files)
    assert [str(e) for e in errors] == []


def test_the_browser_shows_every_approved_comment_in_its_place(
    served: str,
    browser: Browser,  # noqa: F811
) -> None:
    with new_page(browser, viewport={"width": 1280, "height": 800}) as page:
        page.goto(f"{served}/2019/appels-et-relances/")
        found = page.eval_on_selector_all(
            "li.comment",
            """items => items.map(li => {
                const up = li.parentElement.closest('li.comment');
                const box = li.querySelector('.comment-body').getBoundingClientRect();
                return [li.id, up ? up.id : null, box.height > 0,
                        li.querySelector('.comment-body').innerText.trim()];
            })""",
        )
        placed = {
            int(i.split("-")[1]): int(u.split("-")[1]) if u else None
            for i, u, _, _ in found
        }
        assert placed == SHOWN_UNDER
        assert all(visible and text for _, _, visible, text in found)
        texts = {i: text for i, _, _, text in found}
        assert texts["comment-210"] == "Niveau 10 : réponse de Jana Łukasik."
        assert "Deuxième paragraphe – avec ]]> au milieu." in texts["comment-218"]


def test_an_old_link_to_a_comment_lands_on_it(
    served: str,
    browser: Browser,  # noqa: F811
) -> None:
    with new_page(browser, viewport={"width": 360, "height": 740}) as page:
        page.goto(f"{served}/2019/05/appels-et-relances/#comment-208")
        assert page.url == f"{served}/2019/appels-et-relances/#comment-208"
        target = page.locator(":target")
        assert target.get_attribute("id") == "comment-208"
        # The theme scrolls smoothly: wait for the scroll to arrive.
        page.wait_for_function(
            "() => { const r = document.querySelector(':target')"
            ".getBoundingClientRect(); return r.top >= 0 && r.top < innerHeight; }"
        )
