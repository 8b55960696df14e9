"""A reader who wrote from a translation hears back in its language, and
keeps hearing in it: the language is recorded with what they sent, so the
reply page, the mail the SMTP server receives (the acknowledgement, the
author's answer, the confirmation and the reply notification) and the
pages behind its links speak it, whatever language the author's command or
desk speaks. The same from the English page stays English.

A real site (``test_thread_publishing``'s: the project's content and a
French translation, built by Pelican), a real SMTP server (aiosmtpd), the
app's own CLI.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.message import EmailMessage
from html import unescape
from pathlib import Path
from xml.etree import ElementTree

import pytest
from sqlalchemy import select, update

from feedback_app.core.db import get_db
from feedback_app.core.models import Author, Comment, Feedback
from feedback_app.core.translations import translations
from feedback_app.mail.sender import send_due
from feedback_app.site.thread_model import PublishedComment, atom_feed

from ..conftest import ORIGIN, add_author, csrf_token, typed_ticket
from ..mail.test_wire import smtp_server
from .test_build import Page
from .test_thread_publishing import (
    ARTICLE,
    FRENCH_URL,
    Blog,
    built_blog,
    french_form,
)
from .test_too_large import site_app

MAYA = "Maya Lindqvist"
AT_LIMIT = "fr" + "-abcdefgh" * 3 + "-abcde"  # a well-formed code, 35 characters
NBSP = "\u00a0"


@pytest.fixture
def blog(tmp_path: Path, database_url: str) -> Iterator[Blog]:
    with built_blog(tmp_path, database_url) as built:
        yield built


def flat(text: str) -> str:
    """What a text says, however it is wrapped (one space for any)."""
    return " ".join(text.replace(NBSP, " ").split())


def delivered(blog: Blog) -> list[EmailMessage]:
    """Send what is due to a real SMTP server; the messages it received."""
    with smtp_server(blog.app) as server:
        send_due(blog.app)
    return [
        message_from_bytes(r.raw, policy=policy.default)  # type: ignore[misc]
        for r in server.received
    ]


def text_of(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain",))
    assert part is not None
    return flat(part.get_content())


def send_feedback(blog: Blog, page: str, **fields: str) -> str:
    """Send feedback from the form of ``page`` (a French or the English
    page); return the reply page's token."""
    if page == FRENCH_URL:
        form = french_form(blog, "form")
    else:
        form = {"article": ARTICLE, "page": ARTICLE}
    response = blog.client.post(
        "/feedback",
        data={**form, "message": "Merci.", **fields},
        headers={"Origin": ORIGIN},
    )
    assert response.status_code == 303, response.text
    token = re.search(r"/r/([^/?]+)/thanks", response.location)
    assert token is not None
    return token.group(1)


def test_feedback_from_the_translation_is_answered_in_french_to_the_end(
    blog: Blog,
) -> None:
    add_author(blog.app)
    token = send_feedback(blog, FRENCH_URL, email="zoe@example.org", name="Zoé")
    with get_db(blog.app).read() as session:
        feedback = session.scalars(select(Feedback)).one()
    assert feedback.lang == "fr"

    # The acknowledgement, as the SMTP server received it.
    ack = [m for m in delivered(blog) if m["To"] == "zoe@example.org"]
    assert len(ack) == 1
    assert ack[0]["Subject"] == "Votre message sur “Inside sales without the script”"
    body = text_of(ack[0])
    assert body.startswith("Bonjour, Merci : votre message sur")
    assert "Toute personne qui a ce lien peut lire votre message" in body
    assert f"/r/{token}" in body

    # The reply page, reached from the mail: no ?via=, still French.
    page = blog.client.get(f"/r/{token}")
    html = Page(page.text)
    assert html.one("html").attrs["lang"] == "fr"
    assert "Voici votre page de réponse privée." in flat(page.text)
    assert "L’auteur n’a pas encore répondu." in page.text
    assert "Enregistrer l’adresse" in page.text

    # The author answers from the shell, in English: the reader's mail and
    # page stay French, and name the author.
    blog.cli("feedback", "reply", str(feedback.id), "--as", MAYA, "-m", "Merci !")
    [answer] = delivered(blog)
    assert answer["Subject"] == (
        "Maya Lindqvist a répondu à votre message sur “Inside sales without the script”"
    )
    body = text_of(answer)
    assert body.startswith("Bonjour Zoé, Maya Lindqvist a répondu au message")
    assert "Vous avez écrit : > Merci." in body
    assert "Votre page de réponse privée (gardez ce lien pour vous) :" in body
    page = blog.client.get(f"/r/{token}")
    assert "Maya Lindqvist a écrit le" in flat(page.text)
    assert "décembre" in page.text or re.search(r"\d+ \w+ \d{4} à", page.text)

    # Saving the address and deleting it all: French to the last page.
    saved = blog.client.post(
        f"/r/{token}/contact",
        data={"email": "zoe@example.org", "csrf_token": csrf_token(page.text)},
        follow_redirects=True,
    )
    assert "Votre adresse est enregistrée" in saved.text
    ask = blog.client.get(f"/r/{token}/delete")
    assert "Supprimer votre message" in ask.text
    gone = blog.client.post(
        f"/r/{token}/delete", data={"csrf_token": csrf_token(ask.text)}
    )
    assert gone.status_code == 303
    deleted = blog.client.get(gone.location)
    assert Page(deleted.text).one("html").attrs["lang"] == "fr"
    assert "Votre message est supprimé" in deleted.text


def test_the_same_feedback_from_the_english_page_stays_english(blog: Blog) -> None:
    token = send_feedback(blog, ARTICLE, email="sam@example.org")
    with get_db(blog.app).read() as session:
        assert session.scalars(select(Feedback.lang)).one() == "en"
    [ack] = delivered(blog)
    assert ack["Subject"] == "Your feedback on “Inside sales without the script”"
    assert text_of(ack).startswith("Hello, Thank you: your feedback on")
    page = blog.client.get(f"/r/{token}")
    assert Page(page.text).one("html").attrs["lang"] == "en"
    assert "This is your private reply page." in page.text


def test_feedback_from_before_languages_were_recorded_speaks_the_sites(
    blog: Blog,
) -> None:
    token = send_feedback(blog, FRENCH_URL)
    with get_db(blog.app).write() as session:
        session.scalars(select(Feedback)).one().lang = None
    page = blog.client.get(f"/r/{token}")
    assert Page(page.text).one("html").attrs["lang"] == "en"


def test_a_commenter_on_the_translation_is_asked_and_told_in_french(
    blog: Blog,
) -> None:
    add_author(blog.app)
    form = french_form(blog, "form comment-form")
    posted = blog.client.post(
        "/comments",
        data={
            **form,
            "body": "Très juste.",
            "name": "Zoé",
            "email": "zoe@example.org",
            "notify_replies": "y",
            "ticket": typed_ticket(blog.app, ARTICLE),
        },
        headers={"Origin": ORIGIN},
    )
    assert posted.status_code == 303, posted.text
    with get_db(blog.app).read() as session:
        comment = session.scalars(select(Comment)).one()
    assert comment.lang == "fr"
    blog.cli("comments", "approve", str(comment.id))
    blog.settle()

    mail = {m["To"]: m for m in delivered(blog)}
    ask = mail["zoe@example.org"]
    assert flat(ask["Subject"]) == (
        "Merci de confirmer : e-mails sur les réponses à votre commentaire sur "
        "Talking Shop"
    )
    body = text_of(ask)
    assert "Quelqu’un, sans doute vous, a laissé un commentaire" in body
    link = re.search(r"https?://[^/\s]+(/\S+\?lang=fr)", body)
    assert link is not None, body
    confirm = blog.client.get(link.group(1))
    assert Page(confirm.text).one("html").attrs["lang"] == "fr"
    assert "Oui, m’envoyer les réponses par e-mail" in confirm.text
    done = blog.client.post(
        link.group(1),
        data={"csrf_token": csrf_token(confirm.text)},
    )
    assert "Confirmé" in done.text

    # The author replies from the shell; the notification is French, and
    # so is the date of the comment it names.
    blog.cli("comments", "reply", str(comment.id), "--as", MAYA, "-m", "Merci.")
    [notice] = delivered(blog)
    assert notice["Subject"] == (
        "Maya Lindqvist a répondu à votre commentaire sur "
        "“Inside sales without the script”"
    )
    body = text_of(notice)
    assert body.startswith(
        "Bonjour Zoé, Maya Lindqvist a répondu à votre commentaire du"
    )
    assert re.search(
        r"du \d{1,2} (janvier|février|mars|avril|mai|juin|juillet|"
        r"août|septembre|octobre|novembre|décembre) \d{4}",
        body,
    )
    assert "Ne plus recevoir ces messages :" in body
    stop = re.search(r"(https?://\S+?)(/unsubscribe/\S+\?lang=fr)", body)
    assert stop is not None
    assert notice["List-Unsubscribe"] == f"<{stop.group(1)}{stop.group(2)}>"
    page = blog.client.get(stop.group(2))
    assert "Arrêter ces e-mails" in page.text


def test_a_link_names_only_a_language_the_site_ships(blog: Blog) -> None:
    """``?lang=`` picks a shipped catalogue and nothing else: each language
    asked for stays in memory, so a code the site does not ship, however
    well formed, is the site's language; a regional variant of a shipped
    language speaks it."""
    for lang, expected in (
        ("de", "de"),
        ("fr", "fr"),
        ("fr-CA", "fr"),
        ("pt", "en"),
        ("pt-BR", "en"),
        (AT_LIMIT, "fr"),
        ("../../etc", "en"),
        ("fr<script>", "en"),
    ):
        page = blog.client.get("/deleted", query_string={"lang": lang})
        assert Page(page.text).one("html").attrs["lang"] == expected, lang


@pytest.mark.parametrize(
    ("lang", "feed_title", "entry_title"),
    [
        ("en", "Comments on “Ünïcode & <b>”", "Zoé on “Ünïcode & <b>”"),
        ("fr", "Commentaires sur “Ünïcode & <b>”", "Zoé sur “Ünïcode & <b>”"),
        ("de", "Kommentare zu “Ünïcode & <b>”", "Zoé zu “Ünïcode & <b>”"),
    ],
)
def test_a_comment_feed_speaks_its_articles_language(
    lang: str, feed_title: str, entry_title: str
) -> None:
    """The feed's own words in the article's language (``xml:lang``), the
    title and the name still escaped, as an XML parser reads them."""
    comment = PublishedComment(
        id=7,
        name="Zoé",
        website=None,
        date=datetime(2026, 12, 6, tzinfo=UTC),
        html="<p>Oui.</p>",
    )
    xml = atom_feed(
        title="Ünïcode & <b>",
        page_url="https://blog.example.org/a/",
        feed_url="https://blog.example.org/a/comments.atom.xml",
        updated=datetime(2026, 12, 6, tzinfo=UTC),
        lang=lang,
        comments=[("https://blog.example.org/a/", comment)],
    )
    atom = "{http://www.w3.org/2005/Atom}"
    feed = ElementTree.fromstring(xml.encode())  # noqa: S314 (our own feed)
    assert feed.get("{http://www.w3.org/XML/1998/namespace}lang") == lang
    assert feed.findtext(f"{atom}title") == feed_title
    assert feed.findtext(f"{atom}entry/{atom}title") == entry_title


def test_the_reply_pages_forms_refuse_in_the_readers_language(blog: Blog) -> None:
    """The reply page's two forms, checked before anything else is read,
    give their messages in the reader's language, numbers as it writes
    them."""
    token = send_feedback(blog, FRENCH_URL, email="zoe@example.org")
    page = blog.client.get(f"/r/{token}")
    bad = blog.client.post(
        f"/r/{token}/contact",
        data={"email": "zoé@", "csrf_token": csrf_token(page.text)},
    )
    assert bad.status_code == 422
    assert "Cette adresse e-mail n’est pas utilisable" in unescape(bad.text)
    blog.app.config["MAX_MESSAGE_LENGTH"] = 1000
    long = blog.client.post(
        f"/r/{token}/follow-up",
        data={"message": "x" * 1500, "csrf_token": csrf_token(page.text)},
    )
    assert long.status_code == 422
    said = flat(unescape(long.text)).replace("\u202f", " ")
    assert (
        "Merci de ne pas dépasser 1 000 caractères ; ce texte en compte 1 500." in said
    )


@pytest.mark.parametrize("lang", ["fr", "de"])
def test_before_a_page_is_named_the_app_speaks_the_sites_language(
    language_sites: dict[str, Path], tmp_path: Path, lang: str
) -> None:
    """On a French or German site, what the app says before it knows a
    page (an unknown article, a reply page that is gone) is in the site's
    language, as the page around it is."""
    words = translations(lang).gettext
    with site_app(language_sites[lang], tmp_path) as app:
        client = app.test_client()
        unknown = client.post(
            "/feedback",
            data={"article": "no/such/article/", "message": "Hallo"},
            headers={"Origin": ORIGIN},
        )
        gone = client.get("/r/" + "x" * 43)
    assert unknown.status_code == 400
    assert Page(unknown.text).one("html").attrs["lang"] == lang
    expected = words("This feedback is not about an article of this site.")
    assert expected in unescape(unknown.text)
    assert gone.status_code == 404
    expected = words("There is no feedback at this address. It may have been deleted.")
    assert expected in unescape(gone.text)


def test_a_moderation_link_opens_in_the_language_of_its_mail(blog: Blog) -> None:
    """A French author's mail about a held comment: its links open the
    moderation page in French, the reason said in French too."""
    add_author(blog.app)
    with get_db(blog.app).write() as session:
        session.execute(update(Author).values(lang="fr"))
    response = blog.client.post(
        "/comments",
        data={
            "article": ARTICLE,
            "page": ARTICLE,
            "body": "Bien vu.",
            "name": "Zoé",
            "ticket": typed_ticket(blog.app, ARTICLE),
        },
        headers={"Origin": ORIGIN},
    )
    assert response.status_code == 303
    [mail] = [m for m in delivered(blog) if m["To"] == "maya@example.org"]
    body = text_of(mail)
    approve = re.search(r"https?://\S+?(/moderate/\S+\?lang=fr)", body)
    assert approve is not None, body
    page = blog.client.get(approve.group(1))
    assert Page(page.text).one("html").attrs["lang"] == "fr"
    assert "Approuver ce commentaire" in unescape(page.text)
    assert "(n’a pas d’adresse e-mail)" in unescape(page.text)
