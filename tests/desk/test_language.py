"""The desk speaks its author's language: ``Author.lang`` (set on the desk's
settings page or with ``flask authors … --lang``), else the site's default
language; the sign-in page speaks the site's.

Through the desk's HTTP interface on a real SQLite file, with the shipped
catalogues: a page "in French" has ``<html lang="fr">`` and none of the
English of the desk's catalogue entries left in what it shows (its text and
its ``aria-label``s), the translations' own words set aside.

Longer than 400 lines: that check, and the pages, the settings page and
the commands it is applied to, read best in one place.
"""

from __future__ import annotations

import json
import re
from functools import cache
from html import unescape
from html.parser import HTMLParser
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from babel.dates import format_date
from babel.messages.pofile import read_po
from flask import Flask, g
from flask.testing import FlaskCliRunner
from sqlalchemy import select, update

from feedback_app.core.db import get_db
from feedback_app.core.models import Author, Comment, Feedback
from feedback_app.core.reasons import REASONS, Reason, moderator_words
from feedback_app.core.translations import CATALOGUES, translations
from feedback_app.site.index import SiteIndex, site_index

from ..conftest import (
    MAYA,
    Commenter,
    Desk,
    Reader,
    add_author,
    csrf_token,
)

#: Where the desk's words come from, as the catalogue records them.
DESK_SOURCES = ("feedback_app/templates/desk/", "feedback_app/desk/")


# --- helpers ------------------------------------------------------------------


def set_lang(app: Flask, name: str, lang: str | None) -> None:
    with get_db(app).write() as session:
        session.execute(update(Author).where(Author.name == name).values(lang=lang))


def lang_of(app: Flask, name: str) -> str | None:
    with get_db(app).read() as session:
        return session.scalar(select(Author.lang).where(Author.name == name))


def signed_in(app: Flask, lang: str | None, name: str = MAYA) -> Desk:
    """Maya's desk session, her desk language ``lang``."""
    add_author(app, name)
    set_lang(app, name, lang)
    desk = Desk(app.test_client())
    assert desk.sign_in(name).status_code == 303
    return desk


class _Shown(HTMLParser):
    """What the desk shows on a page: the text and the aria-labels of its
    ``<div class="desk">`` and the page's title (not the theme's header and
    footer, whose words are the theme's; not the values of fields, which
    hold what people typed)."""

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self._depth = 0  # of <div>s, inside the desk's
        self._title = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._title = self._title or tag == "title"
        if tag == "div" and (self._depth or ("class", "desk") in attrs):
            self._depth += 1
        if self._depth:
            self.parts.extend(v for n, v in attrs if n == "aria-label" and v)

    def handle_endtag(self, tag: str) -> None:
        if tag == "div" and self._depth:
            self._depth -= 1
        self._title = self._title and tag != "title"

    def handle_data(self, data: str) -> None:
        if self._depth or self._title:
            self.parts.append(data)


def shown_text(html: str) -> str:
    parser = _Shown()
    parser.feed(html)
    return " ".join(" ".join(parser.parts).split())


@cache
def english_left_out(lang: str) -> tuple[str, ...]:
    """The English words of the desk's catalogue entries that ``lang``'s
    catalogue does not use itself: each run of words between placeholders
    and tags, four characters or more ("Mark read", "Sign out", "The post
    answering it")."""
    with (CATALOGUES / "messages.pot").open("rb") as fh:
        template = read_po(fh)
    with (CATALOGUES / lang / "LC_MESSAGES" / "messages.po").open("rb") as fh:
        catalogue = read_po(fh)
    found = set()
    for message in template:
        if not message.id or not any(
            path.startswith(DESK_SOURCES) for path, _ in message.locations
        ):
            continue
        translated = catalogue[message.id].string
        said = " ".join(translated) if isinstance(translated, tuple) else translated
        assert said, message.id
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        for english in ids:
            for run in re.split(r"%\(\w+\)s|\{\w+\}|<[^>]+>", english):
                run = " ".join(run.split()).strip(" .,:;()“”—*`'")
                if len(run) >= 4 and run not in said:
                    found.add(run)
    return tuple(sorted(found, key=len, reverse=True))


def english_on(html: str, lang: str) -> list[str]:
    """The desk's English words shown on a page meant to be in ``lang``."""
    text = shown_text(html)
    return [
        run
        for run in english_left_out(lang)
        if re.search(rf"(?<!\w){re.escape(run)}(?!\w)", text)
    ]


def assert_speaks(html: str, lang: str) -> None:
    assert f'<html lang="{lang}"' in html
    assert english_on(html, lang) == []


def some_work(reader: Reader, commenter: Commenter) -> None:
    """A feedback (#1) and a pending comment (#1) on Maya's article, written
    in French so that no English in the page is theirs."""
    reader.send_and_follow(message="Merci pour l’article, très clair.", name="Léa")
    commenter.post_ok(name="Léa", body="Un commentaire réfléchi.")


# --- the author's language ------------------------------------------------------


def test_the_english_words_found_are_the_desks() -> None:
    """The check below looks for real words: the ones the desk shows."""
    left = english_left_out("fr")
    assert {"Sign out", "Mark read", "Delete for good", "Settings"} <= set(left)
    assert "Markdown" not in left  # the French says it too
    desk = '<div class="desk"><div>{}</div></div>'
    assert english_on(desk.format("<p>Sign out</p>"), "fr") == ["Sign out"]
    assert english_on(desk.format('<p aria-label="Select feedback #1">x</p>'), "fr")
    assert english_on(desk.format("<p>Se déconnecter</p>"), "fr") == []
    assert english_on("<title>Settings — Bureau</title>", "fr") == ["Settings"]
    assert english_on("<footer><p>About</p></footer>", "fr") == []


def test_an_author_in_french_reads_the_desk_in_french(
    app: Flask, reader: Reader, commenter: Commenter
) -> None:
    some_work(reader, commenter)
    desk = signed_in(app, "fr")

    inbox = desk.get("/desk/")
    assert inbox.status_code == 200
    assert_speaks(inbox.text, "fr")
    for words in ("Boîte de réception", "Se déconnecter", "Réglages", "Appliquer"):
        assert words in inbox.text
    assert "Merci pour l’article" in inbox.text  # the feedback is listed

    feedback = desk.get("/desk/feedback/1")
    assert feedback.status_code == 200
    assert_speaks(feedback.text, "fr")
    assert "Envoyer la réponse" in feedback.text
    assert "Marquer comme lu" in feedback.text
    # Its date as French writes it, in the site's time zone.
    with get_db(app).read() as session:
        created = session.scalar(select(Feedback.created_at))
    zone = ZoneInfo(site_index(app).current().timezone)
    local = created.astimezone(zone)
    month = format_date(local, "MMMM", locale="fr")
    assert f"{local.day} {month} {local.year} à {local:%H:%M}" in feedback.text

    comments = desk.get("/desk/comments")
    assert comments.status_code == 200
    assert_speaks(comments.text, "fr")
    assert "À modérer" in comments.text and "Approuver" in comments.text

    comment = desk.get("/desk/comments/1")
    assert comment.status_code == 200
    assert_speaks(comment.text, "fr")
    assert "Approuver et répondre" in comment.text

    settings = desk.get("/desk/settings")
    assert settings.status_code == 200
    assert_speaks(settings.text, "fr")
    assert "Langue du bureau" in settings.text


def test_a_french_desk_says_what_it_did_and_refuses_in_french(
    app: Flask, reader: Reader, commenter: Commenter
) -> None:
    some_work(reader, commenter)
    desk = signed_in(app, "fr")
    done = desk.post("/desk/comments/1/state", {"action": "approve"})
    assert done.status_code == 303
    page = desk.get(done.location)
    assert "1 commentaire approuvé." in page.text
    assert_speaks(page.text, "fr")
    # A form that fails says so in French, its field's message too.
    refused = desk.post("/desk/feedback/1/answer", {"answer": "", "send_to": "private"})
    assert refused.status_code == 422
    assert "Écrivez une réponse." in refused.text
    assert "Rien n’a encore été modifié" in refused.text
    assert_speaks(refused.text, "fr")
    # WTForms' own words too: a title past its limit (200), from WTForms'
    # French catalogue; at the limit it is accepted.
    long = desk.post(
        "/desk/feedback/1/answer",
        {"answer": "Oui.", "send_to": "post", "title": "T" * 201},
    )
    assert long.status_code == 422
    assert "ne peut pas contenir plus de 200 caractères" in unescape(long.text)
    # What the post's own checks refuse, in French too.
    unquotable = desk.post(
        "/desk/feedback/1/answer", {"answer": "Oui.", "send_to": "post", "title": "T"}
    )
    assert unquotable.status_code == 422
    assert "Le lecteur n’a pas accepté d’être cité" in unescape(unquotable.text)
    at_limit = desk.post(
        "/desk/feedback/1/answer",
        {
            "answer": "Oui.",
            "send_to": "post",
            "title": "T" * 200,
            "summary": "Un avis.",
        },
    )
    assert at_limit.status_code == 303, unescape(at_limit.text)
    # What is out of reach answers in French too.
    missing = desk.get("/desk/feedback/99")
    assert missing.status_code == 404
    assert '<html lang="fr"' in missing.text
    assert "Ce message n’existe pas" in missing.text


def test_an_editor_in_french_answers_and_looks_up_readers_in_french(
    app: Flask, reader: Reader, commenter: Commenter
) -> None:
    some_work(reader, commenter)
    desk = signed_in(app, "fr")
    with get_db(app).write() as session:
        session.execute(update(Author).values(role="editor"))
    answered = desk.post(
        "/desk/feedback/1/answer", {"answer": "Merci à vous.", "send_to": "private"}
    )
    assert answered.status_code == 303
    page = desk.get(answered.location).text
    assert_speaks(page, "fr")
    assert "C’est fait\u00a0: votre réponse sur la page de réponse du lecteur." in page
    assert "a répondu sur la page de réponse du lecteur le" in page
    assert "Données des lecteurs" in page and "(éditeur)" in page

    found = desk.post("/desk/readers", {"email": "ana@example.org"})
    assert found.status_code == 200
    assert_speaks(found.text, "fr")
    assert "1 commentaire (0 publié)" in found.text
    for path in ("/desk/readers", "/desk/mail"):
        assert_speaks(desk.get(path).text, "fr")


def test_an_author_in_german_reads_the_desk_in_german(
    app: Flask, reader: Reader
) -> None:
    reader.send_and_follow(message="Danke für den Artikel.", name="Lena")
    desk = signed_in(app, "de")
    page = desk.get("/desk/feedback/1")
    assert page.status_code == 200
    assert_speaks(page.text, "de")
    for words in ("Nachrichten", "Abmelden", "Antwort senden", "Unterhaltung"):
        assert words in page.text
    inbox = desk.get("/desk/")
    assert_speaks(inbox.text, "de")
    assert "Posteingang" in inbox.text and "Als gelesen markieren" in inbox.text


# --- the site's language, when the author has none ----------------------------


@pytest.fixture
def german_site(app: Flask, tmp_path: Path) -> Flask:
    """The app's site, its ``DEFAULT_LANG`` German (the last build says so)."""
    path = Path(app.config["SITE_INDEX_PATH"])
    data = json.loads(path.read_text("utf-8"))
    data["render"]["settings"]["DEFAULT_LANG"] = "de"
    german = tmp_path / "site.json"
    german.write_text(json.dumps(data), "utf-8")
    app.extensions["site_index"] = SiteIndex(str(german))
    return app


def test_without_a_setting_the_desk_speaks_the_sites_language(
    german_site: Flask, reader: Reader
) -> None:
    reader.send_and_follow(message="Danke für den Artikel.", name="Lena")
    sign_in = german_site.test_client().get("/desk/sign-in")
    assert_speaks(sign_in.text, "de")
    assert "Am Schreibtisch anmelden" in sign_in.text

    desk = signed_in(german_site, None)
    assert_speaks(desk.get("/desk/").text, "de")
    settings = desk.get("/desk/settings").text
    assert "Die Sprache der Website (Deutsch)" in settings


def test_a_refused_sign_in_says_why_in_the_sites_language(
    german_site: Flask,
) -> None:
    add_author(german_site)
    desk = Desk(german_site.test_client())
    refused = desk.sign_in(password="not the password at all")
    assert refused.status_code == 401
    assert "Dieser Name und dieses Passwort passen zu keinem Konto." in refused.text
    assert_speaks(refused.text, "de")


def test_the_authors_setting_wins_over_the_sites_language(
    german_site: Flask,
) -> None:
    desk = signed_in(german_site, "fr")
    assert_speaks(desk.get("/desk/").text, "fr")
    english = signed_in(german_site, "en", name="Tomás Ferreira")
    page = english.get("/desk/").text
    assert '<html lang="en"' in page and "Sign out" in page


def test_the_sign_in_page_speaks_the_sites_language_not_the_last_authors(
    app: Flask,
) -> None:
    desk = signed_in(app, "fr")
    assert "Se déconnecter" in desk.get("/desk/").text
    out = desk.post("/desk/sign-out")
    page = desk.get(out.location)
    assert '<html lang="en"' in page.text and "Sign in to the desk" in page.text
    assert "You are signed out." in page.text


# --- the settings page ----------------------------------------------------------


def test_an_author_chooses_the_desks_language_on_the_settings_page(
    app: Flask,
) -> None:
    desk = signed_in(app, None)
    page = desk.get("/desk/")
    assert 'href="/desk/settings"' in page.text  # in the desk's navigation
    settings = desk.get("/desk/settings")
    assert settings.status_code == 200
    options = [
        (value, unescape(label))
        for value, label in re.findall(
            r'<option value="([^"]*)"[^>]*>([^<]*)</option>', settings.text
        )
    ]
    assert options == [
        ("", "The site's language (English)"),
        ("en", "English"),
        ("de", "Deutsch"),
        ("fr", "français"),
    ]

    chosen = desk.post("/desk/settings", {"lang": "fr"})
    assert chosen.status_code == 303
    assert lang_of(app, MAYA) == "fr"
    after = desk.get(chosen.location)
    assert_speaks(after.text, "fr")
    assert "Vos réglages sont enregistrés." in after.text
    assert re.search(r'<option value="fr" selected', after.text)

    back = desk.post("/desk/settings", {"lang": ""})
    assert back.status_code == 303
    assert lang_of(app, MAYA) is None
    assert '<html lang="en"' in desk.get("/desk/").text


def test_the_settings_page_refuses_a_language_not_offered(app: Flask) -> None:
    desk = signed_in(app, "de")
    refused = desk.post("/desk/settings", {"lang": "xx"})
    assert refused.status_code == 422
    assert lang_of(app, MAYA) == "de"
    assert "Wählen Sie eine der aufgeführten Sprachen." in refused.text
    assert_speaks(refused.text, "de")


def test_the_settings_page_needs_the_forms_token_and_a_signed_in_author(
    app: Flask,
) -> None:
    desk = signed_in(app, None)
    forged = desk.client.post("/desk/settings", data={"lang": "fr"})
    assert forged.status_code == 400
    wrong = desk.client.post("/desk/settings", data={"lang": "fr", "csrf_token": "x"})
    assert wrong.status_code == 400
    assert lang_of(app, MAYA) is None
    assert '<html lang="en"' in desk.get("/desk/").text

    stranger = app.test_client()
    token = csrf_token(stranger.get("/desk/sign-in").text)
    anonymous = stranger.post(
        "/desk/settings", data={"lang": "fr", "csrf_token": token}
    )
    assert anonymous.status_code == 303
    assert anonymous.location.startswith("/desk/sign-in")
    assert lang_of(app, MAYA) is None


def test_a_language_set_elsewhere_stays_on_the_settings_page(app: Flask) -> None:
    """A language the site does not ship (set with the command) leaves the
    desk in the site's language, as the mail to the author, and stays a
    choice on the settings page, so that saving the page does not lose it."""
    desk = signed_in(app, "pt-BR")
    page = desk.get("/desk/settings").text
    assert '<html lang="en"' in page
    assert re.search(r'<option value="pt-BR" selected[^>]*>português \(Brasil\)', page)


# --- the command line -------------------------------------------------------------


#: The longest language code the column holds (35), and one past it.
LONGEST_CODE = "pt" + "-abcdefgh" * 3 + "-abcde"
TOO_LONG_CODE = LONGEST_CODE + "f"


def test_the_command_sets_and_clears_an_authors_desk_language(
    app: Flask, runner: FlaskCliRunner
) -> None:
    added = runner.invoke(
        args=["authors", "add", "Ida Mohr", "ida@example.org", "--lang", "fr"]
    )
    assert added.exit_code == 0, added.output
    assert "desk in fr (français)" in added.output
    assert lang_of(app, "Ida Mohr") == "fr"

    changed = runner.invoke(args=["authors", "set", "Ida Mohr", "--lang", "de"])
    assert changed.exit_code == 0, changed.output
    assert lang_of(app, "Ida Mohr") == "de"
    listed = runner.invoke(args=["authors", "list"]).output
    assert "Ida Mohr <ida@example.org>" in listed and "desk in de (Deutsch)" in listed

    untouched = runner.invoke(args=["authors", "set", "Ida Mohr", "--notify", "off"])
    assert untouched.exit_code == 0, untouched.output
    assert lang_of(app, "Ida Mohr") == "de"

    for cleared in ("default", ""):
        runner.invoke(args=["authors", "set", "Ida Mohr", "--lang", "de"])
        result = runner.invoke(args=["authors", "set", "Ida Mohr", "--lang", cleared])
        assert result.exit_code == 0, result.output
        assert lang_of(app, "Ida Mohr") is None
        assert "desk in the site's language" in result.output


def test_the_command_refuses_what_is_no_language_code(
    app: Flask, runner: FlaskCliRunner
) -> None:
    runner.invoke(args=["authors", "add", "Ida Mohr", "ida@example.org"])
    for bad in ("français", "f", "fr-", "fr de", "<b>", TOO_LONG_CODE):
        result = runner.invoke(args=["authors", "set", "Ida Mohr", "--lang", bad])
        assert result.exit_code == 2, (bad, result.output)
        assert "is not a language code" in result.output, bad
        assert "--lang" in result.output
        assert lang_of(app, "Ida Mohr") is None
    added = runner.invoke(
        args=["authors", "add", "Ole Berg", "ole@example.org", "--lang", "français"]
    )
    assert added.exit_code == 2 and "is not a language code" in added.output
    with get_db(app).read() as session:
        assert session.scalar(select(Author).where(Author.name == "Ole Berg")) is None

    assert len(LONGEST_CODE) == 35 and len(TOO_LONG_CODE) == 36
    longest = runner.invoke(args=["authors", "set", "Ida Mohr", "--lang", LONGEST_CODE])
    assert longest.exit_code == 0, longest.output
    assert lang_of(app, "Ida Mohr") == LONGEST_CODE
    assert "the site ships no pt-abcdefgh" in longest.output


def test_a_desk_language_set_by_command_is_the_desks(
    app: Flask, runner: FlaskCliRunner, reader: Reader, commenter: Commenter
) -> None:
    some_work(reader, commenter)
    add_author(app)
    result = runner.invoke(args=["authors", "set", MAYA, "--lang", "fr"])
    assert result.exit_code == 0, result.output
    desk = Desk(app.test_client())
    assert desk.sign_in().status_code == 303
    assert_speaks(desk.get("/desk/comments").text, "fr")


def test_why_a_comment_was_held_is_said_in_the_moderators_language(
    app: Flask, commenter: Commenter
) -> None:
    """The reason is recorded in English, as it happened; a French desk
    and a French author's mail say it in French; a reason no rule wrote
    (one typed in by hand, an old one) is shown as it is."""
    links = " ".join(f"https://example.org/{n}" for n in range(3))
    held = commenter.post_ok(name="Léa", body=f"Voir {links}")
    assert (held.state, held.reason) == ("pending", "has 3 links")
    desk = signed_in(app, "fr")
    page = unescape(desk.get("/desk/comments").text)
    assert "(contient 3 liens)" in page
    assert "has 3 links" not in page
    with get_db(app).write() as session:
        session.execute(
            update(Comment)
            .where(Comment.id == held.id)
            .values(reason="held (by hand) [x]")
        )
    assert "(held (by hand) [x])" in unescape(desk.get("/desk/comments").text)


@pytest.mark.parametrize("reason", REASONS, ids=lambda r: r.template)
def test_every_reason_reads_back_in_french_and_german(
    app: Flask, reason: Reason
) -> None:
    values = {name: "3 “x” (.*)" for name in re.findall(r"\{(\w+)\}", reason.template)}
    recorded = reason.say(**values)
    for lang in ("fr", "de"):
        with app.test_request_context():
            g.page_lang = lang
            said = moderator_words(recorded)
        expected = translations(lang).gettext(reason.template).format(**values)
        assert said == expected != recorded
