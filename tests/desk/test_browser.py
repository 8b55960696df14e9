"""The author's desk in a real browser: headless Chromium driven by Playwright.

Each test serves its own copy of the site (conftest's ``own_site``: content,
output, site index and Pelican cache in a tmp folder) with the app, as
``make serve`` does: the static site at ``/`` and the app under ``/app`` on
one origin, the desk at ``/app/desk/``. Drafts, published posts and comment
rebuilds therefore touch only tmp files. Readers and authors are separate
browser contexts (own cookies) and do everything through the pages, by
labels and roles, as a person would. The browser fixtures and helpers are
``tests/readers/test_browser.py``'s (Debian's Chromium; skipped without it, failed
when ``REQUIRE_BROWSER=1``).
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from flask import Flask
from playwright.sync_api import Browser, Locator, Page, expect
from werkzeug.serving import make_server

from feedback_app import create_app
from feedback_app.core.db import get_db, upgrade
from feedback_app.devserver import make_site_app

from ..conftest import MAYA, PASSWORD, add_author
from ..readers import test_browser
from ..readers.test_browser import (
    ARTICLE_PATH,
    ARTICLE_TITLE,
    PHONE,
    REPLY_URL,
    THANKS_URL,
    _not_ready,
    assert_accessible,
    assert_fits,
    background_is_dark,
    new_page,
)

# readers/test_browser.py's fixtures (Chromium, or skip/fail), shared by name.
playwright = test_browser.playwright
browser = test_browser.browser

EDA = "Eda Editor"
INBOX_PATH = "/app/desk/"
SIGN_IN_URL = re.compile(r"/app/desk/sign-in(\?.*)?$")
FEEDBACK_URL = re.compile(r"/app/desk/feedback/(\d+)$")
POST_URL = re.compile(r"/app/desk/feedback/(\d+)/post$")
QUEUE_URL = re.compile(r"/app/desk/comments(\?.*)?$")
COMMENT_URL = re.compile(r"/app/desk/comments/(\d+)$")
POSTED_URL = re.compile(r"/app/comments/posted/[^/]+$")
READER_MESSAGE = "Do quotas not force a script on people anyway?"
REBUILD_TIMEOUT = 20.0  # seconds for the background rebuild of a page


# --- the site and the app, live, in a tmp folder -----------------------------------


@dataclass
class LiveDesk:
    url: str
    app: Flask
    site: Path  # own_site: content/, output/, site.json, cache/

    def output_file(self, url: str) -> Path:
        """The built file the static server sends for a page's URL."""
        path = urlsplit(url).path.lstrip("/")
        target = self.site / "output" / path
        return target / "index.html" if path.endswith("/") or not path else target


@pytest.fixture
def live(own_site: Path, database_url: str) -> Iterator[LiveDesk]:
    """``own_site`` at /, the app at /app, on a free port; Maya has a password."""
    # Bind first, so that the app's SITE_URL names the port really in use.
    server = make_server("127.0.0.1", 0, _not_ready, threaded=True)
    url = f"http://127.0.0.1:{server.server_port}"
    app = create_app(
        {
            "SECRET_KEY": "desk browser test secret",
            "DATABASE_URL": database_url,
            "SITE_INDEX_PATH": str(own_site / "site.json"),
            "OUTPUT_PATH": str(own_site / "output"),
            "CONTENT_PATH": str(own_site / "content"),
            "COMMENTS_PATH": str(own_site / "content" / "comments"),
            "MAILDIR_PATH": str(own_site / "maildir"),
            "PELICAN_EXTRA_SETTINGS": {"CACHE_PATH": str(own_site / "cache")},
            "SITE_URL": url,
            # A test browser types faster than a person (readers/test_tickets.py
            # tests the pace check).
            "FORM_MIN_SECONDS": 0,
            # One browser posts more than a reader would (readers/test_limits.py
            # tests the limits).
            "POST_LIMIT_PER_ADDRESS": 0,
        }
    )
    app.instance_path = str(own_site)
    upgrade(app)
    add_author(app)  # Maya, author of ARTICLE, with PASSWORD
    server.app = make_site_app(app)
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()
    yield LiveDesk(url, app, own_site)
    server.shutdown()
    thread.join(timeout=10)
    server.server_close()
    app.extensions["publisher"].wait_idle()
    get_db(app).dispose()


# --- a reader ------------------------------------------------------------------------


def open_article(page: Page, live: LiveDesk) -> None:
    response = page.goto(live.url + ARTICLE_PATH)
    assert response is not None
    assert response.status == 200
    expect(page.get_by_role("heading", level=1)).to_have_text(ARTICLE_TITLE)


def send_feedback(
    page: Page,
    live: LiveDesk,
    message: str = READER_MESSAGE,
    *,
    email: str = "",
    may_quote: bool = False,
) -> str:
    """Send feedback from the article page; return the reply page's URL."""
    open_article(page, live)
    page.get_by_label("Your message").fill(message)
    if email:
        page.get_by_label("Your e-mail address").fill(email)
    quote = page.get_by_label("The author may quote this feedback publicly")
    if may_quote:
        quote.check()
    else:
        quote.uncheck()
    page.get_by_role("button", name="Send feedback").click()
    expect(page).to_have_url(THANKS_URL)
    link = page.locator(".reply-link a")
    reply_url = link.get_attribute("href")
    assert reply_url is not None
    assert REPLY_URL.search(reply_url)
    return reply_url


def post_comment(page: Page, live: LiveDesk, body: str, name: str, email: str) -> None:
    """Post a comment through the article's "Leave a reply" form."""
    open_article(page, live)
    form = page.locator("#respond")
    form.get_by_label(re.compile(r"^Comment")).fill(body)
    form.get_by_label(re.compile(r"^Name")).fill(name)
    form.get_by_label(re.compile(r"^E-mail")).fill(email)
    form.get_by_role("button", name="Post comment").click()
    expect(page).to_have_url(POSTED_URL)
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Your comment is awaiting moderation"
    )


def reload_until(page: Page, target: Locator, timeout: float = REBUILD_TIMEOUT) -> None:
    """Reload the (static) page until ``target`` is on it, as a reader would."""
    deadline = time.monotonic() + timeout
    while True:
        response = page.reload()
        assert response is not None
        assert response.status == 200
        if target.count() > 0:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"not on {page.url} after {timeout:.0f} s: {target}")
        page.wait_for_timeout(250)


# --- an author at the desk -----------------------------------------------------------


def fill_sign_in(page: Page, name: str, password: str) -> None:
    page.get_by_label("Name or e-mail address").fill(name)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()


def sign_in(page: Page, live: LiveDesk, name: str = MAYA) -> None:
    """Open the desk, get sent to sign in, sign in, arrive at the inbox."""
    page.goto(live.url + INBOX_PATH)
    expect(page).to_have_url(SIGN_IN_URL)
    expect(page.get_by_role("heading", level=1)).to_have_text("Sign in to the desk")
    fill_sign_in(page, name, PASSWORD)
    expect(page).to_have_url(live.url + INBOX_PATH)
    expect(page.get_by_role("heading", level=1)).to_have_text("Feedback")
    expect(desk_nav(page)).to_contain_text(name)


def desk_nav(page: Page) -> Locator:
    return page.get_by_role("navigation", name="Desk")


def status(page: Page) -> Locator:
    """The desk's flashed message (a polite live region)."""
    return page.get_by_role("status")


def open_feedback(page: Page, message: str = READER_MESSAGE) -> int:
    """From the inbox, open the feedback whose text starts the item link."""
    page.get_by_role("link", name=message).click()
    expect(page).to_have_url(FEEDBACK_URL)
    # Its stylesheet too: what the answer form shows is chosen by CSS, and
    # on a busy machine the page was read while the stylesheet was loading.
    page.wait_for_load_state("load")
    match = FEEDBACK_URL.search(page.url)
    assert match is not None
    expect(page.get_by_role("heading", level=1)).to_have_text(
        f"Feedback on “{ARTICLE_TITLE}”"
    )
    expect(page.locator(".conversation .message-body").first).to_have_text(message)
    return int(match.group(1))


def answer_form(page: Page) -> Locator:
    return page.locator("form").filter(has=page.get_by_label("Your answer"))


# --- 1. a private answer, with and without JavaScript ------------------------------


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "no-js"])
def test_private_answer_reaches_the_readers_reply_page(
    browser: Browser, live: LiveDesk, javascript: bool
) -> None:
    answer = "Quotas are a target, not a script.\nPlan the questions, not the words."
    with new_page(browser) as reader:
        reply_url = send_feedback(reader, live)
        reader.goto(reply_url)
        expect(reader.get_by_role("main")).to_contain_text(
            "The author has not answered yet"
        )

        with new_page(browser, java_script_enabled=javascript) as author:
            sign_in(author, live)
            nav = desk_nav(author)
            expect(
                nav.get_by_role("link", name=re.compile(r"^Feedback"))
            ).to_contain_text("1")  # one new feedback
            open_feedback(author)
            facts = author.locator(".desk-facts")
            expect(facts).to_contain_text("reply page only — no address")
            expect(facts).to_contain_text("Anonymous")

            form = answer_form(author)
            # No address: the answer goes privately by default, and says so.
            expect(form.get_by_label("Privately", exact=True)).to_be_checked()
            expect(form.locator(".answer-where p:visible")).to_have_text(
                "Privately: your answer goes to the reader's private reply page"
                " only (they left no address, so no e-mail)."
            )
            form.get_by_label("Your answer").fill(answer)
            form.get_by_role("button", name="Send answer").click()

            expect(author).to_have_url(FEEDBACK_URL)
            expect(status(author)).to_have_text(
                "Done: your answer on the reader's reply page."
            )
            mine = author.locator(".conversation .message.from-author")
            expect(mine).to_have_count(1)
            # Rendered as the reader sees it (Markdown, line breaks kept).
            expect(mine.locator(".comment-body")).to_have_text(answer)

        # The reader, coming back to their private page, finds the answer.
        response = reader.reload()
        assert response is not None
        assert response.status == 200
        theirs = reader.locator(".conversation .message.from-author")
        expect(theirs).to_have_count(1)
        expect(theirs).to_contain_text(f"{MAYA} wrote on")  # names who answered
        body = theirs.locator(".comment-body")
        expect(body).to_have_text(answer)
        assert body.inner_text() == answer  # line break kept
        expect(reader.get_by_role("main")).not_to_contain_text(
            "The author has not answered yet"
        )


# --- 2. a public answer: a draft post, published ------------------------------------


def test_public_answer_becomes_a_published_post_linked_from_the_reply_page(
    browser: Browser, live: LiveDesk
) -> None:
    title = "Quotas and dial targets, answered"
    slug = "quotas-and-dial-targets-answered"
    answer = "A quota says how much, never what to say. Plan your questions."
    draft = live.site / "content" / "desk" / f"{slug}.md"
    with new_page(browser) as reader, new_page(browser) as author:
        reply_url = send_feedback(reader, live, may_quote=True)

        sign_in(author, live)
        feedback_id = open_feedback(author)
        expect(author.locator(".desk-facts")).to_contain_text(
            "Yes, without name or address"
        )
        form = answer_form(author)
        form.get_by_label("Your answer").fill(answer)
        form.get_by_label("In a post only", exact=True).check()
        form.get_by_label("Title of the post").fill(title)
        expect(form.get_by_label("Summary of what the reader said")).to_have_value("")
        form.get_by_role("button", name="Send answer").click()

        # The draft's preview page.
        expect(author).to_have_url(
            re.compile(rf"/app/desk/feedback/{feedback_id}/post$")
        )
        expect(author.get_by_role("heading", level=1)).to_have_text(title)
        expect(status(author)).to_contain_text(f"a draft post, content/desk/{slug}.md")
        main = author.get_by_role("main")
        expect(main.locator(".badge.state")).to_have_text("draft")
        preview = author.locator(".desk-preview .post-content")
        expect(preview.locator("blockquote")).to_contain_text(READER_MESSAGE)
        expect(preview).to_contain_text(answer)
        expect(author.locator("#post-title")).to_have_value(title)
        assert draft.is_file()
        text = draft.read_text(encoding="utf-8")
        assert "Status: draft" in text.splitlines()
        assert f"Author: {MAYA}" in text.splitlines()
        assert answer in text

        # An edit not saved yet, then publish: the edit is saved first, and
        # the whole site is built with the post.
        body = author.get_by_label("Text (Markdown)")
        body.fill(body.input_value() + "\n\nOne more thing, added before publishing.")
        author.get_by_role("button", name="Save and publish").first.click()
        expect(author).to_have_url(re.compile(rf"/app/desk/feedback/{feedback_id}$"))
        expect(status(author)).to_contain_text(f"Published: “{title}” is on the site")
        assert "Status: published" in draft.read_text(encoding="utf-8").splitlines()
        post_link = author.get_by_role(
            "region", name="The post answering it"
        ).get_by_role("link", name=re.compile(re.escape(slug)))
        post_url = post_link.get_attribute("href")
        assert post_url is not None
        assert urlsplit(post_url).path.rstrip("/").endswith(slug)
        built = live.output_file(post_url)
        assert built.is_file(), f"{built} is not built"
        assert answer in built.read_text(encoding="utf-8")
        assert "One more thing, added before publishing." in built.read_text(
            encoding="utf-8"
        )

        # The post is on the site, with the answer and the quote.
        post_path = urlsplit(post_url).path
        response = reader.goto(live.url + post_path)
        assert response is not None
        assert response.status == 200
        expect(reader.get_by_role("heading", level=1)).to_have_text(title)
        expect(reader.get_by_role("main")).to_contain_text(answer)
        expect(reader.get_by_role("main").locator("blockquote")).to_contain_text(
            READER_MESSAGE
        )

        # The reader's private page links to it.
        reader.goto(reply_url)
        theirs = reader.locator(".conversation .message.from-author")
        expect(theirs).to_contain_text(f"{MAYA} answered in public, in a post")
        theirs.get_by_role("link", name=title).click()
        expect(reader).to_have_url(re.compile(re.escape(live.url + post_path) + "$"))
        expect(reader.get_by_role("heading", level=1)).to_have_text(title)
        expect(reader.get_by_role("main")).to_contain_text(answer)


# --- 3. a held comment, approved at the desk -----------------------------------------


def test_approving_a_held_comment_puts_it_on_the_article_page(
    browser: Browser, live: LiveDesk
) -> None:
    body = "Plans beat scripts, and quotas are not scripts."
    with new_page(browser) as reader, new_page(browser) as author:
        post_comment(reader, live, body, "Sam Reader", "sam@example.org")
        open_article(reader, live)
        expect(reader.locator(".comments .comment-body")).to_have_count(0)

        sign_in(author, live)
        comments_link = desk_nav(author).get_by_role(
            "link", name=re.compile(r"^Comments")
        )
        expect(comments_link).to_contain_text("1")  # one pending
        comments_link.click()
        expect(author).to_have_url(QUEUE_URL)
        expect(author.get_by_role("heading", level=1)).to_have_text("Comments")
        tab = author.get_by_role("navigation", name="Comment views").get_by_role(
            "link", name=re.compile(r"^To moderate")
        )
        expect(tab).to_have_attribute("aria-current", "page")
        expect(tab).to_have_text("To moderate (1)")
        held = author.locator(".desk-list > li").filter(has_text=body)
        expect(held).to_have_count(1)
        expect(held).to_contain_text("Sam Reader")
        expect(held).to_contain_text("first comment from this address")
        expect(held.locator(".badge.state")).to_have_text("pending")
        held.get_by_role("button", name="Approve").click()

        expect(author).to_have_url(QUEUE_URL)
        expect(status(author)).to_have_text(
            "1 comment approved. The article's page is updated in a moment."
        )
        expect(author.get_by_text("Nothing to moderate here.")).to_be_visible()

        # The page is rebuilt in the background: the reader reloads until then.
        placed = reader.locator(".comments .comment-body").filter(has_text=body)
        reload_until(reader, placed)
        expect(placed).to_be_visible()
        expect(reader.locator("#comments-title")).to_have_text(
            re.compile(r"^One comment on “Inside sales")
        )
        shown = reader.locator(".comments article").filter(has_text=body)
        expect(shown.locator(".comment-author")).to_have_text("Sam Reader")


# --- 4. every desk page: accessible, fits a phone ------------------------------------


DESKTOP = {"width": 1280, "height": 800}


class Sweep:
    """Checks each desk page as it is shown; collects what fails."""

    def __init__(self, page: Page, dark: bool, width: int = PHONE["width"]) -> None:
        self.page = page
        self.dark = dark
        self.width = width
        self.seen: list[str] = []
        self.problems: list[str] = []

    def check(self, what: str) -> None:
        self.seen.append(what)
        # The theme's palette for the scheme asked for is in effect (once
        # the stylesheet applies: background_is_dark waits for it).
        assert background_is_dark(self.page) == self.dark, what
        try:
            assert_fits(self.page, self.width)
        except AssertionError as exc:
            self.problems.append(f"{what}: {exc}")
        try:
            assert_accessible(self.page, what)
        except AssertionError as exc:
            self.problems.append(str(exc))


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["360px", "1280px"])
@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_every_desk_page_is_accessible_and_fits_a_phone(
    browser: Browser, live: LiveDesk, scheme: str, viewport: dict[str, int]
) -> None:
    """Every desk page, light and dark, on a phone and at a desktop's width:
    no serious or critical axe finding, nothing wider than the screen; at
    the desktop's width the lists use more than the blog's reading column."""
    add_author(live.app, EDA, "eda@example.org", role="editor")
    with new_page(browser) as reader:
        send_feedback(reader, live, email="ola@example.org", may_quote=True)
        send_feedback(reader, live, "A second thought, without an address.")
        post_comment(
            reader, live, "Notes help the next person.", "Ola", "ola@example.org"
        )

    with new_page(browser, viewport=viewport, color_scheme=scheme) as page:
        sweep = Sweep(page, dark=scheme == "dark", width=viewport["width"])
        main = page.get_by_role("main")

        # Signing in: the form, then the form with an error.
        page.goto(live.url + INBOX_PATH)
        expect(page).to_have_url(SIGN_IN_URL)
        sweep.check("the sign-in page")
        fill_sign_in(page, MAYA, "not the password")
        expect(page.get_by_role("alert")).to_be_visible()
        expect(page.get_by_label("Name or e-mail address")).to_have_value(MAYA)
        sweep.check("the sign-in page with an error")
        fill_sign_in(page, MAYA, PASSWORD)
        expect(page).to_have_url(re.compile(r"/app/desk/(\?.*)?$"))

        # The inbox with items, one feedback, and its answer form's error.
        expect(page.locator(".desk-list > li")).to_have_count(2)
        sweep.check("the inbox with items")
        if viewport is DESKTOP:
            # A working surface: the list is wider than an article's column.
            list_width = page.locator(".desk-list").bounding_box()["width"]
            assert list_width > 900, list_width
        page.get_by_role("link", name="Select all 2 on this page").click()
        expect(page.locator(".desk-list input[type=checkbox]:checked")).to_have_count(2)
        sweep.check("the inbox, all selected")
        page.get_by_role("link", name="Clear the selection").click()

        # To the trash, the Undo button, the trash and its question.
        page.get_by_label("Select feedback #2").check()
        page.get_by_label("With the selected:").select_option("Move to trash")
        page.get_by_role("button", name="Apply").click()
        expect(status(page)).to_contain_text("1 feedback moved to the trash.")
        expect(page.locator(".desk-list > li")).to_have_count(1)
        sweep.check("the inbox with an Undo button")
        status(page).get_by_role("button", name="Undo").click()
        expect(page.locator(".desk-list > li")).to_have_count(2)
        page.get_by_label("Select feedback #2").check()
        page.get_by_label("With the selected:").select_option("Move to trash")
        page.get_by_role("button", name="Apply").click()
        main.get_by_role("link", name="Trash", exact=True).click()
        expect(page.locator(".desk-list > li")).to_have_count(1)
        sweep.check("the trash")
        page.get_by_label("Select feedback #2").check()
        page.get_by_label("With the selected:").select_option("Delete for good")
        page.get_by_role("button", name="Apply").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Delete for good?")
        sweep.check("the question before deleting for good")
        page.get_by_role("link", name="Cancel").click()
        expect(page.locator(".desk-list > li")).to_have_count(1)
        main.get_by_role("link", name="Inbox", exact=True).click()
        open_feedback(page)
        sweep.check("a feedback item")
        form = answer_form(page)
        form.get_by_label("Your answer").fill("Thanks, and here is how.")
        form.get_by_label("Privately and in a post", exact=True).check()
        form.get_by_label("Title of the post").fill("")
        form.get_by_role("button", name="Send answer").click()
        expect(main.locator(".field.has-error")).to_have_count(1)
        expect(page.get_by_label("Title of the post")).to_have_attribute(
            "aria-describedby", re.compile(r"answer-title-field-error")
        )
        sweep.check("a feedback item with an error")

        # Answered in a post: the preview and edit page.
        form = answer_form(page)
        form.get_by_label("Title of the post").fill("Notes, answered")
        form.get_by_role("button", name="Send answer").click()
        expect(page).to_have_url(POST_URL)
        expect(page.get_by_role("heading", level=1)).to_have_text("Notes, answered")
        sweep.check("the post preview and edit page")
        page.get_by_role("link", name=re.compile(r"^← Feedback #")).click()
        expect(page).to_have_url(FEEDBACK_URL)
        expect(page.locator(".conversation .message.from-author")).to_have_count(1)
        sweep.check("a feedback item, answered, with its draft")

        # Comments: the queue and one comment.
        desk_nav(page).get_by_role("link", name=re.compile(r"^Comments")).click()
        expect(page).to_have_url(QUEUE_URL)
        expect(page.locator(".desk-list > li")).to_have_count(1)
        sweep.check("the comments queue")
        page.get_by_role("link", name=re.compile(r"^Edit or reply")).click()
        expect(page).to_have_url(COMMENT_URL)
        expect(page.get_by_role("heading", level=1)).to_contain_text("by Ola")
        sweep.check("a comment")

        # Signing out.
        page.get_by_role("button", name="Sign out").click()
        expect(page).to_have_url(SIGN_IN_URL)
        expect(status(page)).to_have_text("You are signed out.")
        sweep.check("the sign-in page after signing out")

        # An editor looks a reader up, and erases them.
        fill_sign_in(page, EDA, PASSWORD)
        expect(desk_nav(page)).to_contain_text("(editor)")
        desk_nav(page).get_by_role("link", name="Readers' data").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Readers' data")
        sweep.check("the readers page")
        page.get_by_label("Reader's e-mail address").fill("ola@example.org")
        page.get_by_role("button", name="Look up").click()
        found = page.get_by_role("region", name="Stored about ola@example.org")
        expect(found).to_contain_text("1 private feedback")
        expect(found).to_contain_text("1 comment (0 published)")
        sweep.check("the readers page with a look-up result")
        found.get_by_role("button", name="Erase").click()
        expect(page.get_by_text("Tick the box to confirm.")).to_be_visible()
        sweep.check("the readers page with an error")
        page.get_by_label("Yes, erase this reader's data").check()
        page.get_by_role("button", name="Erase").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Erased")
        expect(main).to_contain_text("1 private feedback deleted")
        sweep.check("the erased page")

    assert len(sweep.seen) == 18
    assert sweep.problems == [], "\n".join(sweep.problems)


@pytest.mark.parametrize("lang", ["fr", "de"])
def test_the_desk_in_each_shipped_language_is_accessible_and_fits_a_phone(
    browser: Browser, live: LiveDesk, lang: str
) -> None:
    """The desk's pages in an editor's chosen language (longer words, other
    plural forms), light and dark: no serious or critical axe finding, the
    language declared, nothing wider than a phone."""
    from sqlalchemy import select, update

    from feedback_app.core.models import Author, Comment, Feedback

    add_author(live.app, EDA, "eda@example.org", role="editor")
    with get_db(live.app).write() as session:
        session.execute(update(Author).where(Author.name == EDA).values(lang=lang))
    with new_page(browser) as reader:
        send_feedback(reader, live, email="ola@example.org", may_quote=True)
        post_comment(reader, live, "Des notes, merci.", "Ola", "ola@example.org")
    with get_db(live.app).read() as session:
        feedback_id = session.scalars(select(Feedback.id)).one()
        comment_id = session.scalars(select(Comment.id)).one()
    paths = [
        INBOX_PATH,
        f"{INBOX_PATH}feedback/{feedback_id}",
        f"{INBOX_PATH}comments",
        f"{INBOX_PATH}comments/{comment_id}",
        f"{INBOX_PATH}settings",
        f"{INBOX_PATH}readers",
        f"{INBOX_PATH}mail",
        f"{INBOX_PATH}articles/reassign",
    ]
    for scheme in ("light", "dark"):
        with new_page(browser, viewport=PHONE, color_scheme=scheme) as page:
            page.goto(live.url + INBOX_PATH)
            expect(page).to_have_url(SIGN_IN_URL)
            page.locator("input[name=name]").fill(EDA)
            page.locator("input[name=password]").fill(PASSWORD)
            page.locator("form button[type=submit]").click()
            expect(page).to_have_url(live.url + INBOX_PATH)
            sweep = Sweep(page, dark=scheme == "dark")
            for path in paths:
                page.goto(live.url + path)
                assert page.locator("html").get_attribute("lang") == lang, path
                sweep.check(f"{path} in {lang}, {scheme}")
            assert sweep.problems == []
