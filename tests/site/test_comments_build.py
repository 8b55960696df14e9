"""Public comments in the published site: real Pelican builds, real app, real SQLite.

Two ways comments reach a build, as in production:

* a comments folder of ``<slug>.json`` files written here by hand, passed to
  an ordinary build as ``FEEDBACK_COMMENTS_PATH`` (the plugin's side: the
  thread, the badge, the feed, the reply links), and
* the app's own path: comments posted through the "Leave a reply" form
  (Flask test client), approved with ``flask comments approve`` (CLI runner),
  which writes the JSON and runs the selective rebuild into a site built
  here first (XSS, addresses never published, selective = full build).

Pages are parsed with ``tests.test_build.Page`` (the standard library's
``html.parser``), so the checks are on structure, not formatting.
"""

from __future__ import annotations

import gzip
import json
import re
import shutil
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from werkzeug.test import TestResponse

from feedback_app import create_app
from feedback_app.core.db import get_db, upgrade
from feedback_app.core.models import Comment

from ..conftest import ORIGIN, ROOT, build_site, typed_ticket
from .test_build import (
    ATOM,
    SLUGS,
    Element,
    Page,
    assert_only_our_comment_script,
    read_feed,
    site_index,
    the_forms,
)

pytestmark = pytest.mark.build

THREADED, SINGLE, EMPTY = SLUGS  # the articles with 7, 1 and no comments
STOCKHOLM = ZoneInfo("Europe/Stockholm")  # TIMEZONE in pelicanconf.py
START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
REL = "nofollow ugc noopener"


# --- comments folders written by hand -------------------------------------------


def published(
    cid: int,
    name: str,
    *,
    parent: int | None = None,
    website: str | None = None,
    author: bool = False,
) -> dict[str, Any]:
    """One entry of ``<slug>.json`` as the app writes it (no address, ever)."""
    return {
        "id": cid,
        "parent": parent,
        "name": name,
        "website": website,
        "date": (START + timedelta(minutes=10 * cid)).isoformat(),
        "author": author,
        "html": f"<p>Comment number {cid}, by <em>{name}</em>.</p>",
    }


def write_comments(folder: Path, slug: str, comments: list[dict[str, Any]]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    text = json.dumps({"article": slug, "comments": comments}, ensure_ascii=False)
    (folder / f"{slug}.json").write_text(text, encoding="utf-8")


# Depth:   1 ─ #1 Ana (website)
#          2   ├─ #2 Maya Lindqvist, the article's author ("author": true)
#          3   │   └─ #3 Ben
#          4   │       └─ #6 "Maya<ZWSP>Lindqvist" (imitates the author)
#          5   │           └─ #7 Cleo (deepest: no Reply link)
#          2   └─ #5 "Mаya Lindqvist" (Cyrillic а)
#          1 ─ #4 "maya lindqvist"
THREAD = [
    published(1, "Ana Berg", website="https://ana.example/"),
    published(2, "Maya Lindqvist", parent=1, author=True),
    published(3, "Ben Okafor", parent=2),
    published(4, "maya lindqvist"),
    published(5, "Mаya Lindqvist", parent=1),
    published(6, "Maya\u200bLindqvist", parent=3),
    published(7, "Cleo Park", parent=6),
]
DEPTH = {1: 1, 2: 2, 3: 3, 4: 1, 5: 2, 6: 4, 7: 5}
PARENT = {c["id"]: c["parent"] for c in THREAD}
NAMES = {c["id"]: c["name"] for c in THREAD}


def thread_folder(tmp: Path) -> Path:
    folder = tmp / "comments"
    write_comments(folder, THREADED, THREAD)
    write_comments(folder, SINGLE, [published(8, "Dana Holm")])
    return folder


@pytest.fixture(scope="module")
def thread_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The project's site built with a comments folder; its build folder."""
    tmp = tmp_path_factory.mktemp("thread")
    build_site(tmp, extra={"FEEDBACK_COMMENTS_PATH": str(thread_folder(tmp))})
    return tmp


def title_of(site: Path, slug: str) -> str:
    """An article's title, as the build recorded it in the site index."""
    articles = site_index(site / "site.json")["articles"]
    return next(a["title"] for a in articles if a["slug"] == slug)


def article_page(site: Path, slug: str) -> Page:
    return Page.load(site / "output/2026" / slug / "index.html")


def comment_items(html: Page) -> dict[int, Element]:
    """The ``<li id="comment-N">`` of the page, by comment id."""
    return {
        int(e.attrs["id"].removeprefix("comment-")): e
        for e in html.find_all("li")
        if "comment" in e.classes
    }


def own_article(html: Page, item: Element) -> Element:
    """A comment's own ``<article>`` (its replies are outside it)."""
    (article,) = [e for e in html.find_all("article") if e.parent is item]
    return article


def nearest(element: Element, tag: str) -> Element | None:
    return next((e for e in element.ancestors() if e.tag == tag), None)


def test_thread_nests_replies_as_lists(thread_site: Path) -> None:
    html = article_page(thread_site, THREADED)
    items = comment_items(html)
    assert set(items) == set(NAMES)
    section = html.by_id("comments")
    top = html.one("ol", section, **{"class": "comment-list"})
    for cid, item in items.items():
        holder = item.parent
        assert holder is not None
        assert holder.tag == "ol"
        if PARENT[cid] is None:
            assert holder is top, f"#{cid} should be a top-level comment"
        else:
            assert "comment-replies" in holder.classes
            assert nearest(holder, "li") is items[PARENT[cid]]
        depth = 1 + sum(1 for a in item.ancestors() if "comment" in a.classes)
        assert depth == DEPTH[cid]
    # Oldest first at every level.
    order = [cid for cid in items if PARENT[cid] is None]
    assert order == [1, 4]
    assert html.elements.index(items[2]) < html.elements.index(items[5])


def test_comments_have_permalinks_dates_and_bodies(thread_site: Path) -> None:
    html = article_page(thread_site, THREADED)
    for cid, item in comment_items(html).items():
        own = own_article(html, item)
        permalink = html.one("a", own, **{"class": "permalink"})
        assert permalink.attrs.get("href") == f"#comment-{cid}"
        time = html.one("time", permalink)
        written = START + timedelta(minutes=10 * cid)
        assert datetime.fromisoformat(time.attrs["datetime"]) == written
        local = written.astimezone(STOCKHOLM)
        # The zone named: a reader elsewhere would read a bare time as theirs.
        assert time.text == f"{local.day} March 2026 at {local:%H:%M} CET"
        body = html.one("div", own, **{"class": "comment-body"})
        assert body.text == f"Comment number {cid}, by {NAMES[cid]}."
        assert html.one("span", own, **{"class": "comment-author"}).text == NAMES[cid]


@pytest.mark.parametrize(
    ("slug", "heading"),
    [
        (THREADED, "7 comments on “{title}”"),
        (SINGLE, "One comment on “{title}”"),
        (EMPTY, "No comments yet on “{title}”"),
    ],
)
def test_count_heading(thread_site: Path, slug: str, heading: str) -> None:
    html = article_page(thread_site, slug)
    title = title_of(thread_site, slug)
    assert html.one("h2", id="comments-title").text == heading.format(title=title)
    if slug == EMPTY:
        assert html.find_all("ol", **{"class": "comment-list"}) == []


def test_only_the_authors_own_comment_has_the_badge(thread_site: Path) -> None:
    """Names that imitate the author (case, a Cyrillic letter, zero-width space) get
    no badge: only ``"author": true``, set by the desk, does."""
    html = article_page(thread_site, THREADED)
    items = comment_items(html)
    (badge,) = [e for e in html.elements if "badge" in e.classes]
    assert badge.text == "Author"
    assert nearest(badge, "li") is items[2]
    assert badge.is_inside(own_article(html, items[2]))
    assert [cid for cid, item in items.items() if "by-author" in item.classes] == [2]
    for imitation in (4, 5, 6):
        own = own_article(html, items[imitation])
        assert [
            e for e in html.elements if e.is_inside(own) and "badge" in e.classes
        ] == []
        assert "by-author" not in items[imitation].classes


def test_website_is_a_nofollow_link_on_the_name(thread_site: Path) -> None:
    html = article_page(thread_site, THREADED)
    items = comment_items(html)
    author = html.one(
        "span", own_article(html, items[1]), **{"class": "comment-author"}
    )
    link = html.one("a", author)
    assert link.attrs.get("href") == "https://ana.example/"
    assert link.attrs.get("rel") == REL
    assert link.text == "Ana Berg"
    for cid in set(items) - {1}:
        own = own_article(html, items[cid])
        name = html.one("span", own, **{"class": "comment-author"})
        assert html.find_all("a", name) == []


def reply_links(html: Page) -> dict[int, Element]:
    """Each comment's own Reply link, by comment id (absent ones left out)."""
    found = {}
    for cid, item in comment_items(html).items():
        own = own_article(html, item)
        links = [a for a in html.find_all("a", own) if a.text == "Reply"]
        assert len(links) <= 1
        if links:
            found[cid] = links[0]
    return found


def test_reply_links_open_the_form_for_that_comment(thread_site: Path) -> None:
    html = article_page(thread_site, THREADED)
    links = reply_links(html)
    # Default COMMENTS_MAX_DEPTH is 5: the comment at depth 5 takes no reply.
    assert set(links) == {cid for cid, depth in DEPTH.items() if depth < 5}
    for cid, link in links.items():
        href = urlsplit(link.attrs.get("href") or "")
        assert (href.scheme, href.netloc) == ("", "")
        assert href.path == f"/app/comments/reply/{cid}"
        assert link.attrs.get("data-reply-to") == str(cid)
        assert link.attrs.get("aria-label") == f"Reply to {NAMES[cid]}"
    assert site_index(thread_site / "site.json")["comments"]["max_depth"] == 5


def test_max_depth_setting_removes_deeper_reply_links(tmp_path: Path) -> None:
    build_site(
        tmp_path,
        extra={
            "FEEDBACK_COMMENTS_PATH": str(thread_folder(tmp_path)),
            "COMMENTS_MAX_DEPTH": 3,
        },
    )
    html = article_page(tmp_path, THREADED)
    assert set(reply_links(html)) == {cid for cid, d in DEPTH.items() if d < 3}
    assert site_index(tmp_path / "site.json")["comments"]["max_depth"] == 3


def test_comment_form_is_the_leave_a_reply_form(thread_site: Path) -> None:
    html = article_page(thread_site, THREADED)
    form, _ = the_forms(html)
    assert form.attrs.get("method") == "post"
    assert html.one("h2", id="respond-title").text == "Leave a reply"
    section = html.by_id("respond")
    assert "Required fields are marked" in section.text
    assert "will not be published" in section.text
    fields = {
        e.attrs.get("name"): e
        for e in html.elements
        if e.tag in ("input", "textarea") and e.is_inside(form)
    }
    assert set(fields) == {
        "article",
        "parent",
        "submission_key",
        "body",
        "name",
        "email",
        "website",
        "remember",
        "notify_replies",
        "homepage",
        "ticket",
        "page",
    }
    for hidden, value in (
        ("article", f"2026/{THREADED}/"),
        ("parent", ""),
        ("submission_key", ""),
        ("ticket", ""),
    ):
        assert fields[hidden].attrs.get("type") == "hidden"
        assert fields[hidden].attrs.get("value") == value
    assert "required" in fields["body"].attrs
    assert "required" in fields["name"].attrs
    assert "required" not in fields["email"].attrs  # COMMENTS_REQUIRE_EMAIL off
    assert fields["email"].attrs.get("type") == "email"
    assert fields["website"].attrs.get("inputmode") == "url"
    assert "checked" not in fields["remember"].attrs, "remembering is opt-in"
    assert "checked" not in fields["notify_replies"].attrs, "notifications are opt-in"
    for name in ("body", "name", "email", "website"):
        label = html.one("label", form, **{"for": fields[name].attrs["id"]})
        assert label.text
    email_label = html.one("label", form, **{"for": "comment-email"}).text
    assert "optional" in email_label
    hint = html.by_id(fields["email"].attrs["aria-describedby"]).text
    assert "Never published" in hint
    assert "write back" in hint


# --- the per-article Atom feed --------------------------------------------------


def feed_of(site: Path, slug: str) -> ET.Element:
    return read_feed(site / "output/2026" / slug / "comments.atom.xml")


def test_comment_feed_has_an_entry_per_comment(thread_site: Path) -> None:
    feed = feed_of(thread_site, THREADED)
    entries = feed.findall(f"{ATOM}entry")
    assert len(entries) == len(THREAD)
    links = []
    for entry in entries:
        (link,) = entry.findall(f"{ATOM}link[@rel='alternate']")
        links.append(link.attrib["href"])
        assert entry.findtext(f"{ATOM}id")
        assert entry.findtext(f"{ATOM}title", "").endswith(
            f"on “{title_of(thread_site, THREADED)}”"
        )
        assert entry.findtext(f"{ATOM}author/{ATOM}name") in NAMES.values()
        assert "Comment number" in "".join(entry.itertext())
    assert sorted(links) == sorted(f"/2026/{THREADED}/#comment-{c}" for c in NAMES)
    assert len({e.findtext(f"{ATOM}id") for e in entries}) == len(entries)
    updated = datetime.fromisoformat(feed.findtext(f"{ATOM}updated", ""))
    assert updated == START + timedelta(minutes=10 * max(NAMES))
    assert len(feed_of(thread_site, SINGLE).findall(f"{ATOM}entry")) == 1
    assert feed_of(thread_site, EMPTY).findall(f"{ATOM}entry") == []

    html = article_page(thread_site, THREADED)
    assert html.atom_links() == [f"/2026/{THREADED}/comments.atom.xml"]
    feed_link = next(
        a for a in html.find_all("a") if a.text == "Comments feed for this article"
    )
    assert feed_link.attrs.get("href") == f"/2026/{THREADED}/comments.atom.xml"


def test_full_builds_of_the_same_comments_are_identical(
    thread_site: Path, tmp_path: Path
) -> None:
    """Every page, and every feed that has comments, comes out byte for byte the
    same from a second build of the same state."""
    build_site(
        tmp_path, extra={"FEEDBACK_COMMENTS_PATH": str(thread_site / "comments")}
    )
    first, second = thread_site / "output", tmp_path / "output"
    names = sorted(str(p.relative_to(first)) for p in first.rglob("*") if p.is_file())
    assert names == sorted(
        str(p.relative_to(second)) for p in second.rglob("*") if p.is_file()
    )
    empty_feed = f"2026/{EMPTY}/comments.atom.xml"  # see the next test
    differ = [
        name
        for name in names
        if name != empty_feed
        and (first / name).read_bytes() != (second / name).read_bytes()
    ]
    assert differ == []


def test_feed_without_comments_is_the_same_in_every_build(
    thread_site: Path, tmp_path: Path
) -> None:
    build_site(
        tmp_path, extra={"FEEDBACK_COMMENTS_PATH": str(thread_site / "comments")}
    )
    name = f"output/2026/{EMPTY}/comments.atom.xml"
    assert (tmp_path / name).read_bytes() == (thread_site / name).read_bytes()


# --- the site builds with no database at all ---------------------------------------


def test_site_builds_from_a_clone_with_no_database(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """content/ with content/comments/ is all a build needs: no app, no database."""
    content = Path(shutil.copytree(ROOT / "content", tmp_path / "content"))
    write_comments(content / "comments", THREADED, THREAD)  # the default folder
    # Should the build reach for the app's database, it would find none.
    instance = tmp_path / "instance"
    monkeypatch.setenv("FEEDBACK_INSTANCE_PATH", str(instance))
    monkeypatch.setenv("FEEDBACK_DATABASE_URL", f"sqlite:///{tmp_path}/no/such.db")
    build_site(tmp_path, content=content)

    html = article_page(tmp_path, THREADED)
    assert set(comment_items(html)) == set(NAMES)
    assert len(feed_of(tmp_path, THREADED).findall(f"{ATOM}entry")) == len(THREAD)
    assert not instance.exists()
    assert not (tmp_path / "no").exists()
    # No database of the app's: the one SQLite file is the build's own
    # cache of rendered threads, in its CACHE_PATH (thread_cache.py).
    found = [p for p in tmp_path.rglob("*") if p.suffix in (".db", ".sqlite3")]
    assert found == [tmp_path / "cache" / "feedback-threads.sqlite3"]
    # The comments folder is data for the plugin, not content for Pelican.
    assert not (tmp_path / "output/comments").exists()
    assert "inside-sales-without-the-script.json" not in {
        p.name for p in (tmp_path / "output").rglob("*")
    }


# --- through the app: post, approve with the CLI, selective rebuild ----------------


@dataclass
class Desk:
    """A site built into a tmp folder, and the app that publishes into it."""

    tmp: Path
    app: Flask
    client: FlaskClient

    @property
    def output(self) -> Path:
        return self.tmp / "output"

    @property
    def comments(self) -> Path:
        return self.tmp / "comments"

    def post(self, **fields: str) -> TestResponse:
        """Post the "Leave a reply" form as a browser on the site would."""
        data = {
            "article": f"2026/{THREADED}/",
            "body": "Nice piece.",
            "name": "Sam",
            "ticket": typed_ticket(
                self.app, fields.get("article", f"2026/{THREADED}/")
            ),
            **fields,
        }
        return self.client.post("/comments", data=data, headers={"Origin": ORIGIN})

    def last_comment(self) -> Comment:
        with get_db(self.app).read() as session:
            comment = session.scalars(
                select(Comment).order_by(Comment.id.desc())
            ).first()
        assert comment is not None
        return comment

    def post_held(self, **fields: str) -> int:
        """Post a comment the rules hold; return its id."""
        response = self.post(**fields)
        assert response.status_code == 303, response.text
        comment = self.last_comment()
        assert comment.state == "pending"
        return comment.id

    def moderate(self, verb: str, cid: int) -> str:
        """Run ``flask comments <verb> <id>``; return its output."""
        result = self.app.test_cli_runner().invoke(args=["comments", verb, str(cid)])
        assert result.exit_code == 0, result.output
        return result.output

    def page_path(self, slug: str = THREADED) -> Path:
        return self.output / "2026" / slug / "index.html"

    def feed_path(self, slug: str = THREADED) -> Path:
        return self.output / "2026" / slug / "comments.atom.xml"


@pytest.fixture
def desk(tmp_path: Path, database_url: str) -> Iterator[Desk]:
    comments = tmp_path / "comments"
    comments.mkdir()
    index = build_site(tmp_path, extra={"FEEDBACK_COMMENTS_PATH": str(comments)})
    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "test secret",
            "DATABASE_URL": database_url,
            "SITE_INDEX_PATH": str(index),
            "OUTPUT_PATH": str(tmp_path / "output"),
            "COMMENTS_PATH": str(comments),
            "PELICAN_EXTRA_SETTINGS": {"CACHE_PATH": str(tmp_path / "cache")},
            "SITE_URL": "https://blog.example.org",
            "POST_LIMIT_PER_ADDRESS": 0,  # one client posts every comment here
        }
    )
    app.instance_path = str(tmp_path)
    upgrade(app)
    yield Desk(tmp_path, app, app.test_client())
    app.extensions["publisher"].wait_idle()
    get_db(app).dispose()


HOSTILE_NAME = "<script>alert(1)</script>"
HOSTILE_WEBSITE = 'https://ok.example/"><script>alert(2)</script>'
HOSTILE_BODY = "\n\n".join(
    [
        "<script>alert(3)</script>",
        "<img src=x onerror=alert(4)>",
        "[click](javascript:alert(5))",
        "[again](JaVaScRiPt:alert(6))",
        "<javascript:alert(7)>",
        '<a href="javascript:alert(8)" onclick="alert(9)">raw</a>',
        "<svg onload=alert(10)>",
        "[spaced](java\tscript:alert(11))",
        "[data](data:text/html;base64,PHNjcmlwdD5hbGVydCgxMik8L3NjcmlwdD4=)",
    ]
)
HANDLER_NAME = '"><img src=x onerror=alert(13)>'
DANGEROUS_SCHEMES = ("javascript:", "vbscript:", "data:")


def assert_inert(html: Page, where: str) -> None:
    """Nothing in the markup can run: no handler, no script URL, no new tags."""
    for element in html.elements:
        assert element.tag not in ("img", "svg", "iframe", "object", "embed"), where
        for name, value in element.attrs.items():
            assert not name.startswith("on"), f"{where}: <{element.tag} {name}=…>"
            squeezed = "".join(ch for ch in (value or "") if ch > " ").lower()
            assert not squeezed.startswith(DANGEROUS_SCHEMES), (
                f"{where}: <{element.tag} {name}={value!r}>"
            )


def test_hostile_comments_are_inert_on_the_built_page(desk: Desk) -> None:
    """Script tags, event handlers and javascript: links in the body, the name
    and the website, posted and approved through the app's own path."""
    # A website that is not http(s) is refused outright.
    for website in ("javascript:alert(1)", "JAVASCRIPT:alert(1)", "data:text/html,x"):
        response = desk.post(website=website, email="w@example.org")
        assert response.status_code == 422, website
    with get_db(desk.app).read() as session:
        assert session.scalars(select(Comment)).all() == []

    response = desk.post(
        name=HOSTILE_NAME,
        email="mallory@example.org",
        website=HOSTILE_WEBSITE,
        body=HOSTILE_BODY,
    )
    assert response.status_code == 303, response.text
    first = desk.last_comment().id
    # The reader's own "as it will look" page, rendered by the app, is inert too.
    shown = desk.client.get(response.location)
    assert shown.status_code == 200
    assert "<script>alert" not in shown.text
    assert_inert(Page(shown.text), "the posted page")
    second = desk.post_held(
        name=HANDLER_NAME, email="trudy@example.org", body="Plain *words*."
    )
    assert "page is rebuilt" in desk.moderate("approve", first)
    assert "page is rebuilt" in desk.moderate("approve", second)

    text = desk.page_path().read_text(encoding="utf-8")
    html = Page(text)
    assert "<script>alert" not in text
    assert '"><script>' not in text
    assert_only_our_comment_script(html)
    assert_inert(html, "the article page")
    items = comment_items(html)
    assert set(items) == {first, second}
    # What they typed is shown as text.
    author = html.one(
        "span", own_article(html, items[first]), **{"class": "comment-author"}
    )
    assert author.text == HOSTILE_NAME
    assert html.one("a", author).attrs["href"] == HOSTILE_WEBSITE  # one quoted value
    assert html.one("a", author).attrs["rel"] == REL
    body = html.one("div", own_article(html, items[first]), **{"class": "comment-body"})
    assert "<script>alert(3)</script>" in body.text
    assert "<img src=x onerror=alert(4)>" in body.text
    assert html.find_all("a", body) == []  # none of those links became a link
    second_author = own_article(html, items[second])
    assert html.one("span", second_author, **{"class": "comment-author"}).text == (
        HANDLER_NAME
    )

    feed = read_feed(desk.feed_path())
    entries = feed.findall(f"{ATOM}entry")
    assert {e.findtext(f"{ATOM}author/{ATOM}name") for e in entries} == {
        HOSTILE_NAME,
        HANDLER_NAME,
    }
    for entry in entries:
        for part in ("summary", "content"):
            markup = entry.findtext(f"{ATOM}{part}")
            if markup is not None:
                assert "<script" not in markup
                assert_inert(Page(markup), "a feed entry")


def test_no_commenter_address_is_ever_published(desk: Desk) -> None:
    """Approved, held, spam and trashed comments, replies: no address anywhere in
    output/, the comments folder or the site index."""
    addresses = [
        "Ana.Berg@Example.org",
        "ben+blog@example.net",
        "cleo@mail.example.com",
        "dana@example.org",
        "eve@example.org",
    ]
    ids = [
        desk.post_held(name=f"Reader {n}", email=address, body=f"Comment {n}.")
        for n, address in enumerate(addresses)
    ]
    desk.moderate("approve", ids[0])
    desk.moderate("approve", ids[1])
    reply = desk.post(
        name="Reader 0", email=addresses[0], body="Me again.", parent=str(ids[1])
    )
    assert reply.status_code == 303  # known address: approved at once
    desk.app.extensions["publisher"].wait_idle()
    desk.moderate("spam", ids[2])
    desk.moderate("trash", ids[3])  # ids[4] stays held
    with get_db(desk.app).read() as session:
        rows = [(c.email, c.state) for c in session.scalars(select(Comment))]
    assert sorted(state for _, state in rows) == sorted(
        ["approved", "approved", "approved", "spam", "trash", "pending"]
    )
    html = Page.load(desk.page_path())
    assert len(comment_items(html)) == 3

    needles = {a.lower() for a in addresses} | {a.lower() for a, _ in rows if a}
    needles |= {a.split("@")[0].lower() + "@" for a in needles}  # any domain
    haystack = [p for p in desk.output.rglob("*") if p.is_file()]
    haystack += list(desk.comments.iterdir())
    haystack.append(desk.tmp / "site.json")
    assert len(list(desk.comments.iterdir())) == 1
    for path in haystack:
        content = path.read_bytes().decode("utf-8", "replace").lower()
        for needle in needles:
            assert needle not in content, f"{needle} is in {path}"


def snapshot(output: Path) -> dict[str, tuple[int, bytes]]:
    """Every file under ``output``: modification time and content."""
    return {
        str(p.relative_to(output)): (p.stat().st_mtime_ns, p.read_bytes())
        for p in output.rglob("*")
        if p.is_file()
    }


def test_selective_rebuild_equals_a_full_build_and_touches_nothing_else(
    desk: Desk, tmp_path_factory: pytest.TempPathFactory
) -> None:
    first = desk.post_held(name="Ana Berg", email="ana@example.org", body="First!")
    desk.moderate("approve", first)
    reply = desk.post_held(
        name="Ben Okafor",
        email="ben@example.org",
        website="https://ben.example/",
        body="A *reply* with a [link](https://ben.example/post).",
        parent=str(first),
    )
    before = snapshot(desk.output)
    other_pages = [f"2026/{slug}/index.html" for slug in (SINGLE, EMPTY)]

    output = desk.moderate("approve", reply)
    assert "page is rebuilt" in output
    after = snapshot(desk.output)
    page = f"2026/{THREADED}/index.html"
    feed = f"2026/{THREADED}/comments.atom.xml"
    assert set(after) == set(before)
    changed = {name for name in before if before[name] != after[name]}
    # Pages and feeds: only the article's own two are written (theme files:
    # see the next test).
    assert {n for n in changed if n.endswith((".html", ".xml"))} == {page, feed}
    for other in other_pages:
        assert after[other] == before[other]
    # Their compressed twins (for nginx's gzip_static) follow them.
    twins = {f"{page}.gz", f"{feed}.gz"}
    for name in (page, feed):
        assert gzip.decompress(after[f"{name}.gz"][1]) == after[name][1]
    for name in changed - {page, feed} - twins:
        assert after[name][1] == before[name][1], f"{name} changed content"

    html = Page(after[page][1].decode())
    items = comment_items(html)
    assert set(items) == {first, reply}
    assert nearest(items[reply].parent, "li") is items[first]  # type: ignore[arg-type]

    # A full build from the same comments folder gives the same bytes.
    full = tmp_path_factory.mktemp("full")
    build_site(full, extra={"FEEDBACK_COMMENTS_PATH": str(desk.comments)})
    assert (full / "output" / page).read_bytes() == after[page][1]
    assert (full / "output" / feed).read_bytes() == after[feed][1]


THEME_FILES = ("theme/css/main.css", "theme/js/article.js")


def test_selective_rebuild_leaves_the_theme_files_alone(desk: Desk) -> None:
    cid = desk.post_held(name="Ana Berg", email="ana@example.org", body="Hello.")
    before = {name: (desk.output / name).stat() for name in THEME_FILES}
    desk.moderate("approve", cid)
    for name, stat in before.items():
        now = (desk.output / name).stat()
        assert (now.st_ino, now.st_mtime_ns) == (stat.st_ino, stat.st_mtime_ns), name


# HTML's "valid global date and time string": at most 3 digits of a second.
HTML_DATETIME = re.compile(
    r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,3})?)?(Z|[+-]\d{2}:?\d{2})"
)


def test_comment_dates_are_valid_html_datetimes(desk: Desk) -> None:
    cid = desk.post_held(name="Ana Berg", email="ana@example.org", body="Hello.")
    desk.moderate("approve", cid)
    html = Page.load(desk.page_path())
    times = html.find_all("time")
    assert len(times) >= 2  # the article's own date, and the comment's
    for time in times:
        assert HTML_DATETIME.fullmatch(time.attrs.get("datetime") or ""), time.attrs


def test_unapproving_the_last_comment_empties_the_page(desk: Desk) -> None:
    cid = desk.post_held(name="Ana Berg", email="ana@example.org", body="Hello.")
    desk.moderate("approve", cid)
    assert set(comment_items(Page.load(desk.page_path()))) == {cid}
    assert (desk.comments / f"2026%2F{THREADED}%2F.json").is_file()

    desk.moderate("unapprove", cid)
    html = Page.load(desk.page_path())
    assert comment_items(html) == {}
    assert html.one("h2", id="comments-title").text.startswith("No comments yet")
    assert read_feed(desk.feed_path()).findall(f"{ATOM}entry") == []
    assert not (desk.comments / f"2026%2F{THREADED}%2F.json").exists()
