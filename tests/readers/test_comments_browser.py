"""Public comments in a real browser: headless Chromium driven by Playwright.

Each test builds the site into its own tmp folder (with an empty comments
folder) and serves it with the app, as ``make serve`` does: the static site
at ``/`` and the app under ``/app`` on one origin. The app's comments folder,
output folder and Pelican cache are that tmp folder's, so an approval (the
``flask comments approve`` command, through the CLI runner) rebuilds the very
pages the browser reads. The browser fixtures and helpers are
``tests/readers/test_browser.py``'s (Debian's Chromium; skipped without it, failed
when ``REQUIRE_BROWSER=1``).
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from flask import Flask
from playwright.sync_api import Browser, Locator, Page, expect
from sqlalchemy import select
from werkzeug.serving import make_server

from feedback_app import create_app
from feedback_app.core.db import get_db, upgrade
from feedback_app.core.models import Comment
from feedback_app.devserver import make_site_app
from feedback_app.store import comments as cm

from ..conftest import ARTICLE, ORIGIN, build_site
from . import test_browser
from .test_browser import (
    ARTICLE_PATH,
    ARTICLE_TITLE,
    PHONE,
    _not_ready,
    assert_accessible,
    assert_fits,
    assert_styled,
    new_page,
)

# readers/test_browser.py's fixtures (Chromium, or skip/fail), shared by name.
playwright = test_browser.playwright
browser = test_browser.browser
page = test_browser.page

POSTED_URL = re.compile(r"/app/comments/posted/[^/]+$")
REPLY_FORM_URL = re.compile(r"/app/comments/reply/(\d+)(#respond)?$")
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
COOKIE = "comment_author"
SAVE_ME = re.compile(r"Save my name, e-mail and website")


# --- the site and the app, live, in a tmp folder ----------------------------------


@dataclass
class LiveBlog:
    url: str
    app: Flask
    tmp: Path

    def stored(self) -> list[Comment]:
        """Every comment in the app's database, oldest first."""
        with get_db(self.app).read() as session:
            return list(session.scalars(select(Comment).order_by(Comment.id)))

    def moderate(self, verb: str, cid: int) -> str:
        """Run ``flask comments <verb> <id>``; return its output."""
        result = self.app.test_cli_runner().invoke(args=["comments", verb, str(cid)])
        assert result.exit_code == 0, result.output
        return result.output

    def seed(
        self,
        name: str,
        body: str,
        *,
        parent: int | None = None,
        website: str = "",
        author: bool = False,
    ) -> int:
        """Store an approved comment as other readers did; return its id.

        Posted through the app's own form handler, then approved with the
        same function the CLI uses; call ``publish()`` to rebuild the page.
        ``author`` marks the author's own reply, as the desk will.
        """
        data = {"article": ARTICLE, "name": name, "body": body, "website": website}
        if parent is not None:
            data["parent"] = str(parent)
        client = self.app.test_client()
        response = client.post("/comments", data=data, headers={"Origin": ORIGIN})
        assert response.status_code == 303, response.text
        cid = self.stored()[-1].id
        with get_db(self.app).write() as session:
            comment = cm.set_state(session, cid, "approved")
            comment.is_author = author
        return cid

    def publish(self) -> None:
        self.app.extensions["publisher"].publish({ARTICLE}, wait=True)


@pytest.fixture
def live(tmp_path: Path, database_url: str) -> Iterator[LiveBlog]:
    """A site built into ``tmp_path`` at /, the app at /app, on a free port."""
    comments = tmp_path / "comments"
    comments.mkdir()
    index = build_site(tmp_path, extra={"FEEDBACK_COMMENTS_PATH": str(comments)})
    server = make_server("127.0.0.1", 0, _not_ready, threaded=True)
    url = f"http://127.0.0.1:{server.server_port}"
    app = create_app(
        {
            "SECRET_KEY": "browser test secret",
            "DATABASE_URL": database_url,
            "SITE_INDEX_PATH": str(index),
            "OUTPUT_PATH": str(tmp_path / "output"),
            "COMMENTS_PATH": str(comments),
            "PELICAN_EXTRA_SETTINGS": {"CACHE_PATH": str(tmp_path / "cache")},
            "SITE_URL": url,
            # A test browser types faster than a person (readers/test_tickets.py
            # tests the pace check).
            "FORM_MIN_SECONDS": 0,
            # One browser posts more than a reader would (readers/test_limits.py
            # tests the limits).
            "POST_LIMIT_PER_ADDRESS": 0,
        }
    )
    app.instance_path = str(tmp_path)
    upgrade(app)
    server.app = make_site_app(app)
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()
    yield LiveBlog(url, app, tmp_path)
    server.shutdown()
    thread.join(timeout=10)
    server.server_close()
    app.extensions["publisher"].wait_idle()
    get_db(app).dispose()


# --- helpers -------------------------------------------------------------------


def open_article(page: Page, live: LiveBlog) -> None:
    response = page.goto(live.url + ARTICLE_PATH)
    assert response is not None
    assert response.status == 200
    expect(page.get_by_role("heading", level=1)).to_have_text(ARTICLE_TITLE)


def reply_form(page: Page) -> Locator:
    """The "Leave a reply" section, wherever it is on the page now."""
    return page.locator("#respond")


def fill_comment(
    form: Locator,
    body: str,
    name: str,
    email: str = "",
    website: str = "",
    remember: bool = False,
) -> None:
    """Fill the comment form by its labels, as a person would."""
    form.get_by_label(re.compile(r"^Comment")).fill(body)
    form.get_by_label(re.compile(r"^Name")).fill(name)
    if email:
        form.get_by_label(re.compile(r"^E-mail")).fill(email)
    if website:
        form.get_by_label(re.compile(r"^Website")).fill(website)
    box = form.get_by_label(SAVE_ME)
    if remember:
        box.check()
    else:
        box.uncheck()


def post_comment(form: Locator) -> None:
    form.get_by_role("button", name="Post comment").click()
    expect(form.page).to_have_url(POSTED_URL)


def comment_heading(page: Page) -> Locator:
    return page.locator("#comments-title")


def cookie_names(page: Page) -> set[str]:
    return {c["name"] for c in page.context.cookies()}


# --- a reader without JavaScript --------------------------------------------------


def test_comment_without_javascript_is_approved_and_found_in_place(
    browser: Browser, live: LiveBlog
) -> None:
    body = "Plans beat scripts.\nAsking one more question works for me."
    with new_page(browser, java_script_enabled=False) as page:
        open_article(page, live)
        assert_styled(page)
        expect(comment_heading(page)).to_have_text(
            re.compile(r"^No comments yet on “Inside sales")
        )
        form = reply_form(page)
        expect(form.get_by_role("heading", level=2)).to_have_text("Leave a reply")
        fill_comment(
            form, body, "Sam Reader", "sam@example.org", "https://sam.example/"
        )
        post_comment(form)

        main = page.get_by_role("main")
        expect(page.get_by_role("heading", level=1)).to_have_text(
            "Your comment is awaiting moderation"
        )
        expect(main).to_contain_text(ARTICLE_TITLE)
        shown = main.locator(".comment")
        expect(shown).to_have_count(1)
        expect(shown.locator(".comment-author")).to_have_text("Sam Reader")
        expect(shown.locator(".comment-body")).to_have_text(body)
        expect(shown.locator(".badge")).to_have_text("Awaiting moderation")
        (comment,) = live.stored()
        expect(shown).to_have_id(f"comment-{comment.id}")
        assert comment.state == "pending"
        assert comment.parent_id is None
        assert comment.email == "sam@example.org"
        assert comment.submission_key is None  # no script, no key: still stored
        assert COOKIE not in cookie_names(page)  # nothing kept unasked

        # Back on the article, it is not shown while held.
        main.get_by_role("link", name="Back to the article").click()
        expect(page).to_have_url(live.url + ARTICLE_PATH)
        expect(page.locator(f"#comment-{comment.id}")).to_have_count(0)

        # The author approves it from the command line: the page is rebuilt...
        assert "page is rebuilt" in live.moderate("approve", comment.id)

        # ...and the reader, reloading the static page, finds it in place.
        response = page.reload()
        assert response is not None
        assert response.status == 200
        expect(comment_heading(page)).to_have_text(
            re.compile(r"^One comment on “Inside sales")
        )
        placed = page.locator(f"#comment-{comment.id}")
        expect(placed).to_be_visible()
        expect(placed.locator(".comment-body")).to_have_text(body)
        name = placed.get_by_role("link", name="Sam Reader", exact=True)
        expect(name).to_have_attribute("href", "https://sam.example/")
        expect(placed.locator(".badge")).to_have_count(0)
        permalink = placed.locator("a.permalink")
        expect(permalink).to_have_attribute("href", f"#comment-{comment.id}")

        # Replying without JavaScript: the Reply link opens the app's own form.
        placed.get_by_role("link", name="Reply to Sam Reader").click()
        expect(page).to_have_url(REPLY_FORM_URL)
        form = reply_form(page)
        expect(form.get_by_role("heading", level=2)).to_have_text("Reply to Sam Reader")
        expect(page.locator(f"#comment-{comment.id} .comment-body")).to_have_text(body)
        fill_comment(form, "Agreed, and notes help the next person.", "Kim")
        post_comment(form)

    first, reply = live.stored()
    assert first.id == comment.id
    assert reply.parent_id == comment.id
    assert reply.name == "Kim"
    assert reply.state == "pending"


# --- with JavaScript: the page's own article.js ---------------------------------


def test_reply_link_moves_the_form_under_the_comment(
    page: Page, live: LiveBlog
) -> None:
    ana = live.seed("Ana Berg", "Notes that the next person can use: yes.")
    live.publish()
    open_article(page, live)
    form = reply_form(page)
    key = form.locator("input[name=submission_key]")
    expect(key).to_have_value(UUID)  # filled by the script: an idempotency key
    submission_key = key.input_value()
    parent = form.locator("input[name=parent]")
    expect(parent).to_have_value("")
    heading = form.get_by_role("heading", level=2)
    cancel = form.locator("[data-cancel-reply]")

    thread_item = page.locator(f"#comment-{ana}")
    thread_item.get_by_role("link", name="Reply to Ana Berg").click()
    expect(page).to_have_url(live.url + ARTICLE_PATH)  # no page change
    expect(thread_item.locator("#respond")).to_have_count(1)  # moved under it
    expect(parent).to_have_value(str(ana))
    expect(heading).to_have_text("Reply to Ana Berg")
    expect(form.get_by_label(re.compile(r"^Comment"))).to_be_focused()
    expect(cancel).to_be_visible()

    # Cancel puts it back where it was...
    cancel.click()
    expect(thread_item.locator("#respond")).to_have_count(0)
    expect(page.locator("#comments > #respond")).to_have_count(1)
    expect(parent).to_have_value("")
    expect(heading).to_have_text("Leave a reply")

    # ...and a reply is posted from under the comment.
    thread_item.get_by_role("link", name="Reply to Ana Berg").click()
    fill_comment(form, "Same here: one more question.", "Ben Okafor")
    post_comment(form)
    expect(page.get_by_role("main").locator(".comment-body")).to_have_text(
        "Same here: one more question."
    )

    _, reply = live.stored()
    assert reply.parent_id == ana
    assert reply.name == "Ben Okafor"
    assert reply.submission_key == submission_key


def test_cancel_reply_shows_only_while_replying(
    browser: Browser, live: LiveBlog
) -> None:
    ana = live.seed("Ana Berg", "Notes that the next person can use: yes.")
    live.publish()
    with new_page(browser) as page:
        open_article(page, live)
        cancel = reply_form(page).get_by_role("link", name="Cancel reply")
        expect(cancel).to_have_count(0)
        page.get_by_role("link", name="Reply to Ana Berg").click()
        expect(cancel).to_have_count(1)
        cancel.click()
        expect(cancel).to_have_count(0)
    with new_page(browser, java_script_enabled=False) as page:
        open_article(page, live)
        cancel = reply_form(page).get_by_role("link", name="Cancel reply")
        expect(cancel).to_have_count(0)
        page.goto(f"{live.url}/app/comments/reply/{ana}")
        expect(cancel).to_have_count(1)


def test_name_is_remembered_only_when_asked(browser: Browser, live: LiveBlog) -> None:
    # Not asked (the default): no cookie.
    with new_page(browser) as page:
        open_article(page, live)
        form = reply_form(page)
        expect(form.get_by_label(SAVE_ME)).not_to_be_checked()
        fill_comment(form, "First visit.", "Ola", "ola@example.org")
        post_comment(form)
        assert COOKIE not in cookie_names(page)
        open_article(page, live)
        expect(reply_form(page).get_by_label(re.compile(r"^Name"))).to_have_value("")

    # Asked: the cookie is set, and the next page load fills the form in.
    with new_page(browser) as page:
        open_article(page, live)
        fill_comment(
            reply_form(page),
            "Second visit.",
            "Pia Holm",
            "pia@example.org",
            "https://pia.example/",
            remember=True,
        )
        post_comment(reply_form(page))
        assert COOKIE in cookie_names(page)

        open_article(page, live)
        form = reply_form(page)
        expect(form.get_by_label(re.compile(r"^Name"))).to_have_value("Pia Holm")
        expect(form.get_by_label(re.compile(r"^E-mail"))).to_have_value(
            "pia@example.org"
        )
        expect(form.get_by_label(re.compile(r"^Website"))).to_have_value(
            "https://pia.example/"
        )
        expect(form.get_by_label(SAVE_ME)).to_be_checked()
        expect(form.get_by_label(re.compile(r"^Comment"))).to_have_value("")

        # Unticking it on the next comment forgets the reader again.
        fill_comment(form, "Third visit.", "Pia Holm", remember=False)
        post_comment(form)
        assert COOKIE not in cookie_names(page)

    assert [c.name for c in live.stored()] == ["Ola", "Pia Holm", "Pia Holm"]


# --- a thread on a phone, light and dark; the posted page ------------------------


LONG_LINK = "https://example.org/" + "a-very-long-path-segment-" * 6


def seed_deep_thread(live: LiveBlog) -> list[int]:
    """A thread five levels deep, with the author's badge and long words."""
    ids = [live.seed("Ana Berg", f"Where do I start? See <{LONG_LINK}>.")]
    ids.append(
        live.seed(
            "Maya Lindqvist",
            "With *one* question more than you planned.",
            parent=ids[-1],
            author=True,
        )
    )
    ids.append(
        live.seed(
            "Benjamin Okafor-Lindqvist-Hernández",
            "> one question more\n\nWorks on the phone too. `notes.md` helps.",
            parent=ids[-1],
            website="https://ben.example/",
        )
    )
    ids.append(live.seed("Cleo", "- a list\n- of two", parent=ids[-1]))
    ids.append(live.seed("Dana", "Supercalifragilistic" * 4, parent=ids[-1]))
    live.publish()
    return ids


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_thread_is_accessible_and_fits_a_phone(
    browser: Browser, live: LiveBlog, scheme: str
) -> None:
    ids = seed_deep_thread(live)
    with new_page(browser, viewport=PHONE, color_scheme=scheme) as page:
        open_article(page, live)
        expect(comment_heading(page)).to_have_text(re.compile(r"^5 comments on"))
        deepest = page.locator(f"#comment-{ids[-1]}")
        expect(deepest).to_be_visible()
        expect(deepest.get_by_role("link", name=re.compile("^Reply"))).to_have_count(0)
        expect(page.locator(f"#comment-{ids[1]} .badge").first).to_have_text("Author")
        assert_styled(page)
        assert_fits(page, PHONE["width"])
        assert_accessible(page, f"an article with a thread, {scheme}")

        # The form moved under the fourth level still fits.
        page.locator(f"#comment-{ids[-2]}").get_by_role(
            "link", name="Reply to Cleo"
        ).click()
        expect(page.locator(f"#comment-{ids[-2]} #respond")).to_have_count(1)
        assert_fits(page, PHONE["width"])
        assert_accessible(page, f"the reply form in the thread, {scheme}")

        fill_comment(reply_form(page), f"Reading on a phone, {scheme}.", "Eli")
        post_comment(reply_form(page))
        expect(page.get_by_role("heading", level=1)).to_have_text(
            "Your comment is awaiting moderation"
        )
        assert_fits(page, PHONE["width"])
        assert_accessible(page, f"the posted page, {scheme}")
    assert live.stored()[-1].parent_id == ids[-2]


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_a_long_threads_comment_pages_read_and_answer_on_a_phone(
    browser: Browser, live: LiveBlog, scheme: str
) -> None:
    """Two top-level comments a page: the article shows the newest page and
    links the older ones, which are static pages a reader answers from."""
    build_site(  # the same site, with short pages
        live.tmp,
        extra={
            "FEEDBACK_COMMENTS_PATH": str(live.tmp / "comments"),
            "COMMENTS_PER_PAGE": 2,
        },
    )
    ids = [live.seed(f"Reader {n}", f"Comment number {n}.") for n in range(5)]
    live.publish()
    with new_page(browser, viewport=PHONE, color_scheme=scheme) as page:
        open_article(page, live)
        expect(comment_heading(page)).to_have_text(re.compile(r"^5 comments on"))
        expect(page.locator(f"#comment-{ids[4]}")).to_be_visible()
        expect(page.locator(f"#comment-{ids[0]}")).to_have_count(0)
        page.locator("nav.comment-pages").first.get_by_role("link", name="1").click()
        expect(page).to_have_url(re.compile(r"/comment-page-1/#comments$"))
        expect(page.locator(f"#comment-{ids[0]}")).to_be_visible()
        expect(page.get_by_role("heading", level=1)).to_have_text(ARTICLE_TITLE)
        assert_styled(page)
        assert_fits(page, PHONE["width"])
        assert_accessible(page, f"a comment page, {scheme}")

        page.locator(f"#comment-{ids[1]}").get_by_role(
            "link", name="Reply to Reader 1"
        ).click()
        fill_comment(reply_form(page), "Answered from page one.", "Eli")
        post_comment(reply_form(page))
    assert live.stored()[-1].parent_id == ids[1]


def test_sending_the_same_comment_again_stores_one(page: Page, live: LiveBlog) -> None:
    """The reader posts, goes back and posts the very same form again."""
    posts: list[str] = []
    page.on(
        "request",
        lambda request: posts.append(request.url) if request.method == "POST" else None,
    )
    open_article(page, live)
    form = reply_form(page)
    expect(form.locator("input[name=submission_key]")).to_have_value(UUID)
    fill_comment(form, "Sent twice, stored once.", "Quinn", "quinn@example.org")
    post_comment(form)
    page.go_back()
    expect(page).to_have_url(live.url + ARTICLE_PATH)
    form = reply_form(page)
    if not form.get_by_label(re.compile(r"^Comment")).input_value():
        # Not restored from the back/forward cache: type it again.
        fill_comment(form, "Sent twice, stored once.", "Quinn", "quinn@example.org")
    post_comment(form)
    assert len(posts) == 2
    (comment,) = live.stored()
    assert comment.body == "Sent twice, stored once."
    # The second post shows the comment the first one stored.
    expect(page.locator(".comment")).to_have_id(f"comment-{comment.id}")


def test_a_website_without_https_is_taken_as_typed(page: Page, live: LiveBlog) -> None:
    """Readers type "example.net"; the browser lets it through (it refused
    it as a type=url field) and the app stores it with https://."""
    open_article(page, live)
    form = reply_form(page)
    fill_comment(form, "My site is below.", "Ravi", website="example.net")
    website = form.get_by_label(re.compile(r"^Website"))
    assert website.evaluate("field => field.checkValidity()") is True
    post_comment(form)
    (comment,) = live.stored()
    assert comment.website == "https://example.net"
