"""The answer form in a real browser: where an answer goes, said before it is
sent, and what the reader receives.

The site, the app and the browser are ``test_browser.py``'s (``live``: the
project's site built in a tmp folder, the app under ``/app``); the mail is
received by a real aiosmtpd server (``tests/mail/test_wire.py``'s).
"""

from __future__ import annotations

import re
from email import message_from_bytes, policy
from email.message import EmailMessage

import pytest
from playwright.sync_api import Browser, expect

from feedback_app.mail.sender import send_due

from ..conftest import MAYA
from ..mail.test_wire import smtp_server
from . import test_browser
from .test_browser import (
    FEEDBACK_URL,
    POST_URL,
    LiveDesk,
    answer_form,
    new_page,
    open_feedback,
    send_feedback,
    sign_in,
    status,
)

# test_browser.py's fixtures, shared by name.
playwright = test_browser.playwright
browser = test_browser.browser
live = test_browser.live

# Markdown an author writes: emphasis, a link into the site, a list.
ANSWER = (
    "Start **small**: the [archives](/archives.html) show how I did it.\n\n"
    "- ten calls a day\n"
    "- one question each"
)


def _parsed(raw: bytes) -> EmailMessage:
    mail = message_from_bytes(raw, policy=policy.default)
    assert isinstance(mail, EmailMessage)
    return mail


def _text_part(mail: EmailMessage) -> str:
    part = mail.get_body(preferencelist=("plain",))
    assert part is not None
    return part.get_content().replace("\r\n", "\n")


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "no-js"])
def test_a_private_answer_says_where_it_goes_and_the_mail_reads_as_text(
    browser: Browser, live: LiveDesk, javascript: bool
) -> None:
    """The form answers privately by default, names the masked address it
    mails before sending, shows the post's fields only for a post, and the
    reader's mail carries the Markdown as text with full addresses."""
    with new_page(browser) as reader:
        send_feedback(reader, live, email="ola@example.org")
    with new_page(browser, java_script_enabled=javascript) as author:
        sign_in(author, live)
        open_feedback(author)
        form = answer_form(author)
        # The statement of where it goes: the chosen one's is shown.
        where = form.locator(".answer-where p:visible")
        post_fields = form.locator(".desk-post-fields")

        expect(form.get_by_label("Privately", exact=True)).to_be_checked()
        expect(where).to_have_text(
            "Privately: your answer goes to the reader's private reply page,"
            " and an e-mail to o•••@example.org."
        )
        expect(post_fields).to_be_hidden()

        # Choosing a post says so, at once, and shows the post's fields.
        form.get_by_label("In a post only", exact=True).check()
        expect(where).to_contain_text("In a post only: your answer goes to a draft")
        expect(where).to_contain_text("in an e-mail to o•••@example.org")
        expect(where).to_have_count(1)
        expect(post_fields).to_be_visible()
        expect(form.get_by_label("Title of the post")).to_be_visible()
        form.get_by_label("Privately and in a post", exact=True).check()
        expect(where).to_contain_text("Privately and in a post: your answer goes")
        expect(post_fields).to_be_visible()

        # Back to privately: the post's fields, even one made wrong, count
        # for nothing.
        form.get_by_label("Title of the post").fill("")
        form.get_by_label("Privately", exact=True).check()
        expect(post_fields).to_be_hidden()
        form.get_by_label("Your answer").fill(ANSWER)
        form.get_by_role("button", name="Send answer").click()

        expect(author).to_have_url(FEEDBACK_URL)
        expect(status(author)).to_have_text(
            "Done: your answer on the reader's reply page and by e-mail."
        )
        shown = author.locator(".conversation .message.from-author .comment-body")
        expect(shown.locator("strong")).to_have_text("small")
        expect(shown.get_by_role("link", name="archives")).to_have_attribute(
            "href", live.url + "/archives.html"
        )

    with smtp_server(live.app) as smtp:
        send_due(live.app)
    [mail] = [
        mail
        for mail in (_parsed(m.raw) for m in smtp.received)
        if mail["To"] == "ola@example.org"
        and "answered your feedback" in mail["Subject"]
    ]
    text = _text_part(mail)
    assert "Start small: the archives <" + live.url + "/archives.html> show" in text
    assert "- ten calls a day\n- one question each" in text
    assert "**" not in text
    assert "(/archives.html)" not in text
    assert f"{MAYA} answered the feedback you sent" in text


def test_a_post_without_consent_needs_a_summary_said_where_it_is_chosen(
    browser: Browser, live: LiveDesk
) -> None:
    """A post's error is beside the post's field and in the page's banner;
    nothing is lost, and the post drafted from the summary reads naturally."""
    summary = "A reader asked whether quotas force a script on people."
    with new_page(browser) as reader:
        send_feedback(reader, live)  # no address, not to be quoted
    with new_page(browser) as author:
        sign_in(author, live)
        open_feedback(author)
        form = answer_form(author)
        form.get_by_label("Your answer").fill("They do not.")
        form.get_by_label("In a post only", exact=True).check()
        form.get_by_role("button", name="Send answer").click()

        alert = author.get_by_role("alert")
        expect(alert).to_contain_text("Nothing was saved.")
        expect(alert).to_contain_text("The reader did not agree to be quoted")
        expect(form.get_by_label("In a post only", exact=True)).to_be_checked()
        field = form.get_by_label("Summary of what the reader said")
        expect(field).to_be_visible()
        expect(field).to_have_attribute("aria-invalid", "true")
        expect(author.locator("#answer-summary-error")).to_contain_text(
            "write a short summary"
        )
        expect(form.get_by_label("Your answer")).to_have_value("They do not.")

        field.fill(summary)
        form.get_by_role("button", name="Send answer").click()
        expect(author).to_have_url(POST_URL)
        body = author.get_by_label("Text (Markdown)").input_value()
        assert body.startswith(summary + "\n\n(From a reader's message about [")
        assert "A reader wrote to me" not in body
        assert re.search(r"in my words\.\)\n\nThey do not\.$", body.strip())
