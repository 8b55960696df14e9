"""The author's desk: who may see and change what, signing in, sessions.

Each defence is tested by doing what it stops, for real: a refused request
carries everything it would need to succeed otherwise (a valid CSRF token,
valid form data), and the whole database and the content folder are
compared before and after. Where it matters, the same request is then made
as someone allowed, to show it would have changed something.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import delete, func, select, update
from werkzeug.security import generate_password_hash
from werkzeug.test import TestResponse

from feedback_app import create_app
from feedback_app.core.db import get_db, upgrade
from feedback_app.core.models import (
    Author,
    Base,
    Comment,
    DeskSession,
    Feedback,
    FeedbackMessage,
    SignInFailure,
    utcnow,
)
from feedback_app.desk import auth
from feedback_app.site import drafts
from feedback_app.site.index import SiteIndex
from feedback_app.store import comments as cm
from feedback_app.store.feedback import submit_feedback

from ..conftest import (
    ARTICLE,
    MAYA,
    PASSWORD,
    ROOT,
    TOMAS,
    TOMAS_ARTICLE,
    Commenter,
    Desk,
    add_author,
    csrf_token,
    outbox,
)

EDITOR = "Edith Editor"
READER = "reader@example.org"  # sent feedback about both authors' articles
COMMENTER = "ana@example.org"  # the conftest commenter's address
MAYA_TEXT = "Where did the script go, Maya"
TOMAS_TEXT = "Nobody answers my follow-ups, Tomas"
WRONG = "not the password"
# scrypt as the app stores it, at a lower cost: these tests sign in often.
FAST_HASH = generate_password_hash(PASSWORD, method="scrypt:1024:8:1")


# --- helpers ------------------------------------------------------------------


def make_author(app: Flask, name: str, email: str, role: str = "author") -> None:
    """Create an account whose password is PASSWORD (cheaply hashed)."""
    with get_db(app).write() as session:
        session.add(
            Author(
                name=name,
                email=email,
                role=role,
                password_hash=FAST_HASH,
                password_changed_at=utcnow(),
            )
        )


def desk_of(app: Flask, name: str, password: str = PASSWORD) -> Desk:
    desk = Desk(app.test_client())
    assert desk.sign_in(name, password).status_code == 303
    return desk


def new_feedback(
    app: Flask,
    slug: str,
    message: str,
    *,
    email: str | None = None,
    state: str = "new",
    post: bool = False,
) -> int:
    """Store a feedback about ``slug`` (with a draft post answering it)."""
    site = app.extensions["site_index"].current()
    article = site.articles[slug]
    with get_db(app).write() as session:
        feedback, _ = submit_feedback(
            session,
            article,
            message=message,
            email=email,
            may_quote=True,
            secret=app.secret_key,
        )
        feedback.state = state
        if post:
            draft = drafts.new_post(
                app.config,
                site,
                feedback,
                article,
                author=article.authors[0],
                title=f"Reader mail {feedback.id}",
                answer="My answer.",
                summary="",
                category="Reader mail",
                tags="",
            )
            feedback.post_slug = draft.slug
            feedback.post_source = draft.source
        return feedback.id


def snapshot(app: Flask) -> dict[str, Any]:
    """Return every row of every table, and every file the desk may write."""
    tables: dict[str, Any] = {}
    with get_db(app).read() as session:
        for table in Base.metadata.sorted_tables:
            rows = session.execute(select(table)).all()
            tables[table.name] = sorted((tuple(r) for r in rows), key=repr)
    files: dict[str, bytes] = {}
    for key in ("CONTENT_PATH", "COMMENTS_PATH", "OUTPUT_PATH"):
        root = Path(app.config[key])
        if root.exists():
            files |= {str(p): p.read_bytes() for p in root.rglob("*") if p.is_file()}
    return {"tables": tables, "files": files}


def send(client: FlaskClient, method: str, path: str, data: dict) -> TestResponse:
    if method == "GET":
        return client.get(path)
    return client.post(path, data=data)


def is_signed_in(desk: Desk) -> bool:
    """Tell whether a desk session is still signed in."""
    response = desk.get("/desk/")
    assert response.status_code in (200, 303), response.status_code
    return response.status_code == 200


def to_sign_in(response: TestResponse) -> bool:
    """Tell whether a response sends the browser to the sign-in page."""
    return (
        response.status_code == 303
        and urlsplit(response.location).path == "/desk/sign-in"
    )


def badges(html: str) -> tuple[int, int]:
    """Return the nav's counts: new feedback and pending comments (0: none)."""
    nav = re.search(r'<nav class="desk-nav".*?</nav>', html, re.S).group(0)
    found = []
    for label in ("Feedback", "Comments"):
        m = re.search(rf'>{label} <span class="count-badge">(\d+)<', nav)
        found.append(int(m.group(1)) if m else 0)
    return found[0], found[1]


def sign_in_error(html: str) -> str:
    found = re.search(r'<div class="notice error" role="alert"><p>(.*?)</p>', html)
    return found.group(1) if found else ""


def attempt(
    app: Flask,
    name: str,
    password: str,
    *,
    address: str = "127.0.0.1",
    next_: str | None = None,
) -> TestResponse:
    """Try to sign in from a fresh browser at ``address``."""
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    page = client.get("/desk/sign-in")
    data = {"csrf_token": csrf_token(page.text), "name": name, "password": password}
    if next_ is not None:
        data["next"] = next_
    return client.post("/desk/sign-in", data=data)


def failures(app: Flask) -> list[SignInFailure]:
    with get_db(app).read() as session:
        return list(session.scalars(select(SignInFailure).order_by(SignInFailure.id)))


def age_failures(app: Flask, seconds: float, *, oldest_only: bool = False) -> None:
    """Move recorded sign-in failures ``seconds`` into the past."""
    with get_db(app).write() as session:
        rows = session.scalars(
            select(SignInFailure).order_by(SignInFailure.created_at)
        ).all()
        for row in rows[:1] if oldest_only else rows:
            row.created_at -= timedelta(seconds=seconds)


def throttle(app: Flask, **limits: int) -> None:
    """Set the sign-in throttle; limits not given are out of the way."""
    app.config.update(
        SIGNIN_WINDOW_MINUTES=15,
        SIGNIN_SLOW_AFTER=100,
        SIGNIN_LOCK_AFTER=100,
        SIGNIN_LOCK_AFTER_CLIENT=100,
    )
    app.config.update({f"SIGNIN_{k.upper()}": v for k, v in limits.items()})


def author(app: Flask, name: str) -> Author | None:
    with get_db(app).read() as session:
        return session.scalar(select(Author).where(Author.name == name))


def set_role(app: Flask, name: str, role: str) -> None:
    with get_db(app).write() as session:
        session.execute(update(Author).where(Author.name == name).values(role=role))


def isolate_publishing(app: Flask, tmp_path: Path) -> None:
    """Keep the site every test shares safe from a publish that goes through.

    The site index is a copy, the output folder this test's own, and Pelican
    fails at once: a publish still marks the post published (which shows in
    the content folder), without the cost of a build.
    """
    index = tmp_path / "site.json"
    index.write_bytes(Path(app.config["SITE_INDEX_PATH"]).read_bytes())
    app.config["SITE_INDEX_PATH"] = str(index)
    app.extensions["site_index"] = SiteIndex(str(index))
    app.config["OUTPUT_PATH"] = str(tmp_path / "output")
    settings = tmp_path / "failing-pelicanconf.py"
    # The desk reads the settings itself (to render posts as Pelican will):
    # only the build, a `python -m pelican` process, is stopped.
    settings.write_text(
        "import sys\n"
        "if 'pelican' in sys.argv[0]:\n"
        "    raise SystemExit('no builds in these tests')\n"
        f"sys.path.insert(0, {str(ROOT)!r})\n"
        "from pelicanconf import *\n"
    )
    app.config["PELICAN_SETTINGS"] = str(settings)


# --- a desk with something in it ----------------------------------------------


@dataclass(frozen=True)
class Items:
    """One author's items: what each route is tried on."""

    feedback: int  # new, from READER, with a draft post answering it
    plain: int  # new, no post yet
    comment: int  # pending


@dataclass(frozen=True)
class World:
    """Maya's, Tomás's and an editor's accounts; feedback and comments.

    Maya's items are made first and have the lower ids: a bulk action that
    changed them before noticing a foreign id would show.
    """

    maya: Items
    tomas: Items
    # The nav's expected counts: new feedback, pending comments.
    maya_counts = (2, 1)
    tomas_counts = (3, 2)


@pytest.fixture
def world(app: Flask, commenter: Commenter, tmp_path: Path) -> Iterator[World]:
    isolate_publishing(app, tmp_path)
    make_author(app, MAYA, "maya@example.org")
    make_author(app, TOMAS, "tomas@example.org")
    make_author(app, EDITOR, "edith@example.org", role="editor")
    maya = Items(
        new_feedback(app, ARTICLE, MAYA_TEXT, email=READER, post=True),
        new_feedback(app, "2026/reader-mail-easy-to-say-without-a-quota/", MAYA_TEXT),
        commenter.post_ok(article=ARTICLE, body=MAYA_TEXT).id,
    )
    tomas = Items(
        new_feedback(app, TOMAS_ARTICLE, TOMAS_TEXT, email=READER, post=True),
        new_feedback(app, TOMAS_ARTICLE, TOMAS_TEXT + " (2)"),
        commenter.post_ok(article=TOMAS_ARTICLE, body=TOMAS_TEXT).id,
    )
    new_feedback(app, TOMAS_ARTICLE, TOMAS_TEXT + " (3)")
    new_feedback(app, TOMAS_ARTICLE, TOMAS_TEXT + " (read)", state="read")
    commenter.post_ok(article=TOMAS_ARTICLE, body=TOMAS_TEXT + " (2)")
    with get_db(app).read() as session:
        states = session.scalars(select(Comment.state)).all()
    assert set(states) == {"pending"}
    yield World(maya, tomas)
    app.extensions["publisher"].wait_idle()  # comment files written, if any


# Every desk page and every change, as (method, path, form data) on one
# author's items. The data is valid: let through, each POST changes something.
Route = Callable[[Items], tuple[str, str, dict[str, Any]]]
LIST_GETS: dict[str, Route] = {
    "inbox": lambda i: ("GET", "/desk/", {}),
    "inbox-filtered": lambda i: (
        "GET",
        f"/desk/?view=new&article={ARTICLE}&q=script&page=1",
        {},
    ),
    "comments": lambda i: ("GET", "/desk/comments", {}),
    "comments-filtered": lambda i: (
        "GET",
        f"/desk/comments?view=pending&article={ARTICLE}",
        {},
    ),
}
ITEM_GETS: dict[str, Route] = {
    "feedback": lambda i: ("GET", f"/desk/feedback/{i.feedback}", {}),
    "post": lambda i: ("GET", f"/desk/feedback/{i.feedback}/post", {}),
    "comment": lambda i: ("GET", f"/desk/comments/{i.comment}", {}),
}
ITEM_POSTS: dict[str, Route] = {
    "feedback-state": lambda i: (
        "POST",
        f"/desk/feedback/{i.feedback}/state",
        {"action": "spam"},
    ),
    "feedback-bulk": lambda i: (
        "POST",
        "/desk/feedback/bulk",
        {"ids": [i.feedback], "action": "archive"},
    ),
    "answer": lambda i: (
        "POST",
        f"/desk/feedback/{i.feedback}/answer",
        {"answer": "Thank you!", "send_to": "private"},
    ),
    "answer-in-post": lambda i: (
        "POST",
        f"/desk/feedback/{i.plain}/answer",
        {"answer": "Thank you!", "send_to": "post", "title": "A new post"},
    ),
    "save-post": lambda i: (
        "POST",
        f"/desk/feedback/{i.feedback}/post",
        {"title": "Changed by someone", "category": "Notes", "body": "Changed."},
    ),
    "publish": lambda i: ("POST", f"/desk/feedback/{i.feedback}/post/publish", {}),
    "comment-state": lambda i: (
        "POST",
        f"/desk/comments/{i.comment}/state",
        {"action": "delete", "confirmed": "yes"},
    ),
    "comments-bulk": lambda i: (
        "POST",
        "/desk/comments/bulk",
        {"ids": [i.comment], "action": "approve"},
    ),
    "comment-edit": lambda i: (
        "POST",
        f"/desk/comments/{i.comment}/edit",
        {"name": "Changed", "website": "", "body": "Changed."},
    ),
    "comment-reply": lambda i: (
        "POST",
        f"/desk/comments/{i.comment}/reply",
        {"body": "The author replies."},
    ),
}
READER_ROUTES: dict[str, Route] = {
    "readers": lambda i: ("GET", "/desk/readers", {}),
    "readers-lookup": lambda i: ("POST", "/desk/readers", {"email": READER}),
    "readers-export": lambda i: ("POST", "/desk/readers/export", {"email": READER}),
    "readers-erase": lambda i: (
        "POST",
        "/desk/readers/erase",
        {"email": COMMENTER, "confirm": "y"},
    ),
}
READ_ONLY_POSTS = {"readers-lookup", "readers-export"}
ALL_ROUTES = {**LIST_GETS, **ITEM_GETS, **ITEM_POSTS, **READER_ROUTES}
CHANGES = {
    **ITEM_POSTS,
    **{k: v for k, v in READER_ROUTES.items() if k != "readers"},
}


# --- 1. signed out ------------------------------------------------------------


def test_signed_out_requests_go_to_sign_in_and_change_nothing(
    app: Flask, client: FlaskClient, world: World
) -> None:
    """Signed out, every desk page and action sends you to sign in; no more.

    One test over ALL_ROUTES (an app per route would cost seconds); every
    route that misbehaves is listed.
    """
    # A genuine CSRF token of this browser: only the sign-in check can refuse.
    token = csrf_token(client.get("/desk/sign-in").text)
    wrong = {}
    for route, make in ALL_ROUTES.items():
        method, path, data = make(world.maya)
        before = snapshot(app)
        response = send(client, method, path, {"csrf_token": token, **data})
        problems = []
        if not to_sign_in(response):
            problems.append(f"{response.status_code} {response.location}")
        elif method == "GET":
            asked = parse_qs(urlsplit(response.location).query).get("next")
            if asked != [path]:
                problems.append(f"next={asked}")
        if MAYA_TEXT in response.text or READER in response.text:
            problems.append("shows the feedback")
        if snapshot(app) != before:
            problems.append("changed something")
        if problems:
            wrong[route] = problems
    assert wrong == {}


def test_sign_in_returns_to_the_page_asked_for(app: Flask, client: FlaskClient) -> None:
    """The page a signed-out author asked for is where signing in leads."""
    make_author(app, MAYA, "maya@example.org")
    asked = "/desk/comments?view=spam"
    page = client.get(client.get(asked).location)
    assert f'name="next" value="{asked}"' in page.text
    signed = client.post(
        "/desk/sign-in",
        data={
            "csrf_token": csrf_token(page.text),
            "name": MAYA,
            "password": PASSWORD,
            "next": asked,
        },
    )
    assert signed.status_code == 303 and signed.location == asked
    assert client.get(asked).status_code == 200


# --- 2. authors see their own articles only -----------------------------------


@pytest.mark.parametrize("route", {**ITEM_GETS, **ITEM_POSTS})
def test_author_gets_404_for_items_on_anothers_article(
    app: Flask, world: World, route: str
) -> None:
    """Maya can neither see nor change what readers sent about Tomás's article,
    though an editor's same request goes through."""
    method, path, data = {**ITEM_GETS, **ITEM_POSTS}[route](world.tomas)
    maya, editor = desk_of(app, MAYA), desk_of(app, EDITOR)
    before = snapshot(app)
    response = send(maya.client, method, path, {"csrf_token": maya.token, **data})
    assert response.status_code == 404
    assert TOMAS_TEXT not in response.text
    assert snapshot(app) == before
    if route == "comment-reply":
        return  # only an article's own author replies (422 for an editor)
    allowed = send(editor.client, method, path, {"csrf_token": editor.token, **data})
    assert allowed.status_code in (200, 303)
    if route == "publish":
        # Builds fail here, and a failed publish leaves the draft as it was:
        # the editor's request got as far as the build.
        assert "could not be built" in editor.get(allowed.location).text
        assert snapshot(app) == before
        return
    assert (snapshot(app) != before) == (method == "POST")


@pytest.mark.parametrize("kind", ["feedback", "comments"])
def test_bulk_action_with_one_foreign_id_changes_nothing(
    app: Flask, world: World, kind: str
) -> None:
    """A bulk action slipping in a foreign id is refused whole, own ids too."""
    _, path, data = ITEM_POSTS[f"{kind}-bulk"](world.maya)
    field = "feedback" if kind == "feedback" else "comment"
    ids = [getattr(world.maya, field), getattr(world.tomas, field)]
    maya = desk_of(app, MAYA)
    before = snapshot(app)
    response = maya.post(path, {**data, "ids": ids})
    assert response.status_code == 404
    assert snapshot(app) == before
    # The same action on her own item alone goes through.
    assert maya.post(path, {**data, "ids": ids[:1]}).status_code == 303
    assert snapshot(app) != before


def test_author_sees_and_changes_own_items(app: Flask, world: World) -> None:
    """Maya's own feedback, post and comment are hers to open and change."""
    maya = desk_of(app, MAYA)
    for make in ITEM_GETS.values():
        _, path, _ = make(world.maya)
        response = maya.get(path)
        assert response.status_code == 200, path
    assert MAYA_TEXT in maya.get(f"/desk/feedback/{world.maya.feedback}").text
    action = maya.post(
        f"/desk/feedback/{world.maya.feedback}/state", {"action": "spam"}
    )
    assert action.status_code == 303
    with get_db(app).read() as session:
        assert session.get(Feedback, world.maya.feedback).state == "spam"


def test_another_author_cannot_see_mayas_items(app: Flask, world: World) -> None:
    """Tomás gets 404 for Maya's items, and opens his own."""
    tomas = desk_of(app, TOMAS)
    for make in ITEM_GETS.values():
        assert tomas.get(make(world.maya)[1]).status_code == 404
        assert tomas.get(make(world.tomas)[1]).status_code == 200
    before = snapshot(app)
    path = f"/desk/feedback/{world.maya.feedback}/state"
    assert tomas.post(path, {"action": "spam"}).status_code == 404
    assert snapshot(app) == before


def test_editor_sees_everything(app: Flask, world: World) -> None:
    """An editor opens every item, whoever's article it is about."""
    editor = desk_of(app, EDITOR)
    for items in (world.maya, world.tomas):
        for make in ITEM_GETS.values():
            assert editor.get(make(items)[1]).status_code == 200


def test_lists_and_counts_show_only_own_items(app: Flask, world: World) -> None:
    """Inbox, queue, their filters and the nav's counts: one's own articles."""
    maya, tomas, editor = (desk_of(app, n) for n in (MAYA, TOMAS, EDITOR))
    both = tuple(
        m + t for m, t in zip(world.maya_counts, world.tomas_counts, strict=True)
    )
    for who, counts in (
        (maya, world.maya_counts),
        (tomas, world.tomas_counts),
        (editor, both),
    ):
        for page in ("/desk/", "/desk/comments", f"/desk/feedback/{world.maya.plain}"):
            if who is tomas and "feedback" in page:
                continue
            assert badges(who.get(page).text) == counts, (page, counts)

    for page in (
        "/desk/",
        "/desk/?view=read",
        f"/desk/?article={TOMAS_ARTICLE}",
        f"/desk/?view=new&article={TOMAS_ARTICLE}",
        "/desk/?q=follow-ups",
        "/desk/comments",
        f"/desk/comments?view=pending&article={TOMAS_ARTICLE}",
    ):
        html = maya.get(page).text
        assert TOMAS_TEXT not in html, page
        assert f'value="{TOMAS_ARTICLE}"' not in html, page  # not a filter choice
    assert MAYA_TEXT in maya.get("/desk/").text
    queue = maya.get("/desk/comments").text
    assert MAYA_TEXT in queue
    assert f"To moderate ({world.maya_counts[1]})" in queue

    theirs = tomas.get("/desk/").text
    assert TOMAS_TEXT in theirs and MAYA_TEXT not in theirs
    everything = editor.get("/desk/").text
    assert MAYA_TEXT in everything and TOMAS_TEXT in everything
    assert f'value="{TOMAS_ARTICLE}"' in everything


@pytest.mark.parametrize("route", READER_ROUTES)
def test_readers_data_is_for_editors_only(app: Flask, world: World, route: str) -> None:
    """Authors get 404 for readers' data; an editor gets the page."""
    method, path, data = READER_ROUTES[route](world.maya)
    maya, editor = desk_of(app, MAYA), desk_of(app, EDITOR)
    before = snapshot(app)
    refused = send(maya.client, method, path, {"csrf_token": maya.token, **data})
    assert refused.status_code == 404
    assert MAYA_TEXT not in refused.text and READER not in refused.text
    assert snapshot(app) == before
    assert "Readers&#39; data" not in maya.get("/desk/").text

    allowed = send(editor.client, method, path, {"csrf_token": editor.token, **data})
    assert allowed.status_code == 200
    assert "Readers&#39; data" in editor.get("/desk/").text
    if route == "readers-lookup":
        assert f"Stored about {READER}" in allowed.text
    if route == "readers-export":
        assert MAYA_TEXT in allowed.text and TOMAS_TEXT in allowed.text
    if route == "readers-erase":
        assert snapshot(app) != before


# --- 3. CSRF ------------------------------------------------------------------


def forged_tokens(app: Flask) -> dict[str, str | None]:
    """No token; a genuine token of another browser's session; nonsense."""
    other = csrf_token(app.test_client().get("/desk/sign-in").text)
    return {"missing": None, "other-session": other, "garbage": "x" * len(other)}


@pytest.mark.parametrize("route", CHANGES)
def test_desk_changes_need_the_sessions_csrf_token(
    app: Flask, world: World, route: str
) -> None:
    """Without this session's CSRF token, a desk POST is refused, unchanged."""
    set_role(app, MAYA, "editor")  # her own articles, and readers' data
    maya = desk_of(app, MAYA)
    _, path, data = CHANGES[route](world.maya)
    before = snapshot(app)
    for kind, token in forged_tokens(app).items():
        forged = data if token is None else {**data, "csrf_token": token}
        response = maya.client.post(path, data=forged)
        assert response.status_code == 400, kind
        assert MAYA_TEXT not in response.text and READER not in response.text
        assert snapshot(app) == before, kind
    # With the session's token, the very same request goes through.
    allowed = maya.post(path, data)
    assert allowed.status_code in (200, 303)
    if route == "publish":  # builds fail here: it got as far as the build
        assert "could not be built" in maya.get(allowed.location).text
        return
    assert snapshot(app) != before or route in READ_ONLY_POSTS


def test_sign_in_needs_a_csrf_token(app: Flask) -> None:
    """A sign-in form posted from elsewhere signs no one in (login CSRF)."""
    make_author(app, MAYA, "maya@example.org")
    before = snapshot(app)
    for kind, token in forged_tokens(app).items():
        client = app.test_client()
        client.get("/desk/sign-in")
        data = {"name": MAYA, "password": PASSWORD}
        if token is not None:
            data["csrf_token"] = token
        assert client.post("/desk/sign-in", data=data).status_code == 400, kind
        assert to_sign_in(client.get("/desk/")), kind
    assert snapshot(app) == before  # not even a failure recorded
    assert attempt(app, MAYA, PASSWORD).status_code == 303


def test_sign_out_needs_a_csrf_token(app: Flask) -> None:
    """Another site cannot sign an author out."""
    make_author(app, MAYA, "maya@example.org")
    maya = desk_of(app, MAYA)
    for kind, token in forged_tokens(app).items():
        data = {} if token is None else {"csrf_token": token}
        assert maya.client.post("/desk/sign-out", data=data).status_code == 400
        assert is_signed_in(maya), kind
    assert to_sign_in(maya.post("/desk/sign-out"))
    assert not is_signed_in(maya)


# --- 4. GET changes nothing ---------------------------------------------------


def test_no_get_changes_anything(
    app: Flask, commenter: Commenter, world: World
) -> None:
    """Every desk page, opened by anyone, leaves the database and files alone."""
    maya = desk_of(app, MAYA)
    # Something in every state: feedback, follow-ups, answers, comments, replies.
    feedback = [
        new_feedback(app, ARTICLE, f"Feedback {state}", email=READER, state=state)
        for state in ("new", "read", "answered", "archived", "spam")
    ]
    with get_db(app).write() as session:
        followed_up = session.get(Feedback, feedback[1])
        followed_up.messages.append(FeedbackMessage(sender="reader", body="More."))
    answer = {"answer": "Thanks.", "send_to": "private"}
    assert maya.post(f"/desk/feedback/{feedback[2]}/answer", answer).status_code == 303
    comments = []
    for state in ("pending", "approved", "spam", "trash"):
        comments.append(commenter.post_ok(body=f"Comment {state}").id)
        with get_db(app).write() as session:
            cm.set_state(session, comments[-1], state)
    reply = {"body": "The author's reply."}
    assert maya.post(f"/desk/comments/{comments[1]}/reply", reply).status_code == 303
    app.extensions["publisher"].wait_idle()
    with get_db(app).read() as session:
        comments.append(session.scalar(select(func.max(Comment.id))))  # the reply

    pages = [
        "/desk/sign-in",
        "/desk/sign-in?next=/desk/comments",
        *(f"/desk/?view={v}" for v in ("inbox", "new", "read", "answered")),
        *(f"/desk/?view={v}" for v in ("archived", "spam", "nonsense")),
        f"/desk/?article={ARTICLE}&q=Feedback&page=2",
        *(f"/desk/comments?view={v}" for v in ("queue", "pending", "approved")),
        *(f"/desk/comments?view={v}" for v in ("spam", "trash")),
        f"/desk/comments?article={TOMAS_ARTICLE}",
        *(f"/desk/feedback/{i}" for i in feedback),
        *(f"/desk/comments/{i}" for i in comments),
        "/desk/feedback/999",
        *(
            make(items)[1]
            for make in ITEM_GETS.values()
            for items in (world.maya, world.tomas)
        ),
        # The changes' addresses, opened with GET by mistake or by a crawler.
        "/desk/sign-out",
        *(make(world.maya)[1] for make in ITEM_POSTS.values()),
        *(make(world.maya)[1] for make in READER_ROUTES.values()),
    ]
    signed_out = app.test_client()
    editor = desk_of(app, EDITOR)
    before = snapshot(app)
    seen = set()
    for who in (signed_out, maya.client, editor.client):
        for page in pages:
            status = who.get(page).status_code
            assert status in (200, 303, 404, 405), (page, status)
            seen.add(status)
    assert seen == {200, 303, 404, 405}  # every kind of answer was exercised
    assert snapshot(app) == before


# --- 5. signing in ------------------------------------------------------------


def test_sign_in_by_name_or_address_in_any_case(app: Flask) -> None:
    """Name or address, in any case, signs in."""
    make_author(app, MAYA, "maya@example.org")
    for name in ("maya lindqvist", "MAYA LINDQVIST", "MAYA@EXAMPLE.ORG"):
        response = attempt(app, name, PASSWORD)
        assert response.status_code == 303 and response.location == "/desk/", name


def test_sign_in_by_name_with_non_ascii_capitals(app: Flask) -> None:
    """An author whose name has non-ASCII capitals signs in by name too,
    typed as stored or in another case."""
    make_author(app, "Émile Ørsted", "emile@example.org")
    for name in ("Émile Ørsted", "émile ørsted", "ÉMILE ØRSTED"):
        assert attempt(app, name, PASSWORD).status_code == 303, name


@pytest.mark.parametrize("name", ["Jens Straße", "Σίσυφος Οδυσσέας"])
def test_sign_in_by_name_whose_casefold_is_not_its_lower_case(
    app: Flask, name: str
) -> None:
    """Even typed exactly as stored, a name whose casefolded form is not its
    lower case (ß becomes ss, a final sigma a medial one) signs in."""
    make_author(app, name, "author@example.org")
    assert attempt(app, "author@example.org", PASSWORD).status_code == 303
    assert attempt(app, name, PASSWORD).status_code == 303


def test_wrong_password_and_unknown_name_are_answered_alike(app: Flask) -> None:
    """A wrong password, an unknown name or address, and an account without a
    password: the same status and message, so none tells which accounts exist."""
    throttle(app)
    make_author(app, MAYA, "maya@example.org")
    add_author(app, TOMAS, "tomas@example.org", password=None)
    answers = [
        attempt(app, MAYA, WRONG),
        attempt(app, "Nobody Atall", PASSWORD),
        attempt(app, "nobody@example.org", PASSWORD),
        attempt(app, TOMAS, PASSWORD),
    ]
    assert [r.status_code for r in answers] == [401] * 4
    messages = {sign_in_error(r.text) for r in answers}
    assert len(messages) == 1 and messages != {""}
    assert "Retry-After" not in answers[0].headers
    assert attempt(app, MAYA, "").status_code == 422  # no password: a form error


def landing(app: Flask, next_: str) -> str:
    """Sign in with ``next``; return where the browser is sent."""
    response = attempt(app, MAYA, PASSWORD, next_=next_)
    assert response.status_code == 303
    return response.location


def test_sign_in_goes_only_to_desk_pages(app: Flask) -> None:
    """After sign-in, ``next`` leads to a page of the desk, and nowhere else."""
    make_author(app, MAYA, "maya@example.org")
    for desk_page in ("/desk/comments?view=spam", "/desk/feedback/1", "/desk/"):
        assert landing(app, desk_page) == desk_page
    elsewhere = [
        "",
        "https://evil.example/",
        "https://evil.example/desk/",
        "//evil.example/",
        "//evil.example/desk/",
        "///evil.example/desk/",
        "/\\evil.example/desk/",
        "/desk/\\/evil.example",
        "javascript:alert(1)//desk/",
        "/app-not-desk",
        "/desk-not-the-desk/",
        "/desk",
    ]
    assert {n: landing(app, n) for n in elsewhere} == dict.fromkeys(elsewhere, "/desk/")


def test_sign_in_next_cannot_climb_out_of_the_desk(app: Flask) -> None:
    """A desk path climbing out with dot segments (which browsers resolve,
    %2e%2e too) is not a desk page."""
    make_author(app, MAYA, "maya@example.org")
    for climbing in ("/desk/../app-not-desk", "/desk/%2e%2e/app-not-desk"):
        assert landing(app, climbing) == "/desk/", climbing


def test_signed_in_author_visiting_sign_in_goes_to_the_desk(app: Flask) -> None:
    """The sign-in page of a signed-in author redirects, by the same rule."""
    make_author(app, MAYA, "maya@example.org")
    maya = desk_of(app, MAYA)
    assert maya.get("/desk/sign-in?next=/desk/comments").location == "/desk/comments"
    assert maya.get("/desk/sign-in?next=//evil.example/").location == "/desk/"


def test_failures_slow_sign_in_down_then_let_it_through(app: Flask) -> None:
    """From SIGNIN_SLOW_AFTER failures on, the next try waits (for real)."""
    throttle(app, slow_after=3)
    make_author(app, MAYA, "maya@example.org")
    for _ in range(3):
        assert attempt(app, MAYA, WRONG).status_code == 401
    refused = attempt(app, MAYA, PASSWORD)  # even the right password
    assert refused.status_code == 429
    assert refused.headers["Retry-After"] == "1"
    assert "1 second" in sign_in_error(refused.text)
    assert len(failures(app)) == 3  # a refused try is not even recorded
    time.sleep(1.05)
    assert attempt(app, MAYA, PASSWORD).status_code == 303


def test_each_further_failure_doubles_the_wait(app: Flask) -> None:
    """Waits go 1 s, 2 s, 4 s; failures older than the window count no more."""
    throttle(app, slow_after=3)
    make_author(app, MAYA, "maya@example.org")
    for _ in range(3):
        assert attempt(app, MAYA, WRONG).status_code == 401
    for wait in (1, 2, 4):
        refused = attempt(app, MAYA, WRONG)
        assert refused.status_code == 429
        assert refused.headers["Retry-After"] == str(wait)
        age_failures(app, wait + 0.2)  # as if the author had waited
        assert attempt(app, MAYA, WRONG).status_code == 401
    assert attempt(app, MAYA, PASSWORD).status_code == 429
    age_failures(app, app.config["SIGNIN_WINDOW_MINUTES"] * 60 + 1)
    assert attempt(app, MAYA, PASSWORD).status_code == 303


def test_a_right_password_clears_the_accounts_failures(app: Flask) -> None:
    """After a sign-in, earlier failures no longer slow the account down."""
    throttle(app, slow_after=3)
    make_author(app, MAYA, "maya@example.org")
    for _ in range(2):
        assert attempt(app, MAYA.upper(), WRONG).status_code == 401
    assert attempt(app, MAYA, PASSWORD).status_code == 303
    assert failures(app) == []
    for _ in range(2):
        assert attempt(app, MAYA, WRONG).status_code == 401
    assert attempt(app, MAYA, PASSWORD).status_code == 303  # not the 5th failure


def probe(app: Flask, first: str, then: str, network: int) -> list[tuple[Any, ...]]:
    """Fail to sign in three times as ``first``, twice as ``then``, once
    more as ``first``, each try from a new address (as a botnet would);
    return every answer: status, Retry-After (to ten seconds) and message."""
    answers = []
    for i, typed in enumerate([first] * 3 + [then] * 2 + [first]):
        response = attempt(app, typed, WRONG, address=f"10.{network}.0.{i + 1}")
        retry = response.headers.get("Retry-After")
        answers.append(
            (
                response.status_code,
                retry and round(int(retry), -1),
                sign_in_error(response.text),
            )
        )
    return answers


@pytest.fixture(params=["database", "redis"])
def counted_in(request: pytest.FixtureRequest, app: Flask) -> Iterator[str]:
    """Sign-in failures counted in the app's database, or in Redis."""
    if request.param == "redis":
        import redis

        url = "redis://127.0.0.1:6379/0"
        try:
            redis.Redis.from_url(url).ping()
        except redis.RedisError as exc:
            pytest.skip(f"Redis is not reachable: {exc}")
        prefix = f"feedback-test-{secrets.token_hex(6)}:"
        app.config.update(RATELIMIT_STORAGE_URL=url, RATELIMIT_KEY_PREFIX=prefix)
        yield request.param
        client = redis.Redis.from_url(url)
        keys = list(client.scan_iter(f"{prefix}*"))
        if keys:
            client.delete(*keys)
        return
    yield request.param


@pytest.mark.parametrize("by", ["name then address", "address then name"])
def test_the_throttle_does_not_tell_whose_address_a_name_is(
    app: Flask, counted_in: str, by: str
) -> None:
    """Failing as a name, then as an address, answers the same whether the
    two are one account or no account at all: counting the failures cannot
    link an author's name to their address."""
    throttle(app, lock_after=3)
    make_author(app, MAYA, "maya@example.org")
    pairs = [(MAYA, "maya@example.org"), ("Nobody Atall", "nobody@example.org")]
    if by == "address then name":
        pairs = [(address, name) for name, address in pairs]
    real, made_up = (probe(app, *pair, network=n) for n, pair in enumerate(pairs))
    assert real == made_up
    assert [status for status, *_ in real] == [401] * 5 + [429]


def test_guessing_an_accounts_password_is_still_stopped(app: Flask) -> None:
    """However it is typed, an account is locked after SIGNIN_LOCK_AFTER
    failures of each way of naming it, and its author is told."""
    throttle(app, lock_after=3)
    make_author(app, MAYA, "maya@example.org")
    for typed in (MAYA, "maya@example.org"):
        for i in range(3):
            assert attempt(app, typed, WRONG, address=f"10.9.0.{i}").status_code == 401
        assert attempt(app, typed.upper(), PASSWORD).status_code == 429
    assert len(outbox(app, "sign-in-locked")) == 1


def test_account_locks_at_exactly_the_limit_and_tells_the_author_once(
    app: Flask,
) -> None:
    """At SIGNIN_LOCK_AFTER failures (the name in any case) even the right
    password is refused; the author gets one mail about it per window."""
    throttle(app, lock_after=5)
    make_author(app, MAYA, "maya@example.org")
    window = app.config["SIGNIN_WINDOW_MINUTES"] * 60
    names = [MAYA, MAYA.lower(), MAYA.upper(), f"  {MAYA} ", MAYA.swapcase()]
    for name in names[:4]:
        assert attempt(app, name, WRONG).status_code == 401
    assert outbox(app, "sign-in-locked") == []
    assert attempt(app, names[4], WRONG).status_code == 401  # the 5th, checked

    locked = attempt(app, MAYA, PASSWORD)
    assert locked.status_code == 429
    assert window - 5 <= int(locked.headers["Retry-After"]) <= window + 1
    assert "locked" in sign_in_error(locked.text)
    assert attempt(app, MAYA, WRONG).status_code == 429
    assert len(failures(app)) == 5  # refused tries are neither checked nor counted
    [mail] = outbox(app, "sign-in-locked")
    assert mail.recipient == "maya@example.org"

    # The oldest failure leaves the window: one more try, the lock again, but
    # no second mail in the same window.
    age_failures(app, window + 1, oldest_only=True)
    assert attempt(app, MAYA, WRONG).status_code == 401
    assert attempt(app, MAYA, PASSWORD).status_code == 429
    assert len(outbox(app, "sign-in-locked")) == 1
    # Another account is not locked by Maya's failures.
    make_author(app, TOMAS, "tomas@example.org")
    assert attempt(app, TOMAS, PASSWORD).status_code == 303


def test_one_failure_short_of_the_lock_still_signs_in(app: Flask) -> None:
    throttle(app, lock_after=5)
    make_author(app, MAYA, "maya@example.org")
    for _ in range(4):
        assert attempt(app, MAYA, WRONG).status_code == 401
    assert attempt(app, MAYA, PASSWORD).status_code == 303
    assert outbox(app, "sign-in-locked") == []


def test_unknown_account_locks_too_without_mail(app: Flask) -> None:
    throttle(app, lock_after=3)
    make_author(app, MAYA, "maya@example.org")
    for _ in range(3):
        assert attempt(app, "maya", WRONG).status_code == 401
    assert attempt(app, "maya", PASSWORD).status_code == 429
    assert outbox(app, "sign-in-locked") == []


def test_one_client_guessing_many_names_is_locked_out(app: Flask) -> None:
    """SIGNIN_LOCK_AFTER_CLIENT failures from one address lock that address,
    whatever names it tries; other addresses are not locked."""
    throttle(app, lock_after_client=4)
    make_author(app, MAYA, "maya@example.org")
    for i in range(4):
        assert attempt(app, f"guess{i}", WRONG).status_code == 401
    locked = attempt(app, MAYA, PASSWORD)
    assert locked.status_code == 429 and int(locked.headers["Retry-After"]) > 60
    assert attempt(app, MAYA, PASSWORD, address="10.0.0.2").status_code == 303


def test_failures_are_stored_without_the_clients_address(app: Flask) -> None:
    """Only a keyed hash of the address is stored, never the address."""
    throttle(app)
    make_author(app, MAYA, "maya@example.org")
    attempt(app, MAYA, WRONG)
    attempt(app, MAYA, WRONG, address="10.0.0.2")
    with get_db(app).read() as session:
        rows = session.execute(select(SignInFailure.__table__)).all()
    assert len(rows) == 2
    for row in rows:
        for value in row:
            assert "127.0.0.1" not in str(value) and "10.0.0.2" not in str(value)
    hashes = {row.client_hash for row in rows}
    assert len(hashes) == 2  # the address is what is counted
    unkeyed = {
        getattr(hashlib, algorithm)(b"127.0.0.1").hexdigest()
        for algorithm in ("md5", "sha1", "sha256", "sha512", "blake2b")
    }
    assert not hashes & unkeyed


# --- 6. sessions --------------------------------------------------------------


def cookie_flags(response: TestResponse) -> list[str]:
    [cookie] = [
        c for c in response.headers.getlist("Set-Cookie") if c.startswith("session=")
    ]
    return [part.strip() for part in cookie.split(";")]


def test_session_cookie_is_httponly_lax_secure_and_expires(app: Flask) -> None:
    """HttpOnly, SameSite=Lax, Secure on https, expiring with the session."""
    make_author(app, MAYA, "maya@example.org")
    flags = cookie_flags(attempt(app, MAYA, PASSWORD))
    assert {"HttpOnly", "SameSite=Lax", "Secure"} <= set(flags)
    expires = parsedate_to_datetime(
        next(f for f in flags if f.startswith("Expires=")).split("=", 1)[1]
    )
    lifetime = timedelta(hours=app.config["DESK_SESSION_HOURS"])
    left = expires - datetime.now(UTC)
    assert lifetime - timedelta(minutes=1) < left <= lifetime


def test_session_cookie_not_secure_on_http_and_lasts_desk_session_hours(
    app: Flask, tmp_path: Path
) -> None:
    """Secure follows SITE_URL's scheme; the lifetime DESK_SESSION_HOURS."""
    other = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "another test secret",
            "SITE_INDEX_PATH": app.config["SITE_INDEX_PATH"],
            "DATABASE_URL": f"sqlite:///{tmp_path / 'http.sqlite3'}",
            "SITE_URL": "http://127.0.0.1:8000",
            "DESK_SESSION_HOURS": 2,
            "MAILDIR_PATH": str(tmp_path / "maildir"),
        }
    )
    upgrade(other)
    try:
        make_author(other, MAYA, "maya@example.org")
        flags = cookie_flags(attempt(other, MAYA, PASSWORD))
        assert "Secure" not in flags
        assert {"HttpOnly", "SameSite=Lax"} <= set(flags)
        assert other.config["PERMANENT_SESSION_LIFETIME"] == timedelta(hours=2)
    finally:
        get_db(other).dispose()


def test_session_ends_after_its_lifetime_even_when_active(app: Flask) -> None:
    """A session lasts its lifetime from sign-in, however busy the author:
    a request renews the cookie (Flask's own check of the cookie's age would
    let it through), never the session's end, which the server keeps."""
    make_author(app, MAYA, "maya@example.org")
    maya = desk_of(app, MAYA)

    def stored() -> DeskSession:
        with get_db(app).read() as session:
            return session.scalars(select(DeskSession)).one()

    signed_in = stored()
    lifetime = app.config["PERMANENT_SESSION_LIFETIME"]
    assert signed_in.expires_at - signed_in.created_at == lifetime
    assert is_signed_in(maya)
    assert "Set-Cookie" in maya.get("/desk/").headers  # the cookie is renewed
    assert stored().expires_at == signed_in.expires_at  # the end is not
    with get_db(app).write() as session:  # the lifetime passes
        session.execute(
            update(DeskSession).values(expires_at=utcnow() - timedelta(seconds=1))
        )
    response = maya.get("/desk/")
    assert to_sign_in(response)
    assert MAYA not in response.text


def test_sign_out_ends_the_session(app: Flask) -> None:
    make_author(app, MAYA, "maya@example.org")
    maya = desk_of(app, MAYA)
    response = maya.post("/desk/sign-out")
    assert response.status_code == 303 and response.location == "/desk/sign-in"
    assert "You are signed out." in maya.get("/desk/sign-in").text
    assert not is_signed_in(maya)


def test_a_copied_session_cookie_is_dead_after_sign_out(app: Flask) -> None:
    """Sign-out ends the session, not only this browser's copy of it."""
    make_author(app, MAYA, "maya@example.org")
    maya = desk_of(app, MAYA)
    other = app.test_client()
    other.set_cookie("session", maya.client.get_cookie("session").value)
    assert other.get("/desk/").status_code == 200  # the copy works, so far
    assert maya.post("/desk/sign-out").status_code == 303
    assert to_sign_in(other.get("/desk/"))


def test_a_copy_of_the_database_opens_no_session(app: Flask) -> None:
    """What the session cookie carries is not stored as such in the database."""
    make_author(app, MAYA, "maya@example.org")
    maya = desk_of(app, MAYA)
    cookie = maya.client.get_cookie("session").value
    carried = app.session_interface.get_signing_serializer(app).loads(cookie)
    values = [v for v in carried.values() if isinstance(v, str) and len(v) >= 16]
    assert values  # something secret is carried, whatever its name
    stored = repr(snapshot(app)["tables"])
    assert not [v for v in values if v in stored]


def test_changing_the_password_ends_every_session(app: Flask, desk: Desk) -> None:
    """`authors set-password` signs the author out on every device."""
    laptop = desk_of(app, MAYA)
    make_author(app, TOMAS, "tomas@example.org")
    tomas = desk_of(app, TOMAS)
    new = "a brand new passphrase"
    result = app.test_cli_runner().invoke(
        args=["authors", "set-password", MAYA], input=f"{new}\n{new}\n"
    )
    assert result.exit_code == 0, result.output
    assert new not in result.output  # the prompt does not echo it
    assert not is_signed_in(desk) and not is_signed_in(laptop)
    assert is_signed_in(tomas)  # others stay
    assert author(app, MAYA).password_hash.startswith("scrypt:")
    throttle(app)
    assert attempt(app, MAYA, PASSWORD).status_code == 401
    assert attempt(app, MAYA, new).status_code == 303


def test_a_password_set_any_other_way_ends_older_sessions(app: Flask) -> None:
    """Not only the command: any new password ends the sessions before it."""
    make_author(app, MAYA, "maya@example.org")
    maya = desk_of(app, MAYA)
    with get_db(app).write() as session:
        found = session.scalar(select(Author).where(Author.name == MAYA))
        auth.set_password(found, "another long passphrase", min_length=1)
    assert not is_signed_in(maya)
    assert is_signed_in(desk_of(app, MAYA, "another long passphrase"))


@pytest.mark.parametrize("change", ["deleted", "password removed"])
def test_author_gone_from_the_database_is_signed_out(app: Flask, change: str) -> None:
    make_author(app, MAYA, "maya@example.org")
    maya = desk_of(app, MAYA)
    with get_db(app).write() as session:
        if change == "deleted":
            session.execute(delete(Author).where(Author.name == MAYA))
        else:
            session.execute(
                update(Author).where(Author.name == MAYA).values(password_hash=None)
            )
    assert not is_signed_in(maya)


# --- the authors command line -------------------------------------------------


def test_set_password_refuses_short_and_never_takes_an_argument(app: Flask) -> None:
    """Too short is refused (the old password stays); the minimum will do; the
    password is never an argument, where `ps` and shell history would keep it."""
    make_author(app, MAYA, "maya@example.org")
    maya = desk_of(app, MAYA)
    runner = app.test_cli_runner()
    minimum = app.config["MIN_PASSWORD_LENGTH"]
    old_hash = author(app, MAYA).password_hash

    short = "s" * (minimum - 1)
    result = runner.invoke(
        args=["authors", "set-password", MAYA], input=f"{short}\n{short}\n"
    )
    assert result.exit_code == 1
    assert f"at least {minimum} characters" in result.output
    assert short not in result.output
    assert author(app, MAYA).password_hash == old_hash
    assert is_signed_in(maya)

    given = "an argument password"
    for args in (
        ["authors", "set-password", MAYA, given],
        ["authors", "set-password", MAYA, "--password", given],
        ["authors", "set-password", "--password", given, MAYA],
    ):
        result = runner.invoke(args=args, input="")
        assert result.exit_code == 2, result.output
        assert author(app, MAYA).password_hash == old_hash

    mismatch = runner.invoke(
        args=["authors", "set-password", MAYA],
        input="first passphrase\nsecond passphrase\n",
    )
    assert mismatch.exit_code != 0
    assert author(app, MAYA).password_hash == old_hash

    unknown = runner.invoke(
        args=["authors", "set-password", "Nobody"], input="x" * minimum + "\n"
    )
    assert unknown.exit_code == 1 and "No author 'Nobody'" in unknown.output

    exact = "e" * minimum
    result = runner.invoke(
        args=["authors", "set-password", MAYA], input=f"{exact}\n{exact}\n"
    )
    assert result.exit_code == 0, result.output
    assert exact not in result.output
    assert author(app, MAYA).password_hash.startswith("scrypt:")
    assert not is_signed_in(maya)
    assert attempt(app, MAYA, exact).status_code == 303


def test_authors_add_list_and_set_role(app: Flask, world: World) -> None:
    """Roles from the command line, effective at once; `list` tells who can
    sign in."""
    runner = app.test_cli_runner()
    result = runner.invoke(
        args=["authors", "add", "Rosa Editor", "rosa@example.org", "--role", "editor"]
    )
    assert result.exit_code == 0, result.output
    assert author(app, "Rosa Editor").role == "editor"
    assert author(app, "Rosa Editor").password_hash is None

    def listed(name: str) -> str:
        output = runner.invoke(args=["authors", "list"]).output
        return next(line for line in output.splitlines() if line.startswith(name))

    assert "editor, no password" in listed("Rosa Editor")
    assert "author, can sign in" in listed(TOMAS)
    throttle(app)
    assert attempt(app, "Rosa Editor", "").status_code == 422
    assert attempt(app, "Rosa Editor", "anything at all").status_code == 401
    password = "rosas long passphrase"
    result = runner.invoke(
        args=["authors", "set-password", "Rosa Editor"],
        input=f"{password}\n{password}\n",
    )
    assert result.exit_code == 0, result.output
    assert "editor, can sign in" in listed("Rosa Editor")

    rosa = desk_of(app, "Rosa Editor", password)
    assert rosa.get(f"/desk/feedback/{world.tomas.feedback}").status_code == 200
    assert rosa.get("/desk/readers").status_code == 200

    # Made an author (of no article), the same session loses the rest at once.
    result = runner.invoke(args=["authors", "set", "Rosa Editor", "--role", "author"])
    assert result.exit_code == 0, result.output
    assert "author, can sign in" in listed("Rosa Editor")
    assert rosa.get(f"/desk/feedback/{world.tomas.feedback}").status_code == 404
    assert rosa.get("/desk/readers").status_code == 404
    assert badges(rosa.get("/desk/").text) == (0, 0)

    refused = runner.invoke(args=["authors", "set", "Rosa Editor", "--role", "admin"])
    assert refused.exit_code == 2
    assert author(app, "Rosa Editor").role == "author"
    made = runner.invoke(args=["authors", "set", TOMAS, "--role", "editor"])
    assert made.exit_code == 0
    assert "editor, can sign in" in listed(TOMAS)
    tomas = desk_of(app, TOMAS)
    assert tomas.get(f"/desk/feedback/{world.maya.feedback}").status_code == 200
