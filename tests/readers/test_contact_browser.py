"""A reader's address on their reply page, in a real browser: an empty
"Save address" keeps it, and removing it is its own action that asks first
(``test_browser.py``'s site, app and Chromium)."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Browser, expect

from . import test_browser
from .test_browser import (
    THANKS_URL,
    LiveSite,
    follow_reply_link,
    new_page,
    open_article,
    send_feedback,
)

# test_browser.py's fixtures, shared by name.
playwright = test_browser.playwright
browser = test_browser.browser
live_site = test_browser.live_site


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "no-js"])
def test_an_address_is_removed_only_when_asked_and_confirmed(
    browser: Browser, live_site: LiveSite, javascript: bool
) -> None:
    with new_page(browser, java_script_enabled=javascript) as page:
        open_article(page, live_site)
        send_feedback(page, email="reader@example.org")
        expect(page).to_have_url(THANKS_URL)
        reply_url = follow_reply_link(page)
        contact = page.get_by_role("region", name="Your contact address")
        expect(contact).to_contain_text("r•••@example.org")

        # The field is empty (the address is shown masked only): saving it
        # so changes nothing.
        field = contact.get_by_label("New e-mail address")
        expect(field).to_have_value("")
        contact.get_by_role("button", name="Save address").click()
        expect(page).to_have_url(re.compile(re.escape(reply_url) + "#contact$"))
        expect(page.get_by_role("status")).to_contain_text(
            "Nothing changed: your address is kept."
        )
        expect(contact).to_contain_text("r•••@example.org")
        (stored,) = live_site.stored()
        assert stored.email == "reader@example.org"

        # Removing asks first; "No" keeps it.
        contact.get_by_role("link", name="Remove my address…").click()
        heading = page.get_by_role("heading", level=1)
        expect(heading).to_have_text("Remove your address?")
        expect(page.get_by_role("main")).to_contain_text("r•••@example.org")
        (stored,) = live_site.stored()
        assert stored.email == "reader@example.org"  # nothing by just looking
        page.get_by_role("link", name="No, keep it").click()
        expect(page).to_have_url(re.compile(re.escape(reply_url) + "#contact$"))
        expect(contact).to_contain_text("r•••@example.org")

        # "Yes" removes it.
        contact.get_by_role("link", name="Remove my address…").click()
        page.get_by_role("button", name="Yes, remove my address").click()
        expect(page).to_have_url(re.compile(re.escape(reply_url) + "#contact$"))
        expect(page.get_by_role("status")).to_contain_text("Your address is removed")
        expect(contact).to_contain_text("You have left no address")
        expect(contact.get_by_role("link", name="Remove my address…")).to_have_count(0)
        (stored,) = live_site.stored()
        assert stored.email is None

        # Given again, it is saved.
        contact.get_by_label("E-mail address").fill("new@example.org")
        contact.get_by_role("button", name="Save address").click()
        expect(page.get_by_role("status")).to_contain_text("Your address is saved")
        expect(contact).to_contain_text("n•••@example.org")
        if javascript:  # axe runs in the page
            test_browser.assert_accessible(page, "the reply page with an address")
