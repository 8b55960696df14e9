"""Publishing a thread without Pelican: what the app writes after each
moderation action is, byte for byte, what a full build writes; translations
share their original's thread, on the posting side and the publishing side;
long threads are split into comment pages.

A real site: the project's content with a French translation of one
article, built by Pelican; the app moderates through its own CLI and
services; a second full build from the same comment files is the reference.
"""

from __future__ import annotations

import gzip
import json
import re
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from feedback_app import create_app
from feedback_app.core.db import get_db, upgrade
from feedback_app.core.models import Comment
from feedback_app.services import moderation

from ..conftest import ORIGIN, ROOT, add_author, build_site, outbox, typed_ticket
from .test_build import Page

ARTICLE = "2026/inside-sales-without-the-script/"
FRENCH_URL = "fr/2026/inside-sales-without-the-script/"  # ARTICLE_LANG_URL
FRENCH = f"{FRENCH_URL}index.html"
OTHER = "2026/follow-up-emails-that-get-answered/"
PER_PAGE = 3
FEED_SIZE = 4

FRENCH_TEXT = """\
Title: Vendre au téléphone sans script
Date: 2026-09-14 09:00
Category: Sales
Slug: inside-sales-without-the-script
Lang: fr
Author: Maya Lindqvist
Summary: Un script rassure le débutant, mais l'empêche d'écouter.

Le premier poste de vente au téléphone que j'ai occupé venait avec un
classeur. Voici ce que j'enseigne à la place : un plan court pour chaque
appel, et l'habitude de poser une question de plus.
"""


@dataclass
class Blog:
    """A built site with a translation, and the app that publishes into it."""

    tmp: Path
    content: Path
    extra: dict[str, object]
    app: Flask
    client: FlaskClient

    @property
    def output(self) -> Path:
        return self.tmp / "output"

    def post(self, article: str = ARTICLE, **fields: str) -> int:
        """Post the "Leave a reply" form as a browser would; return the id."""
        data = {
            "article": article,
            "body": "Nice piece.",
            "name": "Sam",
            "email": "sam@example.org",
            "ticket": typed_ticket(self.app, article),
            **fields,
        }
        response = self.client.post("/comments", data=data, headers={"Origin": ORIGIN})
        assert response.status_code == 303, response.text
        with get_db(self.app).read() as session:
            return session.scalars(
                select(Comment.id).order_by(Comment.id.desc())
            ).first()

    def cli(self, *args: str) -> str:
        result = self.app.test_cli_runner().invoke(args=list(args))
        assert result.exit_code == 0, result.output
        return result.output

    def settle(self) -> None:
        assert self.app.extensions["publisher"].wait_idle(timeout=60)

    def full_build(self, into: Path) -> Path:
        """A fresh full build from the same content and comment files."""
        build_site(into, content=self.content, extra=self.extra)
        return into / "output"

    def page(self, path: str) -> Page:
        return Page.load(self.output / path)


def comment_ids(html: Page) -> set[int]:
    return {
        int(e.attrs["id"].removeprefix("comment-"))
        for e in html.find_all("li")
        if re.fullmatch(r"comment-\d+", e.attrs.get("id") or "")
    }


def tree(output: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(output)): p.read_bytes()
        for p in sorted(output.rglob("*"))
        if p.is_file()
    }


def assert_same_tree(ours: Path, reference: Path) -> None:
    """Every file of both outputs, the ``.gz`` twins too, byte for byte."""
    mine, theirs = tree(ours), tree(reference)
    assert sorted(mine) == sorted(theirs)
    differ = [name for name in mine if mine[name] != theirs[name]]
    assert differ == []
    for name, data in mine.items():
        if name.endswith(".gz"):
            assert gzip.decompress(data) == mine[name.removesuffix(".gz")], name


@contextmanager
def built_blog(tmp_path: Path, database_url: str) -> Iterator[Blog]:
    """The project's content with a French translation, built, and its app."""
    content = tmp_path / "content"
    shutil.copytree(
        ROOT / "content", content, ignore=shutil.ignore_patterns("comments")
    )
    (content / "inside-sales-without-the-script-fr.md").write_text(
        FRENCH_TEXT, encoding="utf-8"
    )
    comments = tmp_path / "comments"
    comments.mkdir()
    extra = {
        "FEEDBACK_COMMENTS_PATH": str(comments),
        "COMMENTS_PER_PAGE": PER_PAGE,
        "COMMENTS_FEED_SIZE": FEED_SIZE,
    }
    index = build_site(tmp_path, content=content, extra=extra)
    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "test secret",
            "DATABASE_URL": database_url,
            "SITE_INDEX_PATH": str(index),
            "OUTPUT_PATH": str(tmp_path / "output"),
            "CONTENT_PATH": str(content),
            "COMMENTS_PATH": str(comments),
            "PELICAN_EXTRA_SETTINGS": {"CACHE_PATH": str(tmp_path / "cache")},
            "SITE_URL": "https://blog.example.org",
            "POST_LIMIT_PER_ADDRESS": 0,
        }
    )
    app.instance_path = str(tmp_path)
    upgrade(app)
    yield Blog(tmp_path, content, extra, app, app.test_client())
    app.extensions["publisher"].wait_idle()
    get_db(app).dispose()


@pytest.fixture
def blog(tmp_path: Path, database_url: str) -> Iterator[Blog]:
    with built_blog(tmp_path, database_url) as built:
        yield built


def test_every_action_writes_what_a_full_build_writes(
    blog: Blog, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """Approve (into a second and a third comment page), reply, edit,
    un-approve, delete, erase: after each, the whole output equals a fresh
    full build's, and Pelican never ran."""
    publisher = blog.app.extensions["publisher"]
    ids = [blog.post(name=f"Reader {i}", email=f"r{i}@example.org") for i in range(7)]
    blog.cli("comments", "approve", str(ids[0]))
    reply = blog.post(name="Ana", email="ana@example.org", parent=str(ids[0]))
    steps: list[tuple[str, ...]] = [
        *(("comments", "approve", str(cid)) for cid in ids[1:]),
        ("comments", "approve", str(reply)),
        ("edit", str(ids[1])),
        ("comments", "unapprove", str(ids[6])),  # back to two pages
        ("comments", "delete", str(ids[2])),
        ("readers", "erase", "r3@example.org", "--yes"),
    ]
    for number, step in enumerate(steps):
        if step[0] == "edit":
            moderation_edit(blog, int(step[1]))
        else:
            blog.cli(*step)
        blog.settle()
        if step[1] == "approve" and number not in (0, 2, 5, 6):
            continue  # the whole tree after the steps that change its shape
        reference = blog.full_build(tmp_path_factory.mktemp("reference"))
        assert_same_tree(blog.output, reference)
    assert publisher.builds == 0

    # What readers see: the newest page on the article, in both languages.
    for page in (f"{ARTICLE}index.html", FRENCH):
        shown = comment_ids(blog.page(page))
        assert ids[6] not in shown and ids[2] not in shown
    french = blog.page(FRENCH)
    assert french.one("html").attrs["lang"] == "fr"
    assert (
        "Vendre au téléphone sans script" in french.one("h2", id="comments-title").text
    )


def moderation_edit(blog: Blog, cid: int) -> None:
    with blog.app.app_context():
        moderation.edit(cid, name="Reader 1", website=None, body="Edited **twice**.")


def test_comment_pages_hold_every_comment_once_with_replies_under_parents(
    blog: Blog,
) -> None:
    ids = [blog.post(name=f"Reader {i}") for i in range(7)]
    for cid in ids:
        blog.cli("comments", "approve", str(cid))
    replies = [blog.post(name="Ana", parent=str(ids[1])) for _ in range(2)]
    for cid in replies:
        blog.cli("comments", "approve", str(cid))
    # 7 top-level comments, 3 a page: pages 1 (oldest) and 2 are their own
    # files, page 3 (newest) is the article's.
    first = blog.page(f"{ARTICLE}comment-page-1/index.html")
    second = blog.page(f"{ARTICLE}comment-page-2/index.html")
    article = blog.page(f"{ARTICLE}index.html")
    assert comment_ids(first) == {ids[0], ids[1], ids[2], *replies}
    assert comment_ids(second) == {ids[3], ids[4], ids[5]}
    assert comment_ids(article) == {ids[6]}
    assert not (blog.output / f"{ARTICLE}comment-page-3").exists()
    urls = [
        f"/{ARTICLE}comment-page-1/#comments",
        f"/{ARTICLE}comment-page-2/#comments",
        f"/{ARTICLE}#comments",
    ]
    for current, html in enumerate((first, second, article)):
        navs = html.find_all("nav", **{"class": "comment-pages"})
        assert len(navs) == 2  # above the comments and below
        for nav in navs:
            links = [a.attrs["href"] for a in html.find_all("a", within=nav)]
            assert links == [
                "#comments" if n == current else url for n, url in enumerate(urls)
            ]
    # The French page has its own comment pages, with the same comments.
    assert comment_ids(blog.page(f"{FRENCH_URL}comment-page-1/index.html")) == (
        comment_ids(first)
    )


def test_a_link_to_a_comment_lands_on_the_page_that_holds_it(blog: Blog) -> None:
    ids = [blog.post(name=f"Reader {i}") for i in range(7)]
    for cid in ids:
        blog.cli("comments", "approve", str(cid))
    subscriber = blog.post(name="Ana", email="ana@example.org", notify_replies="y")
    blog.cli("comments", "approve", str(subscriber))
    feed = (blog.output / f"{ARTICLE}comments.atom.xml").read_text(encoding="utf-8")
    links = re.findall(r'<link href="([^"]+)" rel="alternate"/>', feed)[1:]
    # The newest FEED_SIZE comments only, each at the page that shows it.
    assert len(links) == FEED_SIZE
    for link in links:
        path, anchor = link.removeprefix("/").split("#")
        page = blog.output / (path + "index.html" if path.endswith("/") else path)
        assert f'id="{anchor}"' in page.read_text(encoding="utf-8"), link
    # The reader's "see it in the thread" link, after posting on page 1.
    # By a reader known by now: published at once.
    add_author(blog.app)
    cid = blog.post(name="Reader 0", parent=str(ids[0]), body="Page one again.")
    blog.settle()
    # The author's mail about it links through the app, which sends the
    # reader to page 1.
    [told] = [m for m in outbox(blog.app, "comment-to-author")]
    assert "It is published." in told.body
    [link] = re.findall(r"<http://localhost(/comments/\d+)>", told.body)
    landed = blog.client.get(link)
    assert landed.status_code == 302
    assert landed.location == f"/{ARTICLE}comment-page-1/#comment-{cid}"
    french_link = blog.client.get(link, query_string={"via": FRENCH_URL})
    assert french_link.location == f"/{FRENCH_URL}comment-page-1/#comment-{cid}"
    with blog.app.app_context():
        from feedback_app.site.index import site_index
        from feedback_app.site.threads import comment_link

        article = site_index().article(ARTICLE)
        with get_db().read() as session:
            link = comment_link(session, article, cid)
            french = comment_link(session, article, cid, FRENCH_URL)
    assert link == f"/{ARTICLE}comment-page-1/#comment-{cid}"
    assert french == f"/{FRENCH_URL}comment-page-1/#comment-{cid}"


def test_a_comment_posted_on_the_translation_is_on_both_and_the_reader_stays_french(
    blog: Blog,
) -> None:
    french = blog.page(FRENCH)
    form = french.one("form", **{"class": "form comment-form"})
    fields = {
        e.attrs["name"]: e.attrs.get("value", "")
        for e in french.find_all("input")
        if e.is_inside(form) and e.attrs.get("type") == "hidden"
    }
    # The translation's form names the original's thread, and itself.
    assert fields["article"] == ARTICLE
    assert fields["page"] == FRENCH_URL
    response = blog.client.post(
        "/comments",
        data={
            "article": fields["article"],
            "page": fields["page"],
            "body": "Très juste.",
            "name": "Chloé",
            "ticket": typed_ticket(blog.app, ARTICLE),
        },
        headers={"Origin": ORIGIN},
    )
    assert response.status_code == 303
    posted = blog.client.get(response.location)
    assert f'href="/{FRENCH_URL}"' in posted.text  # back to the French page
    # ... and the page after posting speaks French, as the article did.
    shown = Page(posted.text)
    assert shown.one("html").attrs["lang"] == "fr"
    assert shown.one("h1").text == "Votre commentaire attend la modération"
    assert "Retour à l’article" in posted.text
    cid = blog.post()  # and one from the English page
    with get_db(blog.app).read() as session:
        first = session.scalars(select(Comment).where(Comment.name == "Chloé")).one()
    assert first.article_page_url == ARTICLE
    blog.cli("comments", "approve", str(first.id))
    blog.cli("comments", "approve", str(cid))
    for page in (f"{ARTICLE}index.html", FRENCH):
        assert comment_ids(blog.page(page)) == {first.id, cid}
    # The thread the app rendered speaks each page's language.
    english, french = blog.page(f"{ARTICLE}index.html"), blog.page(FRENCH)
    heading = english.one("h2", id="comments-title").text
    assert heading.startswith("2 comments on “")
    heading = french.one("h2", id="comments-title").text
    assert heading.startswith("2 commentaires sur « Vendre au téléphone")
    assert {a.text for a in french.find_all("a", **{"data-reply-to": str(cid)})} == {
        "Répondre"
    }
    # Its Reply link (without JavaScript) leads to a reply page in French;
    # the English page's, to one in English.
    (link,) = french.find_all("a", **{"data-reply-to": str(cid)})
    assert link.attrs["href"] == f"/app/comments/reply/{cid}?via={FRENCH_URL}#respond"
    reply = blog.client.get(link.attrs["href"].removeprefix("/app").split("#")[0])
    assert Page(reply.text).one("html").attrs["lang"] == "fr"
    assert "Publier le commentaire" in reply.text
    (link,) = english.find_all("a", **{"data-reply-to": str(cid)})
    assert link.attrs["href"] == f"/app/comments/reply/{cid}#respond"
    reply = blog.client.get(f"/comments/reply/{cid}")
    assert "Post comment" in reply.text
    # Trashed: gone from both, with nothing of it left on either.
    blog.cli("comments", "trash", str(first.id))
    for page in (f"{ARTICLE}index.html", FRENCH):
        text = (blog.output / page).read_text(encoding="utf-8")
        assert "Chloé" not in text and "Très juste" not in text
    # One feed for the thread, linked from both pages.
    for page in (f"{ARTICLE}index.html", FRENCH):
        html = blog.page(page)
        feed = html.one("a", within=html.one("p", **{"class": "comment-feed"}))
        assert feed.attrs["href"] == f"/{ARTICLE}comments.atom.xml"


def test_a_page_without_a_thread_region_is_rebuilt_by_pelican(blog: Blog) -> None:
    """A page built by a theme without the region still gets its comments."""
    page = blog.output / f"{OTHER}index.html"
    text = page.read_text(encoding="utf-8")
    start, end = text.index("<!-- thread -->"), text.index("<!-- /thread -->")
    page.write_text(text[:start] + text[end + len("<!-- /thread -->") :])
    cid = blog.post(article=OTHER)
    blog.cli("comments", "approve", str(cid))
    assert blog.app.extensions["publisher"].builds == 1
    assert cid in comment_ids(Page.load(page))


def test_the_site_index_records_each_thread_and_its_pages(blog: Blog) -> None:
    index = json.loads((blog.tmp / "site.json").read_text(encoding="utf-8"))
    (article,) = [a for a in index["articles"] if a["page_url"] == ARTICLE]
    thread = article["thread"]
    assert thread["lang"] == "en"
    assert [(v["url"], v["lang"]) for v in thread["translations"]] == [
        (FRENCH_URL, "fr")
    ]
    assert FRENCH in article["outputs"]
    # Translations are no articles of their own to the app.
    assert FRENCH_URL not in {a["page_url"] for a in index["articles"]}
    assert index["render"]["settings"]["COMMENTS_PER_PAGE"] == PER_PAGE


def test_a_thread_of_one_full_page_has_no_pages_and_one_more_makes_two(
    blog: Blog,
) -> None:
    ids = [blog.post(name=f"Reader {i}") for i in range(PER_PAGE + 1)]
    for cid in ids[:PER_PAGE]:
        blog.cli("comments", "approve", str(cid))
    article = blog.page(f"{ARTICLE}index.html")
    assert comment_ids(article) == set(ids[:PER_PAGE])
    assert article.find_all("nav", **{"class": "comment-pages"}) == []
    assert list((blog.output / ARTICLE).glob("comment-page-*")) == []

    blog.cli("comments", "approve", str(ids[PER_PAGE]))
    assert comment_ids(blog.page(f"{ARTICLE}index.html")) == {ids[PER_PAGE]}
    assert comment_ids(blog.page(f"{ARTICLE}comment-page-1/index.html")) == set(
        ids[:PER_PAGE]
    )
    # And back: the page that is no longer needed goes, with its twin.
    blog.cli("comments", "unapprove", str(ids[PER_PAGE]))
    assert comment_ids(blog.page(f"{ARTICLE}index.html")) == set(ids[:PER_PAGE])
    assert list((blog.output / ARTICLE).rglob("comment-page-*")) == []


@pytest.mark.parametrize(
    ("setting", "value", "ok"),
    [
        ("COMMENTS_PER_PAGE", 0, True),  # every comment on the article
        ("COMMENTS_PER_PAGE", -1, False),
        ("COMMENTS_FEED_SIZE", 0, True),  # every comment in the feed
        ("COMMENTS_FEED_SIZE", -1, False),
        ("COMMENTS_DEFAULT_PAGE", "oldest", True),
        ("COMMENTS_DEFAULT_PAGE", "last", False),
        ("COMMENTS_ORDER", "newest-first", True),
        ("COMMENTS_ORDER", "desc", False),
    ],
)
def test_paging_settings_at_and_past_their_limits(
    tmp_path: Path, setting: str, value: object, ok: bool
) -> None:
    if ok:
        build_site(tmp_path, extra={setting: value})
        return
    with pytest.raises(subprocess.CalledProcessError) as failed:
        build_site(tmp_path, extra={setting: value})
    assert f"{setting} is {value!r}" in failed.value.stdout + failed.value.stderr


def french_form(blog: Blog, css_class: str) -> dict[str, str]:
    """The hidden fields of a form of the French page."""
    french = blog.page(FRENCH)
    form = french.one("form", **{"class": css_class})
    return {
        e.attrs["name"]: e.attrs.get("value") or ""
        for e in french.find_all("input")
        if e.is_inside(form) and e.attrs.get("type") == "hidden"
    }


def test_a_reader_of_the_translation_is_answered_in_french(blog: Blog) -> None:
    """Refused forms, their messages, and the thanks page follow the page
    the reader posted from; the same post from the English page stays
    English."""
    feedback = french_form(blog, "form")
    assert feedback["page"] == FRENCH_URL
    headers = {"Origin": ORIGIN}
    empty = blog.client.post(
        "/feedback", data={**feedback, "message": ""}, headers=headers
    )
    assert empty.status_code == 422
    page = Page(empty.text)
    assert page.one("html").attrs["lang"] == "fr"
    assert "Écrivez un message." in empty.text
    assert "Votre message n’est pas encore envoyé." in empty.text
    assert "Envoyer le message" in empty.text  # the form itself, in French
    # The form shown again still names the French page.
    assert f'name="page" value="{FRENCH_URL}"' in empty.text
    sent = blog.client.post(
        "/feedback",
        data={
            **feedback,
            "message": "Merci pour cet article.",
            "email": "zoe@example.org",
        },
        headers=headers,
    )
    assert sent.status_code == 303
    thanks = blog.client.get(sent.location)
    assert "Merci, votre message est parvenu à l’auteur" in thanks.text
    assert Page(thanks.text).one("html").attrs["lang"] == "fr"

    comment = french_form(blog, "form comment-form")
    bad = blog.client.post(
        "/comments",
        data={**comment, "body": "Bien vu.", "name": "", "website": "ftp://x"},
        headers=headers,
    )
    assert bad.status_code == 422
    assert "Indiquez un nom." in bad.text
    assert "Donnez une adresse web qui commence par http:// ou https://." in bad.text
    assert "Publier le commentaire" in bad.text

    # Past the rate limit, the refusal speaks French too.
    blog.app.config.update(POST_LIMIT_WINDOW=60, POST_LIMIT_PER_ADDRESS=1)
    first = blog.client.post(
        "/feedback", data={**feedback, "message": "Encore."}, headers=headers
    )
    assert first.status_code == 303
    again = blog.client.post(
        "/feedback", data={**feedback, "message": "Encore."}, headers=headers
    )
    assert again.status_code == 429
    refused = Page(again.text)
    assert refused.one("h1").text == "Trop d’envois à la fois"
    assert "Trop d’envois en peu de temps. Attendez" in again.text
    blog.app.config.update(POST_LIMIT_PER_ADDRESS=0)

    english = blog.client.post(
        "/comments",
        data={"article": ARTICLE, "page": ARTICLE, "body": "Good.", "name": ""},
        headers=headers,
    )
    assert english.status_code == 422
    assert "Please give a name." in english.text
    assert Page(english.text).one("html").attrs["lang"] == "en"
