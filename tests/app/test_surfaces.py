"""Issue 6 on every surface: hostile text is inert wherever it is shown, and no
reader's e-mail or IP address leaks; nothing is remembered without consent.

One world per module (``world``): a copy of the project's site built by real
Pelican into a tmp folder (with the production Atom and RSS feeds turned
on), and one app that publishes into it and serves it live on a free port
with the static site, as ``make serve`` does (site at ``/``, app at ``/app``).
Through the app's own forms (the Flask test client, behind a trusted proxy
that names the client ``203.0.113.77``) readers put hostile text in every
field they have, and the author answers from the desk in every way there is.
Comments are approved explicitly at the desk, never left to the rules (a
comment without a form ticket may be held). Every payload, should it ever
run, sets ``window.__pwned`` to the name of its field:

    field     what                                   shown on
    cb, cn    a reader's comment and name, approved  article page, comment feed,
    cw        its website (http, markup in it)       posted page, reply form page,
                                                     desk (approved, item), mail
    cb2, cn2  a held comment and name                posted page, desk queue, the
                                                     mailed moderation page, mail
    fm, fn    private feedback (may be quoted), and  reply page, desk inbox and item,
              the reader's name                      mail; fm also the post, its
                                                     draft, the lists and feeds
    fu        the reader's follow-up                 reply page, desk item, mail
    ap        the author's private answer            reply page, desk item, mail
    ar        the author's reply to the comment      article page, feed, desk
    pt        the title of the post answering fm     post, lists, feeds, reply
                                                     page, desk

Each surface is checked twice: its HTML (or XML) with the standard library's
parser (``tests.test_build.Page`` and ``tests.test_comments_build``'s
``assert_inert``: no script but the theme's, no handler, no script URL, the
hostile text present as text), and in headless Chromium (``tests.test_browser``'s
fixtures) with the page's Content-Security-Policy bypassed, so that only the
markup itself can stop a payload: every link is hovered and clicked (real
mouse on the commenter's name, synthetic events on the rest; same-origin and
web navigations are held back, ``javascript:`` ones are not), then
``window.__pwned`` must be unset, no dialog shown, and the DOM must hold no
handler attribute or script of the reader's. Mail must be text/plain only.
Forms refused with errors (a ``javascript:`` website, a bad address) show
the text again, inert.

Privacy: the addresses (in full, URL-encoded, as HTML entities, their
local parts, MD5 and SHA-256 as a Gravatar would use) and the IP are in no
file of ``output/``, the comment files, the post or the site index; in no
page the app shows to a stranger or to another reader; in no mail to a
reader but their own address; the database keeps the IP only as keyed
hashes. The desk, for the signed-in author, may show addresses (it does).
A reader's own private reply page shows their address masked, never whole.

Consent: the "Save my name" box is off; posting without it, reading pages and
sending feedback leave no cookie and nothing in localStorage or
sessionStorage; ticking it sets the cookie that fills the next form, and
unticking it removes the cookie. The reply page's forms carry a CSRF token,
which lives in a session cookie: it holds that token only, nothing about the
reader, and expires with the browser session.

At the end, three bugs this file found, now fixed: what an author writes for
a post in the desk's answer form, and a ``Summary:`` line edited in the
desk's post editor, were published as live HTML (script, ``javascript:``
links); both are now refused as the body always was. And a post title with
"_" could not be answered in a post at all (its slug was refused).
"""

from __future__ import annotations

import hashlib
import html
import mailbox
import re
import shutil
import threading
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default as default_policy
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote, urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient
from playwright.sync_api import Browser, BrowserContext, Page, expect
from sqlalchemy import func, select
from werkzeug.serving import make_server
from werkzeug.test import TestResponse

from feedback_app import create_app
from feedback_app.core.db import get_db, upgrade
from feedback_app.core.http import address_key
from feedback_app.core.models import Comment, Feedback, RateEvent, SignInFailure
from feedback_app.devserver import make_site_app
from feedback_app.mail.links import unsubscribe_url
from feedback_app.mail.sender import send_due

from ..conftest import (
    ARTICLE,
    ORIGIN,
    ROOT,
    Commenter,
    Desk,
    Reader,
    add_author,
    build_site,
    newest_comment,
    outbox,
)
from ..desk import test_work as test_desk_work
from ..desk.test_access import snapshot
from ..desk.test_browser import sign_in
from ..desk.test_work import drafts_in, follow_up, public_answer
from ..readers import test_browser
from ..readers.test_browser import (
    ARTICLE_PATH,
    FEEDBACK_FORM,
    THANKS_URL,
    _not_ready,
    follow_reply_link,
    new_page,
    open_article,
    send_feedback,
)
from ..readers.test_comments_browser import (
    COOKIE,
    SAVE_ME,
    cookie_names,
    fill_comment,
    post_comment,
    reply_form,
)
from ..site.test_build import ATOM, read_feed, scripts
from ..site.test_build import Page as Html
from ..site.test_comments_build import assert_inert

pytestmark = pytest.mark.build

# readers/test_browser.py's fixtures (Chromium, or skip/fail), desk/test_work.py's
# author on a desk that publishes for real: shared by name.
playwright = test_browser.playwright
browser = test_browser.browser
pub_desk = test_desk_work.pub_desk

# --- what readers and the author type -------------------------------------------

IP = "203.0.113.77"  # the reader's address, as the trusted proxy tells it
READER_MAIL = "pia.k7q-surfaces@example.org"  # sent the hostile feedback
OTHER_MAIL = "quinn.k7q-quiet@example.net"  # sent feedback too
COMMENTER_MAIL = "cleo.k7q-commenter@example.com"  # the approved comment
HELD_MAIL = "dag.k7q-held@example.org"  # the comment that stays held
READERS = (READER_MAIL, OTHER_MAIL, COMMENTER_MAIL, HELD_MAIL)
AUTHOR_MAIL = "maya@example.org"  # conftest's add_author
TEMPLATE_TEXT = "{{7*7}}"  # must come out as typed, never as 49


def pwn(tag: str) -> str:
    """JavaScript that, should it ever run, names the field ``tag`` it came from.

    In a post's title the same identifier is written with escapes: the title
    becomes the slug, which may hold no "_" (see the last test).
    """
    name = "\\u005f\\u005fpwned" if tag == "pt" else "__pwned"
    return f"window.{name}='{tag}'"


def marker(tag: str) -> str:
    """A piece of every payload of field ``tag``: a page must show it as text."""
    return f"<script>{pwn(tag)}</script>"


def hostile_line(tag: str, vector: str = "img") -> str:
    """One line of hostile text for a name or a title (at most 100 characters)."""
    handler = {"img": "<img src=x onerror=", "svg": "<svg onload="}[vector]
    return f'">{handler}"{pwn(tag)}">{marker(tag)}{TEMPLATE_TEXT}'


def hostile_text(tag: str) -> str:
    """Paragraphs of hostile text: HTML, Markdown links, template syntax."""
    js = pwn(tag)
    return "\n\n".join(
        [
            marker(tag),
            f'<img src=x onerror="{js}">',
            f'"><svg onload="{js}">',
            f"[a link](javascript:{js}) and [another](JaVaScRiPt:{js})",
            f"<javascript:{js}>",
            f'<a href="javascript:{js}" onmouseover="{js}">a raw link</a>',
            f"</textarea></title>{marker(tag)}",
            TEMPLATE_TEXT + " and {% if 1 %}template text{% endif %}",
        ]
    )


FM, FN, FU = hostile_text("fm"), hostile_line("fn"), hostile_text("fu")
CB, CN, CB2, CN2 = (
    hostile_text("cb"),
    hostile_line("cn"),
    hostile_text("cb2"),
    hostile_line("cn2", "svg"),
)
CW = f'https://ok.example/"><svg/onload={pwn("cw")}>'  # http(s): accepted
AP, AR, PT = hostile_text("ap"), hostile_text("ar"), "On quotas " + hostile_line("pt")
POST_TEXT = f"Plans, not scripts: {TEMPLATE_TEXT} is not a quota."
SCRIPT_URLS = (
    f"javascript:{pwn('cw')}",
    f"JaVaScRiPt:{pwn('cw')}",
    f" javascript:{pwn('cw')}",
    "data:text/html,<script>window.__pwned='cw'</script>",
)
FEEDS = {
    "FEED_ALL_ATOM": "feeds/all.atom.xml",
    "FEED_ALL_RSS": "feeds/all.rss.xml",
    "CATEGORY_FEED_ATOM": "feeds/{slug}.atom.xml",
}


# --- the world: one site, one app, one live server ------------------------------


@dataclass
class World:
    """The shared site and app, and what was written to them.

    It has the ``url`` that ``test_browser.open_article`` and
    ``test_desk_browser.sign_in`` take from their own live servers.
    """

    url: str  # the live server: site at /, app at /app
    app: Flask
    site: Path  # content/, output/, site.json, cache/, the database, maildir/
    reader: Reader  # sent the hostile feedback (their own cookies)
    commenter: Commenter  # posted the hostile comment, asking to be remembered
    desk: Desk  # Maya, signed in
    token: str  # the hostile feedback's reply page
    feedback_id: int
    c1: int  # approved, with the author's reply under it
    c2: int  # held
    posted: dict[int, str] = field(default_factory=dict)  # "comment posted" pages
    post_path: str = ""  # the published post answering the feedback
    moderate_path: str = ""  # the approve link mailed about c2
    confirm_path: str = ""  # the confirmation link mailed to the commenter

    @property
    def output(self) -> Path:
        return self.site / "output"

    def wait(self) -> None:
        assert self.app.extensions["publisher"].wait_idle(timeout=60)


def behind_proxy(client: FlaskClient) -> FlaskClient:
    """A client whose every request comes through the proxy, naming ``IP``."""
    client.environ_base["HTTP_X_FORWARDED_FOR"] = IP
    return client


def posted_at(response: TestResponse) -> str:
    assert response.status_code == 303, response.text
    assert response.location.startswith("/comments/posted/")
    return response.location


def mailed_link(app: Flask, kind: str, needle: str, label: str = "") -> str:
    """The path of the first link after ``label`` in the mail of ``kind``
    whose body holds ``needle``."""
    (message,) = [m for m in outbox(app, kind) if needle in m.body]
    found = re.search(re.escape(label) + r"\s*(https?://\S+)", message.body)
    assert found, message.body
    return urlsplit(found.group(1)).path


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    """Build, serve, and let readers and the author write everything once."""
    for line in (FN, CN, CN2):
        assert len(line) <= 100, line  # the forms' limit for a name
    assert len(PT) <= 200  # for a title
    tmp = tmp_path_factory.mktemp("surfaces")
    content = tmp / "content"
    shutil.copytree(
        ROOT / "content", content, ignore=shutil.ignore_patterns("comments")
    )
    (content / "comments").mkdir()
    index = build_site(
        tmp,
        content=content,
        extra={"FEEDBACK_COMMENTS_PATH": str(content / "comments"), **FEEDS},
    )
    # Bind first, so that the app's SITE_URL names the port really in use.
    server = make_server("127.0.0.1", 0, _not_ready, threaded=True)
    url = f"http://127.0.0.1:{server.server_port}"
    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "surfaces test secret",
            "DATABASE_URL": f"sqlite:///{tmp / 'feedback.sqlite3'}",
            "SITE_INDEX_PATH": str(index),
            "OUTPUT_PATH": str(tmp / "output"),
            "CONTENT_PATH": str(content),
            "COMMENTS_PATH": str(content / "comments"),
            "MAILDIR_PATH": str(tmp / "maildir"),
            "PELICAN_EXTRA_SETTINGS": {"CACHE_PATH": str(tmp / "cache"), **FEEDS},
            "SITE_URL": url,
            # The test client and the browser both reach the app from
            # 127.0.0.1, a proxy that names its client in X-Forwarded-For.
            "TRUSTED_PROXIES": ["127.0.0.1"],
            # Counted (so the address is handled), never reached.
            "POST_LIMIT_PER_ADDRESS": 10_000,
            "POST_LIMIT_PER_ARTICLE": 10_000,
            # The browser here types faster than a person.
            "FORM_MIN_SECONDS": 0,
        }
    )
    app.instance_path = str(tmp)
    upgrade(app)
    add_author(app)  # Maya, author of ARTICLE, mail at once
    server.app = make_site_app(app)
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()

    # Readers: private feedback, a follow-up, comments.
    reader = Reader(behind_proxy(app.test_client()))
    token, _ = reader.send_and_follow(
        message=FM, name=FN, email=READER_MAIL, may_quote="y"
    )
    follow_up(reader.client, token, FU)
    Reader(behind_proxy(app.test_client())).send_and_follow(
        message="A quiet note.", email=OTHER_MAIL
    )
    commenter = Commenter(behind_proxy(app.test_client()))
    c1_page = posted_at(
        commenter.post(
            name=CN,
            email=COMMENTER_MAIL,
            website=CW,
            body=CB,
            remember="y",
            notify_replies="y",
        )
    )
    c1 = newest_comment(app).id
    held = Commenter(behind_proxy(app.test_client()))
    c2_page = posted_at(held.post(name=CN2, email=HELD_MAIL, body=CB2))
    c2 = newest_comment(app).id
    with get_db(app).read() as session:
        feedback_id = session.scalar(
            select(Feedback.id).where(Feedback.email == READER_MAIL)
        )

    # The author: a failed sign-in (an unknown name), then the desk.
    desk = Desk(behind_proxy(app.test_client()))
    assert desk.sign_in("Nobody We Know", "not a password").status_code == 401
    assert desk.sign_in().status_code == 303
    answered = desk.post(
        f"/desk/feedback/{feedback_id}/answer", {"answer": AP, "send_to": "private"}
    )
    assert answered.status_code == 303, answered.text
    drafted = public_answer(desk, feedback_id, answer=POST_TEXT, title=PT)
    assert drafted.status_code == 303, drafted.text
    approved = desk.post(f"/desk/comments/{c1}/state", {"action": "approve"})
    assert approved.status_code == 303, approved.text
    replied = desk.post(f"/desk/comments/{c1}/reply", {"body": AR})
    assert replied.status_code == 303, replied.text
    assert app.extensions["publisher"].wait_idle(timeout=60)
    published = desk.post(f"/desk/feedback/{feedback_id}/post/publish")
    assert published.status_code == 303, published.text
    assert send_due(app, limit=100).sent >= 6

    with get_db(app).read() as session:
        feedback = session.get(Feedback, feedback_id)
        assert feedback is not None
        post_slug = feedback.post_slug or ""
        states = dict(session.execute(select(Comment.id, Comment.state)).all())
    assert states[c1] == "approved"
    assert states[c2] == "pending"
    post = app.extensions["site_index"].current().article_with_slug(post_slug)
    assert post is not None, "the post is not on the site"
    world = World(
        url=url,
        app=app,
        site=tmp,
        reader=reader,
        commenter=commenter,
        desk=desk,
        token=token,
        feedback_id=feedback_id,
        c1=c1,
        c2=c2,
        posted={c1: c1_page, c2: c2_page},
        post_path=urlsplit(post.url).path,
        moderate_path=mailed_link(app, "comment-to-author", marker("cb2"), "Approve:"),
        confirm_path=mailed_link(app, "confirm-subscription", "confirm"),
    )
    yield world
    server.shutdown()
    thread.join(timeout=10)
    server.server_close()
    world.wait()
    get_db(app).dispose()


# --- the surfaces -------------------------------------------------------------------


@dataclass(frozen=True)
class Surface:
    """A page where reader's (or author's) text is shown."""

    name: str
    kind: str  # "site": a built file; "app": a reader's page; "desk": the author's
    path: Callable[[World], str]  # under the site, or under the app
    shows: tuple[str, ...]  # fields whose marker (or, for cw, text) it shows
    website_link: bool = False  # the commenter's website as the name's link

    def url(self, world: World) -> str:
        return world.url + ("" if self.kind == "site" else "/app") + self.path(world)

    def __str__(self) -> str:
        return self.name


SURFACES = [
    Surface("article-page", "site", lambda w: ARTICLE_PATH, ("cb", "cn", "ar"), True),
    Surface("post-page", "site", lambda w: w.post_path, ("fm", "pt")),
    Surface("front-page", "site", lambda w: "/", ("pt",)),
    Surface(
        "reply-page", "app", lambda w: f"/r/{w.token}", ("fm", "fn", "fu", "ap", "pt")
    ),
    Surface("thanks-page", "app", lambda w: f"/r/{w.token}/thanks", ()),
    Surface("posted-page", "app", lambda w: w.posted[w.c1], ("cb", "cn"), True),
    Surface("held-posted-page", "app", lambda w: w.posted[w.c2], ("cb2", "cn2")),
    Surface(
        "reply-form-page", "app", lambda w: f"/comments/reply/{w.c1}", ("cb", "cn")
    ),
    Surface("moderation-link-page", "app", lambda w: w.moderate_path, ("cb2", "cn2")),
    Surface("desk-inbox", "desk", lambda w: "/desk/", ("fm", "fn")),
    Surface(
        "desk-feedback",
        "desk",
        lambda w: f"/desk/feedback/{w.feedback_id}",
        ("fm", "fn", "fu", "ap", "pt"),
    ),
    Surface(
        "desk-post",
        "desk",
        lambda w: f"/desk/feedback/{w.feedback_id}/post",
        ("fm", "pt"),
    ),
    Surface("desk-queue", "desk", lambda w: "/desk/comments", ("cb2", "cn2")),
    Surface(
        "desk-approved",
        "desk",
        lambda w: "/desk/comments?view=approved",
        ("cb", "cn", "ar"),
    ),
    Surface(
        "desk-comment",
        "desk",
        lambda w: f"/desk/comments/{w.c1}",
        ("cb", "cn", "cw", "ar"),
    ),
]


def shown(tag: str) -> str:
    """What of field ``tag`` a page must show as text."""
    return CW if tag == "cw" else marker(tag)


def fetch(world: World, surface: Surface) -> str:
    """The HTML of a surface: the built file, or the app's answer."""
    if surface.kind == "site":
        path = world.output / surface.path(world).strip("/") / "index.html"
        return path.read_text(encoding="utf-8")
    client = world.desk.client if surface.kind == "desk" else world.app.test_client()
    response = client.get(surface.path(world))
    assert response.status_code == 200, f"{surface}: {response.status_code}"
    return response.get_data(as_text=True)


def assert_only_theme_scripts(page: Html, where: str) -> None:
    """No script runs but the theme's own file (no inline code)."""
    for script in scripts(page):
        assert (script.attrs.get("src") or "").startswith("/theme/js/"), where
        assert script.text == "", where


def assert_markup_inert(text: str, where: str) -> Html:
    """The HTML ``text`` holds no live markup; return it parsed."""
    assert "<script>window.__pwned" not in text, f"{where}: a payload's <script>"
    page = Html(text)
    assert_inert(page, where)
    assert_only_theme_scripts(page, where)
    return page


# --- 1. hostile text, in the HTML ------------------------------------------------


@pytest.mark.parametrize("surface", SURFACES, ids=str)
def test_surface_shows_hostile_text_as_text(world: World, surface: Surface) -> None:
    page = assert_markup_inert(fetch(world, surface), surface.name)
    text = page.one("body").text
    for tag in surface.shows:
        assert shown(tag) in text, f"{surface}: {tag} is not shown as typed"
    if surface.shows:
        assert TEMPLATE_TEXT in text, f"{surface}: template text was evaluated"
    if surface.website_link:
        (link,) = [a for a in page.find_all("a") if a.attrs.get("href") == CW]
        assert link.attrs.get("rel") == "nofollow ugc noopener"
        assert link.text == CN


def test_every_built_file_is_inert(world: World) -> None:
    """Every page of output/ (lists, archives, tags, the post, the article)."""
    pages = sorted(world.output.rglob("*.html"))
    assert len(pages) > 20
    for path in pages:
        assert_markup_inert(path.read_text(encoding="utf-8"), str(path))
    # The quote reads exactly as the reader typed it.
    post = Html.load(world.output / world.post_path.strip("/") / "index.html")
    (quote,) = post.find_all("blockquote")
    assert quote.text == " ".join(FM.split())


def feed_texts(path: Path) -> list[tuple[str, str]]:
    """Every (type, text) construct of a feed that a reader shows: Atom's by
    their ``type``, RSS's description as HTML and its title as HTML too."""
    root = ET.parse(path).getroot()  # noqa: S314 (our own build output)
    found: list[tuple[str, str]] = []
    if root.tag == f"{ATOM}feed":
        for element in root.iter():
            local = element.tag.removeprefix(ATOM)
            if local in ("title", "subtitle", "summary", "content", "rights", "name"):
                found.append((element.attrib.get("type", "text"), element.text or ""))
    else:
        for element in root.iter():
            if element.tag in ("title", "description"):
                found.append(("html", element.text or ""))
    return found


def test_every_feed_carries_hostile_text_as_text(world: World) -> None:
    """The comment feeds and the site's Atom and RSS feeds: every piece of
    HTML in them is inert once parsed, and the hostile text is in it as text."""
    feeds = {str(p.relative_to(world.output)): p for p in world.output.rglob("*.xml")}
    comments = f"{ARTICLE}comments.atom.xml"
    assert {"feeds/all.atom.xml", "feeds/all.rss.xml", comments} <= set(feeds)
    shown_in: dict[str, str] = {}
    for name, path in feeds.items():
        for kind, text in feed_texts(path):
            assert kind in ("text", "html"), f"{name}: type={kind}"
            if kind == "html":
                fragment = assert_markup_inert(f"<div>{text}</div>", name)
                assert scripts(fragment) == [], name
                text = fragment.elements[0].text
            shown_in[name] = shown_in.get(name, "") + " " + text
    for tag in ("cb", "cn", "ar"):
        assert marker(tag) in shown_in[comments], tag
    assert marker("fm") in shown_in["feeds/all.atom.xml"]  # the quote in the post
    assert len(read_feed(feeds[comments]).findall(f"{ATOM}entry")) == 2


def test_refused_forms_are_shown_again_inert(world: World) -> None:
    """A script URL as website, a bad address: refused, the text kept, inert."""
    client = behind_proxy(world.app.test_client())
    with get_db(world.app).read() as session:
        before = (
            session.scalar(select(func.count(Comment.id))),
            session.scalar(select(func.count(Feedback.id))),
        )
    for website in SCRIPT_URLS:
        response = Commenter(client).post(
            name=CN, email="sam@example.org", website=website, body=CB
        )
        assert response.status_code == 422, website
        page = Html(response.get_data(as_text=True))
        (field_,) = page.find_all("input", name="website")
        assert field_.attrs.get("inputmode") == "url"
        assert field_.attrs.get("value") == website.strip()  # kept, in a field
        # The field's own value is text in an input, not a URL: check the rest.
        page.elements = [e for e in page.elements if e is not field_]
        assert_inert(page, f"the comment form again, website {website!r}")
        assert_only_theme_scripts(page, "the comment form again")
        assert marker("cb") in page.one("textarea", name="body").text
        assert not [
            a for a in page.find_all("a") if "__pwned" in (a.attrs.get("href") or "")
        ]
    response = Reader(client).send(message=FM, name=FN, email="not-an-address@")
    assert response.status_code == 422
    page = assert_markup_inert(response.get_data(as_text=True), "feedback form again")
    assert marker("fm") in page.one("textarea", name="message").text
    with get_db(world.app).read() as session:
        after = (
            session.scalar(select(func.count(Comment.id))),
            session.scalar(select(func.count(Feedback.id))),
        )
    assert after == before


def mails(world: World) -> list[EmailMessage]:
    """Every message the sender delivered to the maildir, parsed."""
    box = mailbox.Maildir(world.site / "maildir", factory=None, create=False)
    found = []
    for key in sorted(box.keys()):
        message = message_from_bytes(box.get_bytes(key), policy=default_policy)
        assert isinstance(message, EmailMessage)
        found.append(message)
    return found


def test_mail_carries_hostile_text_only_as_plain_text(world: World) -> None:
    """Readers' text goes out as text; an author's answer may have an HTML
    alternative, rendered by the sanitiser: inert like the site's pages."""
    kinds = {m.message_id: m.kind for m in outbox(world.app)}
    bodies: dict[str, str] = {}
    for message in mails(world):
        kind = kinds[message["Message-ID"]]
        for part in message.walk():
            if part.is_multipart():
                assert part.get_content_type() == "multipart/alternative"
                continue
            assert part.get_content_disposition() is None  # no attachment either
            if part.get_content_type() == "text/html":
                assert kind == "reply-to-reader", message["Subject"]
                assert_markup_inert(part.get_content(), f"{kind}'s HTML part")
            else:
                assert part.get_content_type() == "text/plain", message["Subject"]
        text = message.get_body(preferencelist=("plain",))
        assert text is not None
        bodies[kind] = bodies.get(kind, "") + text.get_content()
    # Each field went out as the very text that was typed.
    for kind, fields in {
        "feedback-to-author": ("fm",),
        "follow-up-to-author": ("fu",),
        "comment-to-author": ("cb", "cb2"),
        "reply-to-reader": ("ap", "fm"),
    }.items():
        for tag in fields:
            assert marker(tag) in bodies[kind], (kind, tag)
    assert FN in bodies["feedback-to-author"]
    assert CN in bodies["comment-to-author"]


# --- 2. hostile text, in Chromium --------------------------------------------------

# Set before any page script: web and same-origin navigations from a click are
# held back (the page stays to be checked); javascript: and data: ones are not.
HOLD_NAVIGATION = """
document.addEventListener("click", (event) => {
  const link = event.target instanceof Element && event.target.closest("a[href]");
  if (link && /^(https?|mailto):$/.test(link.protocol)) event.preventDefault();
}, true);
"""
# Every link of the page: pointed at, focused and clicked.
TOUCH_LINKS = """
() => {
  const links = Array.from(document.querySelectorAll("a[href], area[href]"));
  for (const link of links) {
    for (const type of ["mouseover", "mouseenter", "focus"]) {
      link.dispatchEvent(new Event(type));
    }
    link.dispatchEvent(new MouseEvent("click", {bubbles: true, cancelable: true}));
  }
  return links.length;
}
"""
# What in the DOM could run: handlers, script URLs, scripts but the theme's.
LIVE_MARKUP = """
() => {
  const found = [];
  for (const el of document.querySelectorAll("*")) {
    for (const attr of el.attributes) {
      if (attr.name.toLowerCase().startsWith("on")) {
        found.push(`<${el.localName} ${attr.name}>`);
      }
    }
    for (const name of ["href", "src", "action", "formaction", "srcdoc"]) {
      const value = (el.getAttribute(name) || "").replace(/[\\x00-\\x20]/g, "");
      if (/^(javascript|vbscript|data):/i.test(value) || name === "srcdoc" && value) {
        found.push(`<${el.localName} ${name}=${value}>`);
      }
    }
  }
  for (const el of document.querySelectorAll(
      "iframe, frame, object, embed, svg, math, img, base, meta[http-equiv]")) {
    found.push(`<${el.localName}>`);
  }
  for (const script of document.scripts) {
    const theirs = !script.src.startsWith(location.origin + "/theme/js/");
    if (script.textContent.trim() || theirs) {
      found.push(`<script src=${script.src}>${script.textContent.slice(0, 80)}`);
    }
  }
  return found;
}
"""
HAS_LINK_TO = """
href => [...document.querySelectorAll("a")].some(a => a.getAttribute("href") === href)
"""
BROWSER = {
    # Only the markup may stop a payload: no Content-Security-Policy.
    "bypass_csp": True,
    "extra_http_headers": {"X-Forwarded-For": IP},
}


class Watch:
    """What a page did that it must not: dialogs, CSP reports in the console."""

    def __init__(self, page: Page) -> None:
        self.dialogs: list[str] = []
        self.csp: list[str] = []
        page.on("dialog", self._dialog)
        page.on("console", self._console)

    def _dialog(self, dialog: Any) -> None:
        self.dialogs.append(dialog.message)
        dialog.dismiss()

    def _console(self, message: Any) -> None:
        if "Content Security Policy" in message.text:
            self.csp.append(message.text)


@contextmanager
def watched_context(browser: Browser) -> Iterator[BrowserContext]:
    """A browser context (own cookies) whose clicks leave no page."""
    with new_page(browser, **BROWSER) as page:
        page.context.add_init_script(HOLD_NAVIGATION)
        page.close()
        yield page.context


@pytest.fixture(scope="module")
def reader_context(browser: Browser) -> Iterator[BrowserContext]:
    with watched_context(browser) as context:
        yield context


@pytest.fixture(scope="module")
def author_context(browser: Browser, world: World) -> Iterator[BrowserContext]:
    """Maya's browser, signed in to the desk through its form."""
    with watched_context(browser) as context:
        page = context.new_page()
        sign_in(page, world)
        page.close()
        yield context


def touch_everything(page: Page) -> None:
    """Point at and click the commenter's name links with the mouse, then
    every link of the page with synthetic events."""
    for link in page.locator(".comment-author a").all():
        link.hover()
        link.click()
    assert page.evaluate(TOUCH_LINKS) > 0
    page.wait_for_timeout(150)  # a javascript: navigation runs as a task


def assert_nothing_ran(page: Page, watch: Watch, where: str) -> None:
    assert page.evaluate("window.__pwned") is None, f"{where}: a payload ran"
    assert watch.dialogs == [], f"{where}: dialogs {watch.dialogs}"
    assert watch.csp == [], f"{where}: only the CSP stopped something"
    assert page.evaluate(LIVE_MARKUP) == [], where


@pytest.mark.browser
@pytest.mark.parametrize("surface", SURFACES, ids=str)
def test_no_payload_runs_in_chromium(
    world: World,
    reader_context: BrowserContext,
    author_context: BrowserContext,
    surface: Surface,
) -> None:
    context = author_context if surface.kind == "desk" else reader_context
    page = context.new_page()
    try:
        watch = Watch(page)
        response = page.goto(surface.url(world))
        assert response is not None
        assert response.status == 200
        touch_everything(page)
        assert_nothing_ran(page, watch, surface.name)
        text = page.inner_text("body")
        for tag in surface.shows:
            assert shown(tag) in text, f"{surface}: {tag} is not shown"
        if surface.website_link:
            assert page.evaluate(HAS_LINK_TO, CW)
    finally:
        page.close()


@pytest.mark.browser
def test_refused_forms_in_chromium_stay_inert(
    world: World, reader_context: BrowserContext
) -> None:
    page = reader_context.new_page()
    try:
        watch = Watch(page)
        open_article(page, world)
        form = reply_form(page)
        fill_comment(form, CB, CN, "sam@example.org", SCRIPT_URLS[0])
        page.eval_on_selector("form[data-comment-form]", "f => f.noValidate = true")
        form.get_by_role("button", name="Post comment").click()
        expect(page).to_have_url(re.compile(r"/app/comments$"))
        expect(page.get_by_role("alert")).to_be_visible()
        expect(page.get_by_label(re.compile(r"^Website"))).to_have_value(SCRIPT_URLS[0])
        touch_everything(page)
        assert_nothing_ran(page, watch, "the comment form again")

        open_article(page, world)
        page.eval_on_selector(FEEDBACK_FORM, "f => f.noValidate = true")
        send_feedback(page, FM, email="not-an-address@")
        expect(page).to_have_url(re.compile(r"/app/feedback$"))
        expect(page.get_by_label("Your message")).to_have_value(FM)
        touch_everything(page)
        assert_nothing_ran(page, watch, "the feedback form again")
    finally:
        page.close()


# --- 3. privacy ---------------------------------------------------------------------


def disguises(secret: str) -> set[str]:
    """Forms in which ``secret`` (an address or an IP) could leak."""
    low = secret.lower()
    forms = {low, quote(low, safe="")}
    forms |= {low.replace("@", at) for at in ("&#64;", "&#x40;", "&commat;", "%40")}
    forms.add(hashlib.md5(low.encode(), usedforsecurity=False).hexdigest())
    forms.add(hashlib.sha256(low.encode()).hexdigest())
    if "@" in low:
        forms.add(low.split("@")[0])  # the (distinctive) local part alone
    return forms


def leaks(text: str, secrets: Iterable[str]) -> list[str]:
    """The secrets found in ``text``, however encoded."""
    versions = {text.lower(), html.unescape(text).lower(), unquote(text).lower()}
    return [
        secret
        for secret in secrets
        if any(form in version for form in disguises(secret) for version in versions)
    ]


def test_no_address_or_ip_in_the_built_site_or_its_sources(world: World) -> None:
    """output/ (pages, feeds, everything), the comment files, the post, the
    site index: not one reader's address, in any form, nor the IP."""
    files = snapshot(world.app)["files"]  # content/, comments, output/
    files[str(world.site / "site.json")] = (world.site / "site.json").read_bytes()
    assert any(name.endswith(".xml") for name in files)
    assert any(name.endswith(".json") and "comments" in name for name in files)
    for name, data in files.items():
        found = leaks(data.decode("utf-8", "replace"), [*READERS, IP])
        assert found == [], f"{found} in {name}"


def reader_pages(world: World, client: FlaskClient) -> dict[str, TestResponse]:
    """Every page the app shows readers, fetched by ``client``."""
    with world.app.test_request_context():
        unsubscribe = urlsplit(unsubscribe_url(COMMENTER_MAIL)).path
    paths = [
        f"/r/{world.token}/thanks",
        f"/r/{world.token}",
        f"/r/{world.token}/delete",
        "/deleted",
        *world.posted.values(),
        f"/comments/reply/{world.c1}",
        world.confirm_path,
        unsubscribe,
        f"/form-ticket?article={ARTICLE}",
        "/health",
        "/r/" + "x" * 43,
        "/comments/posted/not-a-ticket",
        f"/comments/reply/{world.c2}",  # held: not published
        "/no-such-page",
        "/desk/",  # signed out: to the sign-in page
        "/desk/sign-in",
    ]
    pages = {path: client.get(path) for path in paths}
    pages["POST /feedback, no such article"] = client.post(
        "/feedback",
        data={"article": "nope", "message": "x"},
        headers={"Origin": ORIGIN},
    )
    pages["POST /comments, bad address"] = Commenter(client).post(email="bad@")
    return pages


def assert_no_leak(response: TestResponse, what: str, secrets: Iterable[str]) -> None:
    text = response.get_data(as_text=True) + str(response.headers)
    assert leaks(text, secrets) == [], f"{what} ({response.status_code})"


def test_a_stranger_sees_no_readers_address_and_no_ip(world: World) -> None:
    """Anyone holding the links (the reply page's, the posted pages', the
    mailed ones) and anyone else: no address of any reader, no IP."""
    stranger = world.app.test_client()
    pages = reader_pages(world, stranger)
    assert {r.status_code for r in pages.values()} >= {200, 303, 400, 404, 422}
    for what, response in pages.items():
        assert_no_leak(response, what, [*READERS, IP])


def test_readers_see_only_their_own_address(world: World) -> None:
    """The reply page masks its own reader's address (README: never shown in
    full, not even there); a commenter who asked to be remembered finds their
    own address in the reply form, and nobody else's."""
    for what, response in reader_pages(world, world.reader.client).items():
        assert_no_leak(response, f"the reader: {what}", [*READERS, IP])
    own = world.reader.client.get(f"/r/{world.token}").get_data(as_text=True)
    assert "p•••@example.org" in own

    remembered = world.commenter.client.get(f"/comments/reply/{world.c1}")
    assert remembered.status_code == 200
    field_ = Html(remembered.get_data(as_text=True)).one("input", name="email")
    assert field_.attrs.get("value") == COMMENTER_MAIL
    others = [m for m in READERS if m != COMMENTER_MAIL]
    for what, response in reader_pages(world, world.commenter.client).items():
        assert_no_leak(response, f"the commenter: {what}", [*others, IP])


def test_the_desk_shows_addresses_to_the_author_but_no_ip(world: World) -> None:
    """The author may see how to reach a reader: the desk shows the address
    (which also shows that the search above would find one), never an IP."""
    item = world.desk.get(f"/desk/feedback/{world.feedback_id}")
    assert leaks(item.get_data(as_text=True), [READER_MAIL]) == [READER_MAIL]
    comment = world.desk.get(f"/desk/comments/{world.c1}")
    assert leaks(comment.get_data(as_text=True), [COMMENTER_MAIL]) == [COMMENTER_MAIL]
    for surface in SURFACES:
        if surface.kind == "desk":
            assert leaks(fetch(world, surface), [IP]) == [], surface.name


def test_the_database_keeps_the_ip_only_as_keyed_hashes(world: World) -> None:
    secret = world.app.secret_key
    assert isinstance(secret, str)
    with get_db(world.app).read() as session:
        buckets = set(session.scalars(select(RateEvent.bucket)))
        hashes = set(session.scalars(select(SignInFailure.client_hash)))
    # The proxy's word reached the app: the posts and the failed sign-in
    # were counted under the reader's address, keyed...
    assert f"address:{address_key(IP, secret)}" in buckets
    assert address_key(IP, secret) in hashes
    # ...and nowhere is it in clear, nor hashed without the key.
    tables = snapshot(world.app)["tables"]
    assert leaks(repr(tables), [IP]) == []
    database = sorted(world.site.glob("feedback.sqlite3*"))
    assert database
    for path in database:
        assert leaks(path.read_bytes().decode("latin-1"), [IP]) == [], path.name


def test_mail_to_a_reader_names_no_other_reader_and_no_ip(world: World) -> None:
    to_readers = 0
    for message in mails(world):
        text = message.as_string()
        assert leaks(text, [IP]) == [], message["Subject"]
        recipient = str(message["To"]).strip("<>").lower()
        if recipient != AUTHOR_MAIL:
            to_readers += 1
            others = [m for m in READERS if m.lower() != recipient]
            assert leaks(text, others) == [], message["Subject"]
    assert to_readers >= 2  # the answer to the feedback, the confirmation


# --- 4. nothing remembered without consent ------------------------------------------


def storage(page: Page) -> list[int]:
    return page.evaluate("[localStorage.length, sessionStorage.length]")


@pytest.mark.browser
def test_remembering_the_commenter_needs_consent(
    browser: Browser, world: World
) -> None:
    mail, name, website = "ola.k7q@example.org", "Ola Nilsson", "https://ola.example/"
    with new_page(browser, **BROWSER) as page:
        open_article(page, world)
        form = reply_form(page)
        expect(form.get_by_label(SAVE_ME)).not_to_be_checked()  # off by default
        form.get_by_label(re.compile(r"^Comment")).fill("First visit.")
        form.get_by_label(re.compile(r"^Name")).fill(name)
        form.get_by_label(re.compile(r"^E-mail")).fill(mail)
        post_comment(form)  # the box left as it was
        assert page.context.cookies() == []
        assert storage(page) == [0, 0]
        open_article(page, world)
        expect(reply_form(page).get_by_label(re.compile(r"^Name"))).to_have_value("")
        assert storage(page) == [0, 0]

        fill_comment(reply_form(page), "Second visit.", name, mail, website, True)
        post_comment(reply_form(page))
        (cookie,) = [c for c in page.context.cookies() if c["name"] == COOKIE]
        assert cookie["sameSite"] == "Lax"
        assert cookie["expires"] > time.time() + 300 * 86400  # kept, as asked
        open_article(page, world)
        form = reply_form(page)
        expect(form.get_by_label(re.compile(r"^Name"))).to_have_value(name)
        expect(form.get_by_label(re.compile(r"^E-mail"))).to_have_value(mail)
        expect(form.get_by_label(re.compile(r"^Website"))).to_have_value(website)
        expect(form.get_by_label(SAVE_ME)).to_be_checked()
        assert storage(page) == [0, 0]

        fill_comment(form, "Third visit.", name, remember=False)
        post_comment(form)
        assert COOKIE not in cookie_names(page)
        open_article(page, world)
        expect(reply_form(page).get_by_label(re.compile(r"^Name"))).to_have_value("")


@pytest.mark.browser
def test_reading_and_sending_feedback_leave_nothing_in_the_browser(
    browser: Browser, world: World
) -> None:
    with new_page(browser, **BROWSER) as page:
        for path in ("/", ARTICLE_PATH, "/about/", "/archives/", world.post_path):
            response = page.goto(world.url + path)
            assert response is not None
            assert response.status == 200, path
        for path in (world.posted[world.c1], f"/comments/reply/{world.c1}"):
            response = page.goto(world.url + "/app" + path)
            assert response is not None
            assert response.status == 200, path
        assert page.context.cookies() == []

        open_article(page, world)
        send_feedback(page, "A private note, nothing more.")
        expect(page).to_have_url(THANKS_URL)
        assert page.context.cookies() == []
        assert storage(page) == [0, 0]

        # The reply page's forms carry a CSRF token, kept in a session cookie:
        # that token only, for this browser session, out of scripts' reach.
        follow_reply_link(page)
        (cookie,) = page.context.cookies()
        assert cookie["name"] == world.app.config["SESSION_COOKIE_NAME"]
        assert cookie["httpOnly"] is True
        assert cookie["sameSite"] == "Lax"
        assert cookie["expires"] == -1  # ends with the browser session
        serializer = world.app.session_interface.get_signing_serializer(world.app)
        assert serializer is not None
        assert set(serializer.loads(cookie["value"])) == {"csrf_token"}
        assert storage(page) == [0, 0]


# --- 5. found here and fixed: an author's text in a post as live HTML --------------


def live_markup_in(output: Path) -> list[str]:
    """What ``assert_markup_inert`` finds in each built page of ``output``."""
    found = []
    for path in sorted(output.rglob("*.html")):
        try:
            assert_markup_inert(path.read_text(encoding="utf-8"), str(path))
        except AssertionError as exc:
            found.append(str(exc).splitlines()[0])
    return found


def a_quotable_feedback(app: Flask) -> int:
    Reader(app.test_client()).send_and_follow(message="Plain words.", may_quote="y")
    with get_db(app).read() as session:
        return session.scalars(select(Feedback.id)).one()


def test_an_authors_answer_in_a_post_is_published_inert(
    publishing_app: Flask, pub_desk: Desk
) -> None:
    feedback_id = a_quotable_feedback(publishing_app)
    drafted = public_answer(
        pub_desk, feedback_id, answer=hostile_text("pa"), summary=hostile_line("ps")
    )
    # Refused with the reason, as the post editor refuses it, and no file.
    assert drafted.status_code == 422
    assert "The desk does not publish" in drafted.text
    assert drafts_in(publishing_app) == []
    assert live_markup_in(Path(publishing_app.config["OUTPUT_PATH"])) == []


def test_a_summary_edited_in_the_desk_is_published_inert(
    publishing_app: Flask, pub_desk: Desk
) -> None:
    feedback_id = a_quotable_feedback(publishing_app)
    assert public_answer(pub_desk, feedback_id).status_code == 303
    (draft,) = drafts_in(publishing_app)
    fields = {
        "title": "T",
        "category": "C",
        "body": "Plain.",
        "summary": hostile_line("ps"),
    }
    saved = pub_desk.post(f"/desk/feedback/{feedback_id}/post", fields)
    assert saved.status_code == 422
    assert "The desk does not publish" in saved.text
    assert "Summary" not in draft.read_text(encoding="utf-8")  # file untouched
    published = pub_desk.post(f"/desk/feedback/{feedback_id}/post/publish")
    assert published.status_code == 303
    assert live_markup_in(Path(publishing_app.config["OUTPUT_PATH"])) == []


def test_a_title_with_an_underscore_can_be_answered_in_a_post(
    app: Flask, reader: Reader, desk: Desk
) -> None:
    reader.send_and_follow(message="What about snake_case?", may_quote="y")
    with get_db(app).read() as session:
        feedback_id = session.scalars(select(Feedback.id)).one()
    drafted = public_answer(desk, feedback_id, title="Why snake_case names sell")
    assert drafted.status_code == 303, drafted.status_code
