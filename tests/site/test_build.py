"""The published site: real Pelican builds of the project into temporary folders.

Pages are parsed with the standard library's ``html.parser`` (see ``Page``),
so these tests check the structure of the HTML, not its formatting.
"""

from __future__ import annotations

import gzip
import importlib
import json
import os
import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from html.parser import HTMLParser
from pathlib import Path
from types import ModuleType
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import pytest
from pelican.utils import get_date

from feedback_app.core import config as app_config

from ..conftest import ROOT, build_site

pytestmark = pytest.mark.build

SLUGS = (
    "inside-sales-without-the-script",
    "reader-mail-easy-to-say-without-a-quota",
    "follow-up-emails-that-get-answered",
)
AUTHORS = {
    "inside-sales-without-the-script": ["Maya Lindqvist"],
    "reader-mail-easy-to-say-without-a-quota": ["Maya Lindqvist"],
    "follow-up-emails-that-get-answered": ["Tomás Ferreira"],
}
ARTICLE_PAGES = tuple(f"2026/{slug}/index.html" for slug in SLUGS)
OTHER_PAGES = (
    "index.html",
    "about/index.html",
    "archives/index.html",
    "category/sales/index.html",
    "category/reader-mail/index.html",
    "tag/inside-sales/index.html",
    "author/maya-lindqvist/index.html",
    "author/tomas-ferreira/index.html",
    "authors/index.html",
    "categories/index.html",
    "tags/index.html",
)
PROD_URL = "https://blog.example.org"
ATOM = "{http://www.w3.org/2005/Atom}"
STOCKHOLM = ZoneInfo("Europe/Stockholm")


# --- a tiny HTML reader ------------------------------------------------------

VOID_TAGS = frozenset(
    {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta"}
    | {"source", "track", "wbr"}
)


@dataclass(eq=False)
class Element:
    """One element of a parsed page: its tag, attributes, parent and text."""

    tag: str
    attrs: dict[str, str | None]
    parent: Element | None
    _text: list[str] = field(default_factory=list, repr=False)

    @property
    def text(self) -> str:
        """The element's text, whitespace collapsed."""
        return " ".join("".join(self._text).split())

    @property
    def classes(self) -> set[str]:
        return set((self.attrs.get("class") or "").split())

    def ancestors(self) -> Iterator[Element]:
        node = self.parent
        while node is not None:
            yield node
            node = node.parent

    def is_inside(self, other: Element) -> bool:
        return any(node is other for node in self.ancestors())


class Page(HTMLParser):
    """Every element of an HTML document, in document order."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[Element] = []
        self._open: list[Element] = []
        self.feed(html)
        self.close()

    @classmethod
    def load(cls, path: Path) -> Page:
        return cls(path.read_text(encoding="utf-8"))

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        parent = self._open[-1] if self._open else None
        element = Element(tag, dict(attrs), parent)
        self.elements.append(element)
        if tag not in VOID_TAGS:
            self._open.append(element)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        parent = self._open[-1] if self._open else None
        self.elements.append(Element(tag, dict(attrs), parent))

    def handle_endtag(self, tag: str) -> None:
        if any(element.tag == tag for element in self._open):
            while self._open.pop().tag != tag:
                pass

    def handle_data(self, data: str) -> None:
        for element in self._open:
            element._text.append(data)

    def find_all(
        self, tag: str, within: Element | None = None, **attrs: str
    ) -> list[Element]:
        """Elements named ``tag`` whose attributes have the given values."""
        return [
            element
            for element in self.elements
            if element.tag == tag
            and (within is None or element.is_inside(within))
            and all(element.attrs.get(k) == v for k, v in attrs.items())
        ]

    def one(self, tag: str, within: Element | None = None, **attrs: str) -> Element:
        """The only element matching; fails the test if there are 0 or more."""
        found = self.find_all(tag, within, **attrs)
        assert len(found) == 1, f"expected one <{tag} {attrs}>, found {len(found)}"
        return found[0]

    def by_id(self, element_id: str) -> Element:
        found = [e for e in self.elements if e.attrs.get("id") == element_id]
        assert len(found) == 1, f"expected one element #{element_id}, found {found}"
        return found[0]

    def article_links(self) -> set[str]:
        """Slugs of the articles this page links to (``/2026/<slug>/``)."""
        slugs = set()
        for link in self.find_all("a"):
            found = re.fullmatch(r"/2026/([^/]+)/", link.attrs.get("href") or "")
            if found:
                slugs.add(found.group(1))
        return slugs

    def atom_links(self) -> list[str]:
        """Hrefs of the Atom feeds announced in ``<head>``."""
        head = self.one("head")
        return [
            link.attrs.get("href") or ""
            for link in self.find_all(
                "link", head, rel="alternate", type="application/atom+xml"
            )
        ]


def read_metadata(path: Path) -> dict[str, str]:
    """The ``Key: value`` header of a Markdown post."""
    header = path.read_text(encoding="utf-8").split("\n\n", 1)[0]
    return dict(line.split(": ", 1) for line in header.splitlines())


def site_index(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))


def scripts(html: Page) -> list[Element]:
    """Every ``<script>`` of a page."""
    return html.find_all("script")


def assert_only_our_comment_script(html: Page, siteurl: str = "") -> None:
    """The page's only script is the theme's own article.js, deferred, no inline
    code: the pages work without it, and nothing from elsewhere runs."""
    (script,) = scripts(html)
    assert script.attrs.get("src") == f"{siteurl}/theme/js/article.js"
    assert "defer" in script.attrs
    assert script.text == ""


def the_forms(html: Page) -> tuple[Element, Element]:
    """An article page's two forms: the public comment form, then the feedback
    form, which stays the last form of the page."""
    forms = html.find_all("form")
    actions = [form.attrs.get("action") for form in forms]
    assert actions == ["/app/comments", "/app/feedback"]
    comment_form, feedback_form = forms
    return comment_form, feedback_form


def copy_content(tmp: Path) -> Path:
    """A private copy of the project's content folder to add posts to."""
    return Path(shutil.copytree(ROOT / "content", tmp / "content"))


# --- the development build ---------------------------------------------------


@pytest.mark.parametrize("page", ARTICLE_PAGES + OTHER_PAGES)
def test_every_page_is_built_in_the_theme(built_site: Path, page: str) -> None:
    path = built_site / "output" / page
    assert path.is_file(), f"{page} was not built"
    html = Page.load(path)
    assert html.one("html").attrs.get("lang") == "en"
    assert html.one("title").text.endswith("Talking Shop")
    assert html.one("main").attrs.get("id") == "main"
    assert html.one("a", **{"class": "skip-link"}).attrs["href"] == "#main"
    assert html.one("link", rel="stylesheet").attrs["href"] == "/theme/css/main.css"
    assert len(html.find_all("h1")) == 1
    assert (built_site / "output/theme/css/main.css").is_file()
    ids = [e.attrs["id"] for e in html.elements if e.attrs.get("id")]
    assert len(ids) == len(set(ids)), "an id is used twice on the page"


@pytest.mark.parametrize("page", ARTICLE_PAGES)
def test_article_pages_run_only_our_comment_script(built_site: Path, page: str) -> None:
    assert_only_our_comment_script(Page.load(built_site / "output" / page))
    assert (built_site / "output/theme/js/article.js").is_file()


@pytest.mark.parametrize("page", OTHER_PAGES)
def test_other_pages_run_no_script(built_site: Path, page: str) -> None:
    assert scripts(Page.load(built_site / "output" / page)) == []


@pytest.mark.parametrize(
    ("page", "slugs"),
    [
        ("index.html", set(SLUGS)),
        ("archives/index.html", set(SLUGS)),
        ("category/sales/index.html", {SLUGS[0], SLUGS[2]}),
        ("category/reader-mail/index.html", {SLUGS[1]}),
        ("tag/inside-sales/index.html", {SLUGS[0], SLUGS[1]}),
        ("author/maya-lindqvist/index.html", {SLUGS[0], SLUGS[1]}),
        ("author/tomas-ferreira/index.html", {SLUGS[2]}),
    ],
)
def test_lists_link_their_articles(
    built_site: Path, page: str, slugs: set[str]
) -> None:
    assert Page.load(built_site / "output" / page).article_links() == slugs


def test_term_lists_link_every_term(built_site: Path) -> None:
    def hrefs(page: str) -> set[str]:
        html = Page.load(built_site / "output" / page)
        return {a.attrs.get("href") or "" for a in html.find_all("a", html.one("main"))}

    assert {"/author/maya-lindqvist/", "/author/tomas-ferreira/"} <= hrefs(
        "authors/index.html"
    )
    assert {"/category/sales/", "/category/reader-mail/"} <= hrefs(
        "categories/index.html"
    )
    assert "/tag/inside-sales/" in hrefs("tags/index.html")


@pytest.mark.parametrize("slug", SLUGS)
def test_article_page_ends_with_the_feedback_form(built_site: Path, slug: str) -> None:
    html = Page.load(built_site / "output/2026" / slug / "index.html")
    assert html.one("h1").text == next(
        a["title"]
        for a in site_index(built_site / "site.json")["articles"]
        if a["slug"] == slug
    )
    comment_form, form = the_forms(html)
    # The feedback form is the last thing in the article: after the comments.
    post = html.one("article", **{"class": "post"})
    section = form.parent
    assert section is not None
    assert section.tag == "section"
    assert "feedback" in section.classes
    in_post = [e for e in html.elements if e.is_inside(post)]
    assert in_post[-1] is section or in_post[-1].is_inside(section)
    assert comment_form.is_inside(html.by_id("comments"))
    assert html.elements.index(comment_form) < html.elements.index(form)

    assert form.attrs.get("method", "").lower() == "post"
    assert form.attrs.get("action") == "/app/feedback"
    assert html.one("h2", id="feedback-title").text == "Send feedback to the author"

    controls = [
        e
        for e in html.elements
        if e.tag in ("input", "textarea", "select") and e.is_inside(form)
    ]
    assert {c.attrs.get("name") for c in controls} == {
        "article",
        "page",  # the page it was sent from: the app answers in its language
        "message",
        "name",
        "email",
        "may_quote",
        "homepage",
        "ticket",
    }
    assert html.one("input", form, name="page").attrs.get("value") == f"2026/{slug}/"
    # The ticket is left for the page's script to fetch; its address is on
    # the form, for this article.
    assert html.one("input", form, name="ticket").attrs.get("value") == ""
    # Both name the article by its URL, never by its slug alone.
    assert form.attrs.get("data-ticket-url") == (
        f"/app/form-ticket?article=2026/{slug}/"
    )

    article = html.one("input", form, name="article")
    assert article.attrs.get("type") == "hidden"
    assert article.attrs.get("value") == f"2026/{slug}/"

    message = html.one("textarea", form, name="message")
    assert "required" in message.attrs
    assert message.attrs.get("maxlength") == str(app_config.MAX_MESSAGE_LENGTH)
    assert message.text == ""

    name = html.one("input", form, name="name")
    assert name.attrs.get("type") == "text"
    assert "required" not in name.attrs
    assert name.attrs.get("maxlength") == str(app_config.MAX_NAME_LENGTH)

    email = html.one("input", form, name="email")
    assert email.attrs.get("type") == "email"
    assert "required" not in email.attrs
    assert email.attrs.get("maxlength") == str(app_config.MAX_EMAIL_LENGTH)
    assert not email.attrs.get("value")

    may_quote = html.one("input", form, name="may_quote")
    assert may_quote.attrs.get("type") == "checkbox"
    assert "checked" not in may_quote.attrs, "quoting must be opt-in"
    quote_label = next(e for e in may_quote.ancestors() if e.tag == "label")
    assert "may quote this feedback publicly" in quote_label.text
    assert "without my name or address" in quote_label.text

    homepage = html.one("input", form, name="homepage")
    # One honeypot per form: the comment form has its own.
    traps = [e for e in html.elements if "honeypot" in e.classes]
    assert len(traps) == 2
    assert traps[0].is_inside(comment_form)
    assert traps[1].is_inside(form)
    trap = next(e for e in homepage.ancestors() if "honeypot" in e.classes)
    assert trap is traps[1]
    assert trap.attrs.get("aria-hidden") == "true"
    assert homepage.attrs.get("tabindex") == "-1"
    assert homepage.attrs.get("autocomplete") == "off"

    # Every visible field has a label naming it (label[for] = the field's id).
    for field_ in (message, name, email, homepage):
        field_id = field_.attrs.get("id")
        assert field_id, f"{field_.attrs['name']} has no id"
        html.one("label", form, **{"for": field_id})
    assert "Your message" in html.one("label", form, **{"for": "feedback-message"}).text
    email_label = html.one("label", form, **{"for": email.attrs["id"]})
    assert "e-mail" in email_label.text
    assert "optional" in email_label.text

    # Beside the address, the plain reason, tied to the field for screen readers.
    hints = [html.by_id(i) for i in email.attrs.get("aria-describedby", "").split()]
    hint = " ".join(h.text for h in hints)
    assert "never published" in hint
    assert "reply" in hint
    assert all(h.parent is email.parent for h in hints)

    button = html.one("button", form)
    assert button.attrs.get("type") == "submit"
    assert button.text == "Send feedback"


def test_the_sample_article_sends_readers_to_the_form_where_it_is(
    built_site: Path,
) -> None:
    """The sample article's last words point to the private feedback form:
    they must say where it is on the page, after the comments and their
    form, not "right below this article" where the comment form is."""
    html = Page.load(built_site / "output/2026" / SLUGS[0] / "index.html")
    body = html.one("div", **{"class": "post-content"})
    (pointer,) = [p for p in html.find_all("p", body) if "feedback form" in p.text]
    assert "below this article" not in pointer.text
    assert "at the end of this page, after the comments" in pointer.text
    comment_form, feedback_form = the_forms(html)
    assert html.elements.index(comment_form) < html.elements.index(feedback_form)
    assert html.elements.index(pointer) < html.elements.index(comment_form)
    assert html.by_id("feedback-title").is_inside(feedback_form.parent)


@pytest.mark.parametrize("page", OTHER_PAGES)
def test_pages_that_are_not_articles_have_no_form(built_site: Path, page: str) -> None:
    html = Page.load(built_site / "output" / page)
    assert html.find_all("form") == []
    assert html.find_all("textarea") == []


def test_site_index_lists_the_published_articles(built_site: Path) -> None:
    index = site_index(built_site / "site.json")
    assert index["sitename"] == "Talking Shop"
    articles = {a["slug"]: a for a in index["articles"]}
    assert len(index["articles"]) == len(articles) == 3
    assert set(articles) == set(SLUGS)
    for slug, article in articles.items():
        assert article["url"] == f"/2026/{slug}/"
        assert article["page_url"] == f"2026/{slug}/"
        assert article["authors"] == AUTHORS[slug]
        page = built_site / "output" / article["url"].strip("/") / "index.html"
        assert Page.load(page).one("h1").text == article["title"]
    assert len({a for article in articles.values() for a in article["authors"]}) == 2
    assert {p["title"] for p in index["pages"]} == {"About"}
    assert list(built_site.glob(".site.json*")) == []  # no half-written copies


def test_development_build_has_only_the_comment_feeds(built_site: Path) -> None:
    """No site-wide feeds while writing; each article's comment feed, though,
    is part of the article (the app rebuilds it with the page)."""
    output = built_site / "output"
    assert not (output / "feeds").exists()
    assert {str(p.relative_to(output)) for p in output.rglob("*.xml")} == {
        f"2026/{slug}/comments.atom.xml" for slug in SLUGS
    }
    for slug in SLUGS:
        html = Page.load(output / f"2026/{slug}/index.html")
        assert html.atom_links() == [f"/2026/{slug}/comments.atom.xml"]
    for page in OTHER_PAGES:
        assert Page.load(output / page).atom_links() == []


# --- drafts and `invoke new` ---------------------------------------------------


@pytest.fixture(scope="module")
def tasks() -> ModuleType:
    """The project's tasks.py (at the root, next to pelicanconf.py)."""
    with pytest.MonkeyPatch.context() as mp:
        mp.syspath_prepend(str(ROOT))
        return importlib.import_module("tasks")


NEW_TITLE = "Cold calls:  what I'd keep "
NEW_SLUG = "cold-calls-what-id-keep"
NEW_DATE = datetime(2026, 12, 3, 14, 5, tzinfo=STOCKHOLM)


@dataclass
class DraftsProject:
    """A copy of the project with a draft written by ``invoke new``, built."""

    folder: Path
    printed: str  # what `invoke new` said


def invoke_in(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Run ``invoke ARGS`` in ``project`` as an author does, no server running."""
    env = {k: v for k, v in os.environ.items() if k != "PORT"}
    env["FEEDBACK_INSTANCE_PATH"] = str(project / "instance")
    return subprocess.run(
        [sys.executable, "-m", "invoke", *args],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture(scope="module")
def drafts_project(tmp_path_factory: pytest.TempPathFactory) -> DraftsProject:
    """The site with two drafts: one written by hand, one by ``invoke new``
    (run as a process in a copy of the project)."""
    tmp = tmp_path_factory.mktemp("drafts")
    for name in ("tasks.py", "pelicanconf.py"):
        shutil.copy(ROOT / name, tmp / name)
    content = copy_content(tmp)
    (content / "unfinished-thoughts.md").write_text(
        "Title: Unfinished thoughts on discovery calls\n"
        "Date: 2026-11-20 09:00\n"
        "Author: Tomás Ferreira\n"
        "Category: Sales\n"
        "Slug: unfinished-thoughts\n"
        "Status: draft\n"
        "\n"
        "Not ready yet.\n",
        encoding="utf-8",
    )
    done = invoke_in(
        tmp, "new", "--title", NEW_TITLE, "--author", "Maya Lindqvist",
        "--tags", "calls, prospecting",
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    build_site(tmp, content=content)
    return DraftsProject(tmp, done.stdout)


@pytest.fixture(scope="module")
def drafts_site(drafts_project: DraftsProject) -> Path:
    return drafts_project.folder


@pytest.mark.parametrize("slug", ["unfinished-thoughts", NEW_SLUG])
def test_drafts_are_built_apart_and_not_offered_to_the_app(
    drafts_site: Path, slug: str
) -> None:
    output = drafts_site / "output"
    assert (output / "drafts" / f"{slug}.html").is_file()
    assert not (output / "2026" / slug).exists()
    index = site_index(drafts_site / "site.json")
    assert {a["slug"] for a in index["articles"]} == set(SLUGS)
    for page in ("index.html", "archives/index.html", "category/sales/index.html"):
        assert slug not in (output / page).read_text(encoding="utf-8")


def test_invoke_new_names_the_file_as_the_desk_and_shows_where_to_see_it(
    drafts_project: DraftsProject,
) -> None:
    project, printed = drafts_project.folder, drafts_project.printed
    # As the desk names its posts (content/desk/<slug>.md): no date.
    path = project / "content" / f"{NEW_SLUG}.md"
    assert f"Created content/{NEW_SLUG}.md (Status: draft)" in printed
    assert not list((project / "content").glob("2026-*.md"))
    # The address printed is the development server's (DRAFT_URL), and the
    # build wrote the draft there.
    url = f"http://127.0.0.1:8000/drafts/{NEW_SLUG}.html"
    assert f"See it at {url} once the site is built" in printed
    assert (project / "output" / urlsplit(url).path.lstrip("/")).is_file()
    # No empty Summary: Pelican would publish it as is, and the index would
    # show no excerpt.
    assert "Summary" not in read_metadata(path)
    assert read_metadata(path)["Status"] == "draft"


def test_invoke_new_refuses_a_slug_taken_by_a_desk_post(
    drafts_project: DraftsProject,
) -> None:
    desk = drafts_project.folder / "content" / "desk"
    desk.mkdir(exist_ok=True)
    (desk / "a-desk-post.md").write_text("Title: A desk post\n\nMine.\n")
    done = invoke_in(drafts_project.folder, "new", "--title", "A desk post")
    assert done.returncode == 1
    assert "content/desk/a-desk-post.md already exists" in done.stderr
    assert not (drafts_project.folder / "content" / "a-desk-post.md").exists()


def test_new_post_writes_a_draft(tmp_path: Path, tasks: ModuleType) -> None:
    path = tasks.new_post(
        NEW_TITLE,
        author="Tomás Ferreira",
        category="Reader mail",
        tags="calls, prospecting",
        summary="What I would keep\nof cold calls.",
        now=NEW_DATE,
        content=tmp_path,
    )
    assert path == tmp_path / f"{NEW_SLUG}.md"
    meta = read_metadata(path)
    assert meta["Title"] == "Cold calls: what I'd keep"
    assert meta["Date"] == "2026-12-03 14:05"
    assert meta["Author"] == "Tomás Ferreira"
    assert meta["Category"] == "Reader mail"
    assert meta["Tags"] == "calls, prospecting"
    assert meta["Slug"] == NEW_SLUG
    assert meta["Summary"] == "What I would keep of cold calls."  # one line
    assert meta["Status"] == "draft"


def test_new_post_defaults_to_the_sites_author(
    tmp_path: Path, tasks: ModuleType
) -> None:
    path = tasks.new_post("A title", now=NEW_DATE, content=tmp_path)
    meta = read_metadata(path)
    assert meta["Author"] == "Maya Lindqvist"  # AUTHOR in pelicanconf.py
    assert meta["Category"] == "Sales"


def test_new_post_never_overwrites(tmp_path: Path, tasks: ModuleType) -> None:
    path = tasks.new_post(NEW_TITLE, author="A", now=NEW_DATE, content=tmp_path)
    path.write_text("Title: my words\n\nDo not lose these.\n", encoding="utf-8")
    with pytest.raises(FileExistsError):
        tasks.new_post(NEW_TITLE, author="B", now=NEW_DATE, content=tmp_path)
    assert path.read_text(encoding="utf-8").endswith("Do not lose these.\n")
    assert len(list(tmp_path.iterdir())) == 1


def test_new_post_date_is_the_given_moment(tmp_path: Path, tasks: ModuleType) -> None:
    now = datetime(2026, 12, 31, 23, 30, tzinfo=UTC)  # 00:30 in Stockholm
    path = tasks.new_post("Late post", author="A", now=now, content=tmp_path)
    written = get_date(read_metadata(path)["Date"])
    if written.tzinfo is None:  # what Pelican does with a date without offset
        written = written.replace(tzinfo=STOCKHOLM)
    assert written == now


@pytest.mark.parametrize("title", ["", "   ", "\n\t"])
def test_new_post_needs_a_title(tmp_path: Path, tasks: ModuleType, title: str) -> None:
    with pytest.raises(ValueError):
        tasks.new_post(title, author="A", now=NEW_DATE, content=tmp_path)
    assert list(tmp_path.iterdir()) == []


# --- autoescape ----------------------------------------------------------------

SCRIPT = '<script>alert("x")</script>'
IMG = "<img src=x onerror=alert(1)>"
HOSTILE_TITLE = f"Hostile {SCRIPT} title {IMG}"


@pytest.fixture(scope="module")
def hostile_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The site plus an article whose metadata carries HTML injections."""
    tmp = tmp_path_factory.mktemp("hostile")
    content = copy_content(tmp)
    # Summary is left out on purpose: Pelican renders it as Markdown (it is in
    # FORMATTED_FIELDS), so raw HTML in it is the author's own HTML, exactly
    # like the article body, and the theme rightly outputs it as is. The
    # plain-text metadata (title, author, category, tags) must be escaped.
    (content / "hostile.md").write_text(
        f"Title: {HOSTILE_TITLE}\n"
        "Date: 2026-12-01 10:00\n"
        f"Author: Mallory {SCRIPT}{IMG}\n"
        f"Category: Tricks {SCRIPT}{IMG}\n"
        f"Tags: {SCRIPT}, {IMG}, inside sales\n"
        "Slug: hostile\n"
        "Summary: A plain summary.\n"
        "\n"
        "A plain body.\n",
        encoding="utf-8",
    )
    build_site(tmp, content=content)
    return tmp


def test_metadata_is_escaped_on_every_page(hostile_site: Path) -> None:
    output = hostile_site / "output"
    pages = sorted(output.rglob("*.html"))
    # The article, its author, category and two tag pages, the lists, ...
    assert len(pages) >= len(ARTICLE_PAGES + OTHER_PAGES) + 5
    for page in pages + sorted(output.rglob("*.xml")):
        text = page.read_text(encoding="utf-8")
        assert "<script>alert" not in text, page
        assert "<img src=x onerror" not in text, page
    html = Page.load(output / "2026/hostile/index.html")
    assert "&lt;script&gt;alert" in (output / "2026/hostile/index.html").read_text()
    assert html.one("h1").text == HOSTILE_TITLE  # shown as text, not run
    assert_only_our_comment_script(html)
    assert html.find_all("img") == []
    assert html.one("h2", id="comments-title").text == (
        f"No comments yet on “{HOSTILE_TITLE}”"
    )
    feed = read_feed(output / "2026/hostile/comments.atom.xml")
    assert feed.findtext(f"{ATOM}title") == f"Comments on “{HOSTILE_TITLE}”"
    authors = {a.text for a in html.find_all("a", rel="author")}
    assert f"Mallory {SCRIPT}{IMG}" in authors
    assert {a.text for a in html.find_all("a", rel="tag")} == {
        SCRIPT,
        IMG,
        "inside sales",
    }
    # The app gets the title as data; its own pages escape it (Flask autoescape).
    index = site_index(hostile_site / "site.json")
    assert HOSTILE_TITLE in {a["title"] for a in index["articles"]}


# --- the production build -------------------------------------------------------


@pytest.fixture(scope="module")
def production_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The site built with publishconf.py for https://blog.example.org."""
    tmp = tmp_path_factory.mktemp("production")
    with pytest.MonkeyPatch.context() as mp:
        # publishconf.py reads SITEURL from the environment, as `invoke publish`
        # is run.
        mp.setenv("SITEURL", PROD_URL)
        build_site(
            tmp,
            settings="publishconf.py",
            extra={"SITEURL": PROD_URL, "FEED_DOMAIN": PROD_URL},
        )
    return tmp


def read_feed(path: Path) -> ET.Element:
    assert path.is_file(), f"{path.name} was not built"
    root = ET.parse(path).getroot()  # noqa: S314 (our own build output)
    assert root.tag == f"{ATOM}feed"
    return root


def entry_links(feed: ET.Element) -> set[str]:
    links = set()
    for entry in feed.findall(f"{ATOM}entry"):
        (link,) = entry.findall(f"{ATOM}link[@rel='alternate']")
        links.add(link.attrib["href"])
    return links


def test_production_build_has_an_atom_feed_of_all_articles(
    production_site: Path,
) -> None:
    feed = read_feed(production_site / "output/feeds/all.atom.xml")
    assert len(feed.findall(f"{ATOM}entry")) == 3
    assert entry_links(feed) == {f"{PROD_URL}/2026/{slug}/" for slug in SLUGS}
    assert feed.findtext(f"{ATOM}title") == "Talking Shop"
    for entry in feed.findall(f"{ATOM}entry"):
        assert entry.findtext(f"{ATOM}title")
        assert entry.findtext(f"{ATOM}updated")
        assert entry.findtext(f"{ATOM}id")
    for link in feed.findall(f"{ATOM}link"):
        assert link.attrib["href"].startswith(f"{PROD_URL}/")


@pytest.mark.parametrize(
    ("category", "slugs"),
    [("sales", {SLUGS[0], SLUGS[2]}), ("reader-mail", {SLUGS[1]})],
)
def test_production_build_has_a_feed_per_category(
    production_site: Path, category: str, slugs: set[str]
) -> None:
    feed = read_feed(production_site / f"output/feeds/{category}.atom.xml")
    assert len(feed.findall(f"{ATOM}entry")) == len(slugs)
    assert entry_links(feed) == {f"{PROD_URL}/2026/{slug}/" for slug in slugs}
    category_page = Page.load(
        production_site / f"output/category/{category}/index.html"
    )
    assert f"{PROD_URL}/feeds/{category}.atom.xml" in category_page.atom_links()


@pytest.mark.parametrize("page", [*ARTICLE_PAGES, "index.html", "about/index.html"])
def test_production_pages_announce_the_feed(production_site: Path, page: str) -> None:
    html = Page.load(production_site / "output" / page)
    assert f"{PROD_URL}/feeds/all.atom.xml" in html.atom_links()


@pytest.mark.parametrize("slug", SLUGS)
def test_production_article_links_are_absolute(
    production_site: Path, slug: str
) -> None:
    html = Page.load(production_site / f"output/2026/{slug}/index.html")
    assert html.one("link", rel="canonical").attrs["href"] == f"{PROD_URL}/2026/{slug}/"
    # Both forms post to the app on the blog's own origin (nginx proxies
    # /app/): same origin as the page, under the path of SITEURL.
    comment_form, form = the_forms(html)
    page_url = f"2026/{slug}/"
    assert html.one("input", form, name="article").attrs.get("value") == page_url
    assert (
        html.one("input", comment_form, name="article").attrs.get("value") == page_url
    )
    stylesheet = html.one("link", rel="stylesheet").attrs["href"]
    assert stylesheet == f"{PROD_URL}/theme/css/main.css"
    assert_only_our_comment_script(html, PROD_URL)
    comment_feed = f"{PROD_URL}/2026/{slug}/comments.atom.xml"
    assert comment_feed in html.atom_links()
    feed_link = next(
        a for a in html.find_all("a") if a.text == "Comments feed for this article"
    )
    assert feed_link.attrs.get("href") == comment_feed


@pytest.mark.parametrize("slug", SLUGS)
def test_production_comment_feeds_use_absolute_links(
    production_site: Path, slug: str
) -> None:
    feed = read_feed(production_site / f"output/2026/{slug}/comments.atom.xml")
    article_url = f"{PROD_URL}/2026/{slug}/"
    links = {
        link.attrib["rel"]: link.attrib["href"] for link in feed.findall(f"{ATOM}link")
    }
    assert links == {
        "alternate": article_url,
        "self": f"{article_url}comments.atom.xml",
    }
    assert feed.findtext(f"{ATOM}id") == article_url


def test_production_site_index_has_absolute_urls(production_site: Path) -> None:
    index = site_index(production_site / "site.json")
    assert index["siteurl"] == PROD_URL
    assert {a["url"] for a in index["articles"]} == {
        f"{PROD_URL}/2026/{slug}/" for slug in SLUGS
    }


def test_every_text_file_gets_a_gzip_twin_and_stale_twins_go(tmp_path: Path) -> None:
    """For nginx's gzip_static: each page, feed and theme file has a .gz of
    the same bytes; a rebuild keeps unchanged twins and drops orphans."""
    build_site(tmp_path)
    output = tmp_path / "output"
    texts = [p for p in output.rglob("*") if p.suffix in (".html", ".xml", ".css")]
    assert texts
    for path in texts:
        twin = path.with_name(path.name + ".gz")
        assert gzip.decompress(twin.read_bytes()) == path.read_bytes(), path
    kept = output / "index.html.gz"
    stamp = kept.stat().st_mtime_ns
    orphan = output / "gone" / "index.html.gz"
    orphan.parent.mkdir()
    orphan.write_bytes(gzip.compress(b"an old page"))
    build_site(tmp_path)
    assert kept.stat().st_mtime_ns == stamp  # unchanged page: twin untouched
    assert not orphan.exists()
