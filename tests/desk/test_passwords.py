"""Passwords on the desk, through the test client: changing one's own, and a
forgotten one by a link in mail (single-use, expiring, rate-limited, the
same answer for every name). The browser side is ``test_password_pages.py``.
"""

from __future__ import annotations

import re
import time

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import update
from werkzeug.test import TestResponse

from feedback_app.core.db import get_db
from feedback_app.core.models import Author

from ..conftest import MAYA, PASSWORD, Desk, add_author, csrf_token, outbox
from .test_access import author, desk_of, is_signed_in, throttle

NEW = "a brand new passphrase"
LINK = re.compile(r"https?://\S+/desk/reset-password/\S+")


def change(
    desk: Desk, current: str, new: str, again: str | None = None
) -> TestResponse:
    return desk.post(
        "/desk/password",
        {
            "current_password": current,
            "new_password": new,
            "new_password_again": new if again is None else again,
        },
    )


def ask(
    app: Flask, typed: str, *, address: str = "127.0.0.1", host: str | None = None
) -> TestResponse:
    """Ask for a link from a fresh browser at ``address``."""
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    page = client.get("/desk/forgot-password")
    assert page.status_code == 200
    headers = {}
    if host:  # the session (and so the form's token) goes along
        cookie = client.get_cookie("session")
        assert cookie is not None
        client.set_cookie("session", cookie.value, domain=host)
        headers["Host"] = host
    return client.post(
        "/desk/forgot-password",
        data={"csrf_token": csrf_token(page.text), "name": typed},
        headers=headers,
    )


def links(app: Flask) -> list[str]:
    """The reset links mailed so far, oldest first."""
    found = []
    for mail in outbox(app, "password-reset"):
        match = LINK.search(mail.body)
        assert match, mail.body
        found.append(match.group(0))
    return found


def path_of(link: str) -> str:
    """The app-relative path of a link (the app is at /app on the site)."""
    return "/desk/" + link.split("/desk/", 1)[1]


def use(client: FlaskClient, link: str, new: str = NEW) -> TestResponse:
    page = client.get(path_of(link))
    if page.status_code != 200:  # a token from another page of the desk
        page = client.get("/desk/sign-in")
    token = csrf_token(page.text)
    return client.post(
        path_of(link),
        data={"csrf_token": token, "new_password": new, "new_password_again": new},
    )


def reset_limits(app: Flask, per_account: int = 0, per_client: int = 0) -> None:
    app.config.update(
        PASSWORD_RESET_LIMIT_PER_ACCOUNT=per_account,
        PASSWORD_RESET_LIMIT_PER_CLIENT=per_client,
    )


# --- changing one's own password --------------------------------------------


def test_changing_the_password_keeps_this_session_and_ends_the_others(
    app: Flask, desk: Desk
) -> None:
    laptop = desk_of(app, MAYA)
    add_author(app, "Tomás Ferreira", "tomas@example.org")
    tomas = desk_of(app, "Tomás Ferreira")
    assert desk.get("/desk/settings").text.count('href="/desk/password"') == 1

    response = change(desk, PASSWORD, NEW)
    assert response.status_code == 303
    assert response.location.endswith("/desk/settings")
    assert "you are signed out" in desk.get("/desk/settings").text
    assert is_signed_in(desk)  # this browser stays signed in
    assert not is_signed_in(laptop)  # every other one is signed out
    assert is_signed_in(tomas)  # other accounts are untouched
    throttle(app)
    assert Desk(app.test_client()).sign_in(MAYA, PASSWORD).status_code == 401
    assert Desk(app.test_client()).sign_in(MAYA, NEW).status_code == 303


def test_a_wrong_current_password_or_a_refused_new_one_changes_nothing(
    app: Flask, desk: Desk
) -> None:
    throttle(app)
    laptop = desk_of(app, MAYA)
    before = author(app, MAYA).password_hash
    minimum = app.config["MIN_PASSWORD_LENGTH"]
    cases = [
        ("not the password", NEW, None, "That is not your current password."),
        (PASSWORD, "s" * (minimum - 1), None, f"Use at least {minimum} characters."),
        (PASSWORD, " " * (minimum + 2), None, "only spaces"),
        (PASSWORD, "x" * 1025, None, "Use at most 1024 characters."),
        (PASSWORD, NEW, NEW + "!", "The two passwords are not the same."),
        ("", NEW, None, "Please give your current password."),
    ]
    for current, new, again, said in cases:
        response = change(desk, current, new, again)
        assert response.status_code == 422, (current, new)
        assert said in response.text
        assert NEW not in response.text  # a password is never shown again
    assert author(app, MAYA).password_hash == before
    assert is_signed_in(desk) and is_signed_in(laptop)


def test_guessing_the_current_password_is_throttled_as_signing_in(
    app: Flask, desk: Desk
) -> None:
    """A session left open cannot be used to guess the password faster than
    the sign-in page allows."""
    throttle(app, lock_after=2)
    assert change(desk, "guess one", NEW).status_code == 422
    assert change(desk, "guess two", NEW).status_code == 422
    locked = change(desk, PASSWORD, NEW)
    assert locked.status_code == 429
    assert int(locked.headers["Retry-After"]) > 0
    assert author(app, MAYA).password_hash is not None
    assert Desk(app.test_client()).sign_in(MAYA, NEW).status_code != 303


def test_the_password_page_needs_a_signed_in_author(client: FlaskClient) -> None:
    response = client.get("/desk/password")
    assert response.status_code == 303
    assert "/desk/sign-in" in response.location


# --- a forgotten password -----------------------------------------------------


def test_a_link_by_mail_sets_a_new_password_and_signs_in(app: Flask) -> None:
    add_author(app)
    phone = desk_of(app, MAYA)
    sign_in = app.test_client().get("/desk/sign-in").text
    assert 'href="/desk/forgot-password"' in sign_in

    response = ask(app, "  MAYA@Example.org ")  # the address, any case
    assert response.status_code == 200
    [mail] = outbox(app, "password-reset")
    assert mail.recipient == "maya@example.org"
    [link] = links(app)
    # On APP_URL, whatever host the request named.
    assert link.startswith("https://blog.example.org/app/desk/reset-password/")

    browser = app.test_client()
    page = browser.get(path_of(link))
    assert page.status_code == 200
    assert MAYA in page.text
    assert page.headers["Referrer-Policy"] == "strict-origin"  # the token stays
    done = use(browser, link)
    assert done.status_code == 303 and done.location.endswith("/desk/")
    assert browser.get("/desk/").status_code == 200  # signed in
    assert not is_signed_in(phone)  # every other session ends
    throttle(app)
    assert Desk(app.test_client()).sign_in(MAYA, NEW).status_code == 303
    assert Desk(app.test_client()).sign_in(MAYA, PASSWORD).status_code == 401


def test_a_link_works_once(app: Flask) -> None:
    add_author(app)
    ask(app, MAYA)
    ask(app, MAYA)
    first, second = links(app)
    assert use(app.test_client(), first).status_code == 303
    changed = author(app, MAYA).password_hash

    again = app.test_client()
    assert again.get(path_of(first)).status_code == 404
    assert use(again, first, "yet another passphrase").status_code == 404
    # Every link sent before the password changed stops working too.
    assert use(again, second, "yet another passphrase").status_code == 404
    assert author(app, MAYA).password_hash == changed
    assert again.get("/desk/").status_code == 303  # not signed in


def test_a_link_opened_in_two_tabs_sets_the_password_once(app: Flask) -> None:
    add_author(app)
    ask(app, MAYA)
    [link] = links(app)
    tab1, tab2 = app.test_client(), app.test_client()
    form1, form2 = tab1.get(path_of(link)), tab2.get(path_of(link))
    data = {"new_password": NEW, "new_password_again": NEW}
    sent = tab1.post(path_of(link), data={"csrf_token": csrf_token(form1.text), **data})
    assert sent.status_code == 303
    late = tab2.post(
        path_of(link),
        data={
            "csrf_token": csrf_token(form2.text),
            "new_password": "the other tab's choice",
            "new_password_again": "the other tab's choice",
        },
    )
    assert late.status_code == 404
    throttle(app)
    assert Desk(app.test_client()).sign_in(MAYA, NEW).status_code == 303


def test_any_password_change_ends_the_links_sent_before(app: Flask) -> None:
    add_author(app)
    ask(app, MAYA)
    [link] = links(app)
    result = app.test_cli_runner().invoke(
        args=["authors", "set-password", MAYA], input=f"{NEW}\n{NEW}\n"
    )
    assert result.exit_code == 0, result.output
    assert app.test_client().get(path_of(link)).status_code == 404


def test_a_new_address_ends_the_links_sent_to_the_old_one(app: Flask) -> None:
    add_author(app)
    ask(app, MAYA)
    [link] = links(app)
    with get_db(app).write() as session:
        session.execute(
            update(Author).where(Author.name == MAYA).values(email="new@example.org")
        )
    assert app.test_client().get(path_of(link)).status_code == 404


def test_a_link_expires(app: Flask) -> None:
    """Made at a known time (the signer's clock), not waited for."""
    from feedback_app.desk import recovery  # here: each test fails on its own

    add_author(app)
    minutes = app.config["PASSWORD_RESET_MINUTES"]
    with get_db(app).read() as session:
        maya = session.get(Author, author(app, MAYA).id)
    with app.test_request_context():
        now = time.time()
        almost = recovery.reset_url(maya, now=now - minutes * 60 + 30)
        expired = recovery.reset_url(maya, now=now - minutes * 60 - 1)
        forged = almost[:-3] + ("AAA" if not almost.endswith("AAA") else "BBB")
    client = app.test_client()
    assert client.get(path_of(almost)).status_code == 200
    gone = client.get(path_of(expired))
    assert gone.status_code == 404
    assert "does not work any more" in gone.text
    assert 'href="/desk/forgot-password"' in gone.text
    assert use(client, expired).status_code == 404
    assert client.get(path_of(forged)).status_code == 404
    assert author(app, MAYA).password_hash == maya.password_hash


def test_an_unknown_name_gets_the_same_answer_and_no_mail(app: Flask) -> None:
    add_author(app)
    known = ask(app, MAYA)
    unknown = ask(app, "Nobody At All")
    unknown_address = ask(app, "nobody@example.org")
    assert len(outbox(app, "password-reset")) == 1
    for other in (unknown, unknown_address):
        assert other.status_code == known.status_code == 200
        assert other.text == known.text
        assert other.headers.get("Retry-After") is None


def test_the_client_is_limited_and_told(app: Flask) -> None:
    add_author(app)
    reset_limits(app, per_client=3)
    for typed in (MAYA, "nobody", "someone@example.org"):  # known or not: counted
        assert ask(app, typed).status_code == 200
    refused = ask(app, MAYA)
    assert refused.status_code == 429
    minutes = app.config["PASSWORD_RESET_MINUTES"]
    assert 0 < int(refused.headers["Retry-After"]) <= minutes * 60 + 1
    assert "Too many requests for a new password" in refused.text
    assert len(outbox(app, "password-reset")) == 1  # the refused one sent none
    # Another client is counted on its own.
    assert ask(app, MAYA, address="192.0.2.7").status_code == 200
    assert len(outbox(app, "password-reset")) == 2


def test_an_account_gets_a_few_mails_and_the_answer_does_not_change(
    app: Flask,
) -> None:
    add_author(app)
    reset_limits(app, per_account=2)
    answers = [ask(app, MAYA, address=f"192.0.2.{i}") for i in range(1, 4)]
    answers.append(ask(app, "maya@example.org", address="192.0.2.9"))
    assert len(outbox(app, "password-reset")) == 2  # at the limit, then none
    assert {a.status_code for a in answers} == {200}
    assert len({a.text for a in answers}) == 1  # past it, nothing shows


def test_an_account_without_a_password_sets_its_first_one(app: Flask) -> None:
    add_author(app, "Rosa Editor", "rosa@example.org", role="editor", password=None)
    ask(app, "Rosa Editor")
    [link] = links(app)
    browser = app.test_client()
    assert use(browser, link).status_code == 303
    assert browser.get("/desk/readers").status_code == 200  # signed in, an editor
    assert author(app, "Rosa Editor").password_hash.startswith("scrypt:")


def test_the_new_password_follows_the_rules(app: Flask) -> None:
    add_author(app)
    ask(app, MAYA)
    [link] = links(app)
    browser = app.test_client()
    page = browser.get(path_of(link))
    short = "s" * (app.config["MIN_PASSWORD_LENGTH"] - 1)
    refused = browser.post(
        path_of(link),
        data={
            "csrf_token": csrf_token(page.text),
            "new_password": short,
            "new_password_again": short,
        },
    )
    assert refused.status_code == 422
    assert "Use at least" in refused.text
    assert use(browser, link).status_code == 303  # still good after a refusal


def test_the_link_is_on_app_url_whatever_host_the_request_names(app: Flask) -> None:
    """A forged Host header cannot send the link to another site."""
    add_author(app)
    ask(app, MAYA, host="attacker.example")
    [link] = links(app)
    assert link.startswith(app.config["APP_URL"] + "/desk/reset-password/")
    assert "attacker" not in outbox(app, "password-reset")[0].body


def test_the_locked_sign_in_mail_links_the_password_page(app: Flask) -> None:
    add_author(app)
    throttle(app, lock_after=1)
    Desk(app.test_client()).sign_in(MAYA, "wrong")
    [mail] = outbox(app, "sign-in-locked")
    assert "/desk/password" in mail.body


def test_the_mail_and_the_page_speak_the_accounts_desk_language(app: Flask) -> None:
    """The mail in the account's desk language (as every mail to an author),
    and the page its link opens too; the form's answer in the site's, as
    the sign-in page (it must not tell whose account it was)."""
    from feedback_app.core.translations import translations

    add_author(app)
    with get_db(app).write() as session:
        session.execute(update(Author).where(Author.name == MAYA).values(lang="fr"))
    answer = ask(app, MAYA)
    assert '<html lang="en"' in answer.text
    [mail] = outbox(app, "password-reset")
    _ = translations("fr").gettext
    site = app.config["SITE_URL"]
    assert mail.subject == _("Choose a new password for the desk of {site}").format(
        site=site
    )
    assert (
        _(
            "If you did not ask for it, ignore this mail: nobody can use the link "
            "without reading your mail."
        )
        in mail.body
    )
    [link] = links(app)
    page = app.test_client().get(path_of(link))
    assert '<html lang="fr"' in page.text
