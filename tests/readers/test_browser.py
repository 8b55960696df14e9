"""A reader in a real browser: headless Chromium driven by Playwright.

The built site and the app are served together by the development server
(``make_site_app``) on a real port, as ``make serve`` does, so the article's
static form posts same-origin to the app under ``/app``. Debian's Chromium is
used (Playwright's own browser download does not work here); without it the
tests are skipped, or fail when ``REQUIRE_BROWSER=1``.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from axe_playwright_python.sync_playwright import Axe
from flask import Flask
from playwright.sync_api import (
    Browser,
    Page,
    Playwright,
    Route,
    expect,
    sync_playwright,
)
from sqlalchemy import select
from werkzeug.serving import make_server

from feedback_app import create_app
from feedback_app.core.db import get_db, upgrade
from feedback_app.core.models import Feedback, FeedbackMessage
from feedback_app.devserver import make_site_app

from ..conftest import ARTICLE

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTICLE_PATH = f"/{ARTICLE}"
ARTICLE_TITLE = "Inside sales without the script"
# Markup in a reader's message must come back as text, line break kept.
MESSAGE = "Useful piece, but <b>quotas</b> exist.\nWhat about dial targets?"
THANKS_URL = re.compile(r"/app/r/[A-Za-z0-9_-]{43}/thanks$")
REPLY_URL = re.compile(r"/app/r/[A-Za-z0-9_-]{43}$")
PHONE = {"width": 360, "height": 740}
# Article pages have the comment form first; the feedback form is the last.
FEEDBACK_FORM = "form[action$='/app/feedback']"


# --- the browser ---------------------------------------------------------------


@pytest.fixture(scope="module")
def playwright() -> Iterator[Playwright]:
    if not CHROMIUM.is_file():
        reason = f"{CHROMIUM} is missing: install Debian's chromium package"
        if os.environ.get("REQUIRE_BROWSER") == "1":
            pytest.fail(reason)
        pytest.skip(reason)
    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="module")
def browser(playwright: Playwright) -> Iterator[Browser]:
    browser = playwright.chromium.launch(
        executable_path=str(CHROMIUM), args=CHROMIUM_ARGS
    )
    yield browser
    browser.close()


@contextmanager
def new_page(browser: Browser, **options: Any) -> Iterator[Page]:
    """A page in a fresh browser context (own cookies), closed afterwards."""
    context = browser.new_context(**options)
    context.set_default_timeout(10_000)
    try:
        yield context.new_page()
    finally:
        context.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    with new_page(browser) as page:
        yield page


# --- the site and the app, live ------------------------------------------------


@dataclass
class LiveSite:
    url: str
    app: Flask

    def stored(self) -> list[Feedback]:
        """Every feedback in the app's database, with what followed it."""
        with get_db(self.app).read() as session:
            rows = list(session.scalars(select(Feedback).order_by(Feedback.id)))
            for row in rows:
                _ = row.messages  # load them while the session is open
            return rows

    def stored_messages(self) -> list[FeedbackMessage]:
        with get_db(self.app).read() as session:
            return list(session.scalars(select(FeedbackMessage)))


def _not_ready(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
    start_response("503 Service Unavailable", [("Content-Type", "text/plain")])
    return [b"starting\n"]


@pytest.fixture
def live_site(
    built_site: Path, tmp_path: Path, database_url: str
) -> Iterator[LiveSite]:
    """The built site at / and the app at /app, served on a free local port."""
    # Bind first, so that the app's SITE_URL names the port really in use.
    server = make_server("127.0.0.1", 0, _not_ready, threaded=True)
    url = f"http://127.0.0.1:{server.server_port}"
    app = create_app(
        {
            "SECRET_KEY": "browser test secret",
            "DATABASE_URL": database_url,
            "SITE_INDEX_PATH": str(built_site / "site.json"),
            "OUTPUT_PATH": str(built_site / "output"),
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
    yield LiveSite(url, app)
    server.shutdown()
    thread.join(timeout=10)
    server.server_close()
    get_db(app).dispose()


# --- helpers -------------------------------------------------------------------


def assert_accessible(page: Page, what: str) -> None:
    """No serious or critical axe violation on the page as it is now, once
    its stylesheet has loaded (contrast and sizes are the stylesheet's)."""
    page.wait_for_load_state("load")
    violations = Axe().run(page).response["violations"]
    bad = [
        {
            "id": v["id"],
            "impact": v["impact"],
            "help": v["help"],
            "nodes": [n["target"] for n in v["nodes"]],
        }
        for v in violations
        if v["impact"] in ("serious", "critical")
    ]
    assert bad == [], f"axe on {what}: {bad}"


def assert_styled(page: Page) -> None:
    """The theme's stylesheet is applied (every honeypot is moved off-screen).

    Article pages have two: the comment form's and the feedback form's.
    Read once the page and its stylesheet have loaded: a heading already shown
    or a URL already changed says nothing of that.
    """
    page.wait_for_load_state("load")
    traps = page.locator(".honeypot")
    assert traps.count() >= 1
    for trap in traps.all():
        box = trap.bounding_box()
        assert box is not None
        assert box["x"] < 0, "main.css is not applied: a honeypot shows"


# The body's background as red, green, blue and alpha (0 to 1).
BODY_BACKGROUND = """() => {
  const parts = getComputedStyle(document.body).backgroundColor
    .match(/[\\d.]+/g).map(Number);
  return parts.length === 3 ? [...parts, 1] : parts;
}"""


def background_is_dark(page: Page) -> bool:
    """Whether the page's background is dark (mean RGB below half).

    Read once the theme's stylesheet has given the body its background: on a
    busy machine a page may be read before that, and a transparent body
    (rgba(0, 0, 0, 0)) is no background yet, never a dark one.
    """
    # Playwright polls a wait_for_function in the page with eval(), which
    # the site's Content-Security-Policy forbids: an expect() polls without.
    expect(page.locator("body")).not_to_have_css("background-color", "rgba(0, 0, 0, 0)")
    rgba = page.evaluate(BODY_BACKGROUND)
    return sum(rgba[:3]) / 3 < 128


def late_stylesheets(page: Page) -> list[str]:
    """Hold each stylesheet the page asks for 300 ms, as a busy machine may
    (a page is read before its stylesheet); return the list of those sent."""
    arrived: list[str] = []

    def late(route: Route) -> None:
        page.wait_for_timeout(300)
        arrived.append(route.request.url)
        route.continue_()

    page.route("**/*.css", late)
    return arrived


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_the_background_is_read_once_a_late_stylesheet_applies(
    live_site: LiveSite, browser: Browser, scheme: str
) -> None:
    # As on a busy machine: the page is read before its stylesheet arrives.
    with new_page(browser, color_scheme=scheme) as page:
        arrived = late_stylesheets(page)
        # The app's pages carry its Content-Security-Policy (no eval()).
        page.goto(f"{live_site.url}/app/desk/sign-in", wait_until="commit")
        assert background_is_dark(page) is (scheme == "dark")
        assert arrived


def test_the_honeypots_are_read_once_a_late_stylesheet_applies(
    live_site: LiveSite, browser: Browser
) -> None:
    # As after a click on a busy machine: the new page's heading is there and
    # its stylesheet is not (a CI run read a honeypot at x=8 that way).
    with new_page(browser) as page:
        arrived = late_stylesheets(page)
        page.goto(live_site.url + ARTICLE_PATH, wait_until="commit")
        expect(page.get_by_role("heading", level=1)).to_have_text(ARTICLE_TITLE)
        assert_styled(page)
        assert arrived


def test_the_reply_pages_line_break_is_read_once_a_late_stylesheet_applies(
    live_site: LiveSite, browser: Browser
) -> None:
    # As after following the reply link on a busy machine: the message is on
    # the page, its line break (the stylesheet's) not yet.
    from feedback_app.site.index import site_index
    from feedback_app.store import feedback as fb

    app = live_site.app
    with app.app_context(), get_db(app).write() as session:
        article = site_index().current().articles[ARTICLE]
        _, token = fb.submit_feedback(session, article, message=MESSAGE)
    with new_page(browser) as page:
        arrived = late_stylesheets(page)
        page.goto(f"{live_site.url}/app/r/{token}", wait_until="commit")
        expect_feedback_shown(page)
        assert arrived


def assert_fits(page: Page, width: int) -> None:
    # Measured once the page and its stylesheet have loaded: a URL that has
    # changed says nothing of that, and on a busy machine an unstyled page
    # (the long reply link not yet wrapped) was measured.
    page.wait_for_load_state("load")
    page.evaluate("document.fonts.ready.then(() => true)")
    scroll_width = page.evaluate("document.documentElement.scrollWidth")
    assert scroll_width <= width, f"{page.url} scrolls sideways: {scroll_width}px"


def assert_keyboard_path(page: Page) -> None:
    """Skip link first; the form's fields in order, the honeypot never reached."""
    page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="Skip to content")
    expect(skip).to_be_focused()
    expect(skip).to_be_in_viewport()  # shown when focused
    page.get_by_label("Your message").focus()
    stops = [
        page.get_by_label("Your name"),
        page.get_by_label("Your e-mail address"),
        page.get_by_label("The author may quote this feedback publicly"),
        page.get_by_role("button", name="Send feedback"),
    ]
    for stop in stops:
        page.keyboard.press("Tab")
        expect(stop).to_be_focused()
        outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
        assert outline != "none", "no visible focus"


def open_article(page: Page, live: LiveSite) -> None:
    response = page.goto(live.url + ARTICLE_PATH)
    assert response is not None
    assert response.status == 200
    expect(page.get_by_role("heading", level=1)).to_have_text(ARTICLE_TITLE)


def send_feedback(page: Page, message: str = MESSAGE, email: str = "") -> None:
    """Fill the article's feedback form by its labels, as a person would."""
    page.get_by_label("Your message").fill(message)
    if email:
        page.get_by_label("Your e-mail address").fill(email)
    page.get_by_role("button", name="Send feedback").click()


def follow_reply_link(page: Page) -> str:
    """On the thanks page, follow the private reply page link; return its URL."""
    link = page.locator(".reply-link a")
    reply_url = link.get_attribute("href")
    assert reply_url is not None
    assert REPLY_URL.search(reply_url)
    expect(link).to_have_text(reply_url)  # the address is shown, to bookmark
    link.click()
    expect(page).to_have_url(reply_url)
    return reply_url


def expect_feedback_shown(page: Page, message: str = MESSAGE) -> None:
    body = page.locator(".conversation .message-body").first
    # Line break kept, markup not run. The break is the stylesheet's
    # (white-space: pre-wrap), and after a click the text is there before
    # main.css is: the rendered text is matched, and retried, as a pattern
    # (a string would have its whitespace collapsed).
    exactly = re.compile(f"^{re.escape(message)}$")
    expect(body).to_have_text(exactly, use_inner_text=True)
    expect(page.locator(".conversation b")).to_have_count(0)


# --- a reader sends feedback ---------------------------------------------------


def test_feedback_without_address_reaches_the_reply_page(
    page: Page, live_site: LiveSite
) -> None:
    open_article(page, live_site)
    assert_styled(page)
    assert_keyboard_path(page)
    assert_accessible(page, "the article page")

    send_feedback(page)
    expect(page).to_have_url(THANKS_URL)
    main = page.get_by_role("main")
    expect(main).to_contain_text("You left no e-mail address")
    expect(main).to_contain_text("the author cannot write to you")
    expect(main).to_contain_text("Bookmark it")
    expect(main).to_contain_text(ARTICLE_TITLE)
    assert_accessible(page, "the thanks page")

    follow_reply_link(page)
    expect_feedback_shown(page)
    expect(main).to_contain_text("The author has not answered yet")
    expect(main).to_contain_text("You have left no address")
    expect(main).to_contain_text("Not to be quoted publicly.")
    assert_accessible(page, "the reply page")

    (feedback,) = live_site.stored()
    assert feedback.email is None
    assert feedback.name is None
    assert feedback.message == MESSAGE
    assert feedback.article_page_url == ARTICLE
    assert feedback.may_quote is False
    assert feedback.state == "new"  # a person never fills the honeypot


def test_feedback_works_without_javascript(
    browser: Browser, live_site: LiveSite
) -> None:
    with new_page(browser, java_script_enabled=False) as page:
        open_article(page, live_site)
        assert_styled(page)
        page.get_by_label("Your name").fill("Sam")
        page.get_by_label("The author may quote this feedback publicly").check()
        send_feedback(page)
        expect(page).to_have_url(THANKS_URL)
        expect(page.get_by_role("main")).to_contain_text(
            "the author cannot write to you"
        )
        follow_reply_link(page)
        expect_feedback_shown(page)
        expect(page.get_by_role("main")).to_contain_text("You (Sam) wrote")
        expect(page.get_by_role("main")).to_contain_text(
            "The author may quote it publicly"
        )

    (feedback,) = live_site.stored()
    assert feedback.email is None
    assert feedback.name == "Sam"
    assert feedback.may_quote is True
    assert feedback.message == MESSAGE


def test_feedback_with_address_follow_up_and_delete(
    page: Page, live_site: LiveSite
) -> None:
    open_article(page, live_site)
    send_feedback(page, email="Reader@Example.org")
    expect(page).to_have_url(THANKS_URL)
    main = page.get_by_role("main")
    expect(main).to_contain_text("The author's answer will come by e-mail")
    expect(main).not_to_contain_text("cannot write to you")

    reply_url = follow_reply_link(page)
    expect_feedback_shown(page)
    expect(main).to_contain_text("R•••@example.org")  # masked, never in full
    expect(main).not_to_contain_text("Reader@Example.org")

    # A follow-up, through the page's own form and its CSRF token (the
    # follow-up's and the address's forms each carry one; counted as the
    # page, reached by a click, is parsed).
    expect(page.locator("input[name=csrf_token]")).to_have_count(2)
    page.get_by_label("Your follow-up").fill("And one more thing.")
    page.get_by_role("button", name="Send follow-up").click()
    expect(page).to_have_url(re.compile(re.escape(reply_url) + "#conversation$"))
    expect(page.get_by_role("status")).to_contain_text("Your follow-up is sent")
    messages = page.locator(".conversation .message-body")
    expect(messages).to_have_count(2)
    expect(messages.nth(1)).to_have_text("And one more thing.")
    (stored,) = live_site.stored()
    assert stored.email == "Reader@example.org"
    assert [m.body for m in stored.messages] == ["And one more thing."]
    assert [m.sender for m in stored.messages] == ["reader"]

    # Deleting asks first, then removes everything.
    page.get_by_role("link", name="Delete my feedback").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Delete your feedback?")
    assert live_site.stored() != []  # nothing deleted by just looking
    page.get_by_role("button", name="Yes, delete it").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Your feedback is deleted"
    )
    assert live_site.stored() == []
    assert live_site.stored_messages() == []

    response = page.goto(reply_url)
    assert response is not None
    assert response.status == 404


def test_invalid_address_is_shown_next_to_the_field(
    page: Page, live_site: LiveSite
) -> None:
    open_article(page, live_site)
    page.get_by_label("Your message").fill(MESSAGE)
    page.get_by_label("Your e-mail address").fill("not-an-address@")
    # The browser itself refuses the address first...
    page.get_by_role("button", name="Send feedback").click()
    expect(page).to_have_url(live_site.url + ARTICLE_PATH)
    assert not page.eval_on_selector("#feedback-email", "e => e.validity.valid")
    # ...so turn its check off to see what the app answers.
    page.eval_on_selector(FEEDBACK_FORM, "f => f.noValidate = true")
    page.get_by_role("button", name="Send feedback").click()

    expect(page).to_have_url(live_site.url + "/app/feedback")
    expect(page.get_by_role("alert")).to_contain_text("not sent yet")
    email = page.get_by_label("Your e-mail address")
    expect(email).to_have_value("not-an-address@")
    expect(email).to_have_attribute("aria-invalid", "true")
    error = page.locator("#feedback-email-error")
    expect(error).to_contain_text("not an e-mail address")
    # The error sits in the e-mail field's own block, and is announced with it.
    expect(page.locator(".field.has-error")).to_have_count(1)
    expect(page.locator(".field.has-error #feedback-email")).to_have_count(1)
    expect(page.locator(".field.has-error #feedback-email-error")).to_have_count(1)
    expect(email).to_have_attribute(
        "aria-describedby", re.compile(r"\bfeedback-email-error\b")
    )
    # What the reader wrote is all still there.
    expect(page.get_by_label("Your message")).to_have_value(MESSAGE)
    assert_styled(page)
    assert_accessible(page, "the form re-displayed with an error")
    assert live_site.stored() == []

    # Corrected, the re-displayed form sends.
    email.fill("reader@example.org")
    page.get_by_role("button", name="Send feedback").click()
    expect(page).to_have_url(THANKS_URL)
    (feedback,) = live_site.stored()
    assert feedback.email == "reader@example.org"
    assert feedback.message == MESSAGE


# --- phone width, light and dark -----------------------------------------------


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_pages_fit_a_phone_in_light_and_dark(
    browser: Browser, live_site: LiveSite, scheme: str
) -> None:
    with new_page(browser, viewport=PHONE, color_scheme=scheme) as page:
        open_article(page, live_site)
        assert page.evaluate(f"matchMedia('(prefers-color-scheme: {scheme})').matches")
        # The theme's own palette for that scheme is in effect (axe checks it).
        assert background_is_dark(page) == (scheme == "dark")
        assert_fits(page, PHONE["width"])
        assert_accessible(page, f"the article page, {scheme}")

        send_feedback(page)
        expect(page).to_have_url(THANKS_URL)
        assert_fits(page, PHONE["width"])  # the long reply link wraps
        assert_accessible(page, f"the thanks page, {scheme}")

        follow_reply_link(page)
        assert background_is_dark(page) == (scheme == "dark")
        assert_fits(page, PHONE["width"])
        assert_accessible(page, f"the reply page, {scheme}")


@pytest.mark.parametrize("lang", ["en", "fr", "de"])
def test_a_readers_own_pages_are_accessible_in_every_shipped_language(
    browser: Browser, live_site: LiveSite, lang: str
) -> None:
    """The reply page with an answer, the delete question, the deleted
    page and the subscription pages, in each language the site ships: no
    serious or critical axe finding, the page's language declared, nothing
    wider than a phone, light and dark."""
    from feedback_app.mail.links import confirm_url
    from feedback_app.site.index import site_index
    from feedback_app.store import feedback as fb

    app = live_site.app
    with app.app_context(), get_db(app).write() as session:
        article = site_index().current().articles[ARTICLE]
        feedback, token = fb.submit_feedback(
            session,
            article,
            message="Une question.",
            email="zoe@example.org",
            lang=lang,
        )
        session.add(
            FeedbackMessage(
                feedback_id=feedback.id,
                sender="author",
                body="An *answer*.",
                author_name="Maya Lindqvist",
                via="page",
            )
        )
    with app.test_request_context(base_url=f"{live_site.url}/app"):
        confirm = confirm_url("zoe@example.org", lang)
    pages = {
        "the reply page": f"{live_site.url}/app/r/{token}",
        "the delete question": f"{live_site.url}/app/r/{token}/delete",
        "the deleted page": f"{live_site.url}/app/deleted?lang={lang}",
        "the confirmation page": confirm,
    }
    for scheme in ("light", "dark"):
        with new_page(browser, viewport=PHONE, color_scheme=scheme) as page:
            for what, url in pages.items():
                page.goto(url)
                assert page.locator("html").get_attribute("lang") == lang
                assert background_is_dark(page) == (scheme == "dark")
                assert_fits(page, PHONE["width"])
                assert_accessible(page, f"{what} in {lang}, {scheme}")
