"""axe-core on every page type the theme writes, in every shipped language,
in light and dark colour schemes: no serious or critical finding.

The sites are ``language_sites``: real Pelican builds with the project's
theme and plugin, one with each of English, French, German (the languages
with catalogues) and Arabic (none: written right to left) as
``DEFAULT_LANG``, served over HTTP and opened in headless Chromium. axe is
the copy the ``axe-playwright-python`` package ships (``assert_accessible``
of ``readers/test_browser.py``): nothing is downloaded.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser

from ..readers import test_browser
from ..readers.test_browser import assert_accessible, new_page
from .language_sites import LANGS, PAGE_TYPES, WORDS, page_path
from .test_real_content import serve_folder

pytestmark = pytest.mark.build

# readers/test_browser.py's fixtures (Chromium, or skip/fail), shared by name.
playwright = test_browser.playwright
browser = test_browser.browser

SCHEMES = ("light", "dark")


@pytest.fixture(scope="module")
def language_urls(language_sites: dict[str, Path]) -> Iterator[dict[str, str]]:
    """Each language's site served over HTTP: its URL by language."""
    servers = {lang: serve_folder(output) for lang, output in language_sites.items()}
    urls = {lang: next(server) for lang, server in servers.items()}
    yield urls
    for server in servers.values():
        next(server, None)  # stops it


@pytest.mark.parametrize("kind", list(PAGE_TYPES))
@pytest.mark.parametrize("lang", LANGS)
def test_every_page_type_in_every_language_is_accessible(
    browser: Browser,
    language_sites: dict[str, Path],
    language_urls: dict[str, str],
    lang: str,
    kind: str,
) -> None:
    path = page_path(language_sites[lang], lang, kind)
    # A translation is in the other language; every other page in the site's.
    spoken = WORDS[lang].other_lang if kind == "translation" else lang
    with new_page(browser) as page:
        page.goto(f"{language_urls[lang]}/{path}")
        page.wait_for_load_state("load")
        html = page.locator("html")
        assert html.get_attribute("lang") == spoken
        assert html.get_attribute("dir") == ("rtl" if spoken == "ar" else "ltr")
        direction = page.evaluate("getComputedStyle(document.body).direction")
        assert direction == html.get_attribute("dir")
        # The page's heading starts on the side its language starts on.
        gap_left, gap_right = page.evaluate(
            """() => {
                const h1 = document.querySelector("main h1");
                const range = document.createRange();
                range.selectNodeContents(h1);
                const text = range.getBoundingClientRect();
                const box = h1.getBoundingClientRect();
                return [text.left - box.left, box.right - text.right];
            }"""
        )
        assert (gap_right < 2 < gap_left) if spoken == "ar" else (gap_left < 2)
        for scheme in SCHEMES:
            page.emulate_media(color_scheme=scheme)
            background = page.evaluate(
                "getComputedStyle(document.body).backgroundColor"
            )
            assert_accessible(page, f"the {kind} page in {lang}, {scheme}")
            if scheme == "light":
                light = background
            else:
                assert background != light  # the dark palette is in effect
