"""A site with a thousand tags: its Tags page on a phone.

A real blog of 1,077 tags once made a Tags page 43,677 px tall on a phone
(issue 22), about sixty screens of one tag a line. Here a real Pelican build
with the project's theme and plugin has ``TAG_COUNT`` tags, and headless
Chromium shows its Tags page at 360 by 740 CSS pixels (a common Android
phone): the page must be at most ``MAX_SCREENS`` screens tall, and every tag
must still be there for a reader: a link of its own, reached by tapping its
first letter (the theme lists that many tags by letter, each letter a
``<details>``), inside the page's width, not covered by another, big enough
to tap, leading to the tag's page. A site of fewer tags keeps one cloud.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest
from playwright.sync_api import Browser

from ..conftest import build_site
from ..readers import test_browser
from ..readers.test_browser import PHONE, assert_accessible, new_page
from .test_build import Page
from .test_real_content import serve_folder
from .test_valid_html import nu_errors

pytestmark = pytest.mark.build

# readers/test_browser.py's fixtures (Chromium, or skip/fail), shared by name.
playwright = test_browser.playwright
browser = test_browser.browser

TAG_COUNT = 1000
TAGS_AN_ARTICLE = 10
#: How tall the Tags page may be, in phone screens, before a reader opens
#: a letter. An index is for finding one entry: all of its first level
#: should be in reach with a flick or two, as the letters of a printed
#: book's index fit on its first page. (One cloud of a thousand tags was
#: 24 screens here; one tag a line, about sixty.)
MAX_SCREENS = 3
#: The smallest size of a tag's link that a finger can hit, in CSS pixels
#: (WCAG 2.2's target size, minimum: 24 by 24, or that much room around).
TARGET = 24

# Words of real blogs' tags: two of them make a tag, 4 to 23 letters long.
FIRST = [
    "python",
    "web",
    "data",
    "cloud",
    "linux",
    "mobile",
    "design",
    "testing",
    "security",
    "career",
    "remote",
    "sales",
    "email",
    "startup",
    "open-source",
    "devops",
    "machine",
    "api",
    "database",
    "privacy",
    "writing",
    "teaching",
    "hiring",
    "travel",
    "music",
    "photo",
    "video",
    "game",
    "health",
    "money",
    "science",
    "history",
    "marketing",
]
SECOND = [
    "tips",
    "basics",
    "notes",
    "review",
    "tools",
    "guide",
    "patterns",
    "performance",
    "news",
    "ideas",
    "mistakes",
    "interviews",
    "workflow",
    "books",
    "talks",
    "examples",
    "history",
    "future",
    "lessons",
    "habits",
    "checklists",
    "costs",
    "myths",
    "questions",
    "stories",
    "experiments",
    "scaling",
    "teams",
    "pricing",
    "metrics",
    "planning",
]


def tag_names() -> list[str]:
    """``TAG_COUNT`` distinct tags, as a blog's authors would write them."""
    names = [f"{a} {b}" for a, b in itertools.product(FIRST, SECOND)]
    assert len(names) >= TAG_COUNT
    return names[:TAG_COUNT]


@pytest.fixture(scope="module")
def many_tags(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A site of ``TAG_COUNT`` tags, ``TAGS_AN_ARTICLE`` to an article,
    built with the project's settings; returns its output folder."""
    tmp = tmp_path_factory.mktemp("many-tags")
    content = tmp / "content"
    content.mkdir()
    tags = tag_names()
    for number in range(0, TAG_COUNT, TAGS_AN_ARTICLE):
        day = 1 + number // TAGS_AN_ARTICLE % 28
        (content / f"post-{number}.md").write_text(
            f"Title: Post {number}\nDate: 2024-02-{day:02d} 10:00\n"
            f"Tags: {', '.join(tags[number : number + TAGS_AN_ARTICLE])}\n\n"
            "A short post.\n",
            encoding="utf-8",
        )
    build_site(tmp / "site", content=content)
    return tmp / "site" / "output"


@pytest.fixture(scope="module")
def many_tags_url(many_tags: Path) -> Iterator[str]:
    yield from serve_folder(many_tags)


def test_a_thousand_tags_fit_a_phone_and_each_is_reachable(
    browser: Browser, many_tags: Path, many_tags_url: str
) -> None:
    with new_page(browser, viewport=PHONE) as page:
        page.goto(f"{many_tags_url}/tags/")
        page.wait_for_load_state("load")
        height = page.evaluate("document.documentElement.scrollHeight")
        screens = height / PHONE["height"]
        assert screens <= MAX_SCREENS, f"{height} px: {screens:.1f} screens"
        assert_accessible(page, "the Tags page by letter, closed")
        # The reader taps each letter, as big as a fingertip at least.
        letters = page.locator("main details > summary")
        assert letters.count() == len({name[0] for name in tag_names()})
        for summary in letters.all():
            box = summary.bounding_box()
            assert box is not None and box["height"] >= TARGET
            summary.click()
        assert page.locator("main details:not([open])").count() == 0
        assert_accessible(page, "the Tags page, every letter open")
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE["width"]  # nothing to scroll sideways to
        # Each tag's link, brought into view: its centre shows the link
        # itself (not covered, not clipped), and it is big enough to tap.
        links = page.evaluate(
            """() => [...document.querySelectorAll("main a[href*='/tag/']")]
                .map(a => {
                    a.scrollIntoView({block: "center", behavior: "instant"});
                    const box = a.getBoundingClientRect();
                    const x = box.left + box.width / 2;
                    const y = box.top + box.height / 2;
                    const hit = document.elementFromPoint(x, y);
                    return {
                        text: a.textContent.trim(),
                        href: a.getAttribute("href"),
                        shown: hit === a || a.contains(hit),
                        inside: box.left >= 0 && box.right <= innerWidth,
                        width: box.width,
                        height: box.height,
                    };
                })"""
        )
    assert sorted(link["text"] for link in links) == sorted(tag_names())
    hidden = [link["text"] for link in links if not (link["shown"] and link["inside"])]
    assert hidden == []
    small = [
        link["text"]
        for link in links
        if link["height"] < TARGET or link["width"] < TARGET
    ]
    assert small == []
    for link in links:
        path = unquote(urlsplit(link["href"]).path).lstrip("/")
        assert (many_tags / path / "index.html").is_file(), link["href"]


def test_a_site_of_few_tags_keeps_one_open_cloud(
    language_sites: dict[str, Path],
) -> None:
    html = Page.load(language_sites["en"] / "tags/index.html")
    assert html.find_all("details") == []
    cloud = html.one("ul", **{"class": "term-cloud"})
    assert len(html.find_all("a", within=cloud)) == 3


def test_the_tags_page_by_letter_is_valid_html(many_tags: Path) -> None:
    errors = nu_errors([many_tags / "tags/index.html"])
    assert errors == [], "\n".join(map(str, errors))
