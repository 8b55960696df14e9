"""The desk's password pages in a real browser (``test_browser.py``'s live
site and Chromium): changing one's password signs out every other browser
and keeps this one; a forgotten password comes back through a link in the
mail a real SMTP server received; every page passes axe and fits a phone,
light and dark."""

from __future__ import annotations

import email
import email.policy
import re
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from playwright.sync_api import Browser, Page, expect

from feedback_app.mail.sender import send_due

from ..conftest import MAYA, PASSWORD
from ..mail.test_wire import Recorder, smtp_server
from ..readers.test_browser import PHONE, new_page
from . import test_browser
from .test_browser import (
    DESKTOP,
    INBOX_PATH,
    SIGN_IN_URL,
    LiveDesk,
    Sweep,
    desk_nav,
    fill_sign_in,
    sign_in,
    status,
)

# The fixtures of test_browser.py, shared by name.
playwright = test_browser.playwright
browser = test_browser.browser
live = test_browser.live

NEW = "a brand new passphrase"
SETTINGS_URL = re.compile(r"/app/desk/settings$")
PASSWORD_URL = re.compile(r"/app/desk/password$")
FORGOT_URL = re.compile(r"/app/desk/forgot-password$")
LINK = re.compile(r"https?://\S+/app/desk/reset-password/\S+")


def open_password_page(page: Page) -> None:
    desk_nav(page).get_by_role("link", name="Settings").click()
    expect(page).to_have_url(SETTINGS_URL)
    page.get_by_role("link", name="Change your password").click()
    expect(page).to_have_url(PASSWORD_URL)
    expect(page.get_by_role("heading", level=1)).to_have_text("Change your password")


def fill_new_password(page: Page, new: str, again: str | None = None) -> None:
    page.get_by_label(re.compile(r"^New password(?!,)")).fill(new)
    page.get_by_label("New password, once more").fill(new if again is None else again)


@contextmanager
def mail_server(live: LiveDesk) -> Iterator[Recorder]:
    """A real SMTP server the app's outbox delivers to (``send_due``)."""
    with smtp_server(live.app) as recorder:
        yield recorder


def link_in_mail(live: LiveDesk, recorder: Recorder, to: str) -> str:
    """Deliver the outbox; return the reset link in the one mail to ``to``."""
    result = send_due(live.app)
    assert result.sent >= 1, result
    mails = [got for got in recorder.received if to in got.rcpt_tos]
    assert len(mails) == 1, [got.rcpt_tos for got in recorder.received]
    message = email.message_from_bytes(mails[0].raw, policy=email.policy.default)
    assert "new password" in str(message["Subject"])
    body = message.get_body(("plain",))
    assert body is not None
    match = LINK.search(body.get_content())
    assert match, body.get_content()
    return match.group(0)


def test_changing_the_password_signs_out_the_other_browser_only(
    browser: Browser, live: LiveDesk
) -> None:
    with new_page(browser) as laptop, new_page(browser) as phone:
        sign_in(laptop, live)
        sign_in(phone, live)
        open_password_page(laptop)

        # The current password is required, and checked.
        laptop.get_by_label("Current password").fill("not my password")
        fill_new_password(laptop, NEW)
        laptop.get_by_role("button", name="Change password").click()
        expect(laptop.get_by_text("That is not your current password.")).to_be_visible()
        expect(laptop.get_by_label("Current password")).to_have_attribute(
            "aria-invalid", "true"
        )

        laptop.get_by_label("Current password").fill(PASSWORD)
        fill_new_password(laptop, NEW)
        laptop.get_by_role("button", name="Change password").click()
        expect(laptop).to_have_url(SETTINGS_URL)
        expect(status(laptop)).to_contain_text("Your new password is set.")

        # This browser stays signed in; the other one is signed out.
        laptop.goto(live.url + INBOX_PATH)
        expect(laptop.get_by_role("heading", level=1)).to_have_text("Feedback")
        phone.goto(live.url + INBOX_PATH)
        expect(phone).to_have_url(SIGN_IN_URL)
        fill_sign_in(phone, MAYA, PASSWORD)
        expect(phone.get_by_role("alert")).to_be_visible()
        fill_sign_in(phone, MAYA, NEW)
        expect(phone).to_have_url(live.url + INBOX_PATH)


def test_a_forgotten_password_comes_back_by_mail(
    browser: Browser, live: LiveDesk
) -> None:
    with mail_server(live) as recorder, new_page(browser) as other:
        sign_in(other, live)  # a session left open elsewhere
        with new_page(browser) as page:
            page.goto(live.url + INBOX_PATH)
            expect(page).to_have_url(SIGN_IN_URL)
            page.get_by_role("link", name="Forgot your password").click()
            expect(page).to_have_url(FORGOT_URL)
            page.get_by_label("Name or e-mail address").fill("maya@example.org")
            page.get_by_role("button", name="Send me a link").click()
            expect(status(page)).to_contain_text("If an account has that name")

            link = link_in_mail(live, recorder, "maya@example.org")
            page.goto(link)
            expect(page.get_by_role("heading", level=1)).to_have_text(
                "Choose a new password"
            )
            fill_new_password(page, NEW)
            page.get_by_role("button", name="Set password and sign in").click()
            expect(page).to_have_url(live.url + INBOX_PATH)
            expect(status(page)).to_contain_text("you are signed in")
            expect(desk_nav(page)).to_contain_text(MAYA)

            # The link worked once.
            page.goto(link)
            expect(page.get_by_role("heading", level=1)).to_have_text(
                "This link does not work any more"
            )

        # The session left open is over; the new password signs in.
        other.goto(live.url + INBOX_PATH)
        expect(other).to_have_url(SIGN_IN_URL)
        fill_sign_in(other, MAYA, NEW)
        expect(other).to_have_url(live.url + INBOX_PATH)


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["360px", "1280px"])
@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_the_password_pages_are_accessible_and_fit_a_phone(
    browser: Browser, live: LiveDesk, scheme: str, viewport: dict[str, int]
) -> None:
    with (
        mail_server(live) as recorder,
        new_page(browser, viewport=viewport, color_scheme=scheme) as page,
    ):
        sweep = Sweep(page, dark=scheme == "dark", width=viewport["width"])

        page.goto(live.url + "/app/desk/forgot-password")
        sweep.check("the forgotten-password page")
        # Only spaces: past the browser's check of a required field, not ours.
        page.get_by_label("Name or e-mail address").fill("   ")
        page.get_by_role("button", name="Send me a link").click()
        expect(page.get_by_text("Please give your name or address.")).to_be_visible()
        sweep.check("the forgotten-password page with an error")
        page.get_by_label("Name or e-mail address").fill(MAYA)
        page.get_by_role("button", name="Send me a link").click()
        expect(status(page)).to_be_visible()
        sweep.check("the forgotten-password page, sent")

        link = link_in_mail(live, recorder, "maya@example.org")
        page.goto(link)
        sweep.check("the new-password page")
        fill_new_password(page, NEW, "something else entirely")
        page.get_by_role("button", name="Set password and sign in").click()
        expect(page.get_by_text("The two passwords are not the same.")).to_be_visible()
        sweep.check("the new-password page with an error")
        page.goto(link + "x")
        expect(page.get_by_role("heading", level=1)).to_have_text(
            "This link does not work any more"
        )
        sweep.check("the page of a link that does not work")

        page.goto(live.url + INBOX_PATH)
        fill_sign_in(page, MAYA, PASSWORD)
        expect(page).to_have_url(live.url + INBOX_PATH)
        open_password_page(page)
        sweep.check("the settings' password page")
        page.get_by_label("Current password").fill(PASSWORD)
        fill_new_password(page, "short", "short")
        page.get_by_role("button", name="Change password").click()
        expect(page.locator(".field.has-error").first).to_be_visible()
        sweep.check("the settings' password page with errors")
        page.goto(live.url + "/app/desk/settings")
        sweep.check("the settings page")

    assert len(sweep.seen) == 9
    assert sweep.problems == [], "\n".join(sweep.problems)
