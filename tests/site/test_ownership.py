"""Ownership is recorded, not re-derived from the build (issue 18).

A hostile co-author, Tomás, signed in to the desk and able to publish a
post, gives his post the slug of Maya's article in another year (Pelican
allows it: ``ARTICLE_URL = "{date:%Y}/{slug}/"``), or becomes its
``Author`` later. Every test builds a real site with Pelican from a content
folder of its own, and attacks over HTTP with the Flask test client: the
readers post the forms of the built pages, the authors use the desk.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient
from sqlalchemy import select

from feedback_app import create_app
from feedback_app.core.db import get_db, upgrade
from feedback_app.core.models import Comment, Feedback
from feedback_app.site.files import comment_file_name

from ..conftest import (
    MAYA,
    ORIGIN,
    TOMAS,
    Desk,
    add_author,
    build_site,
    csrf_token,
    outbox,
    typed_ticket,
)

EDITOR = "Eda Editor"
SLUG = "inside-sales"
MAYAS = f"2025/{SLUG}/"  # Maya's article
TOMAS_POST = f"2024/{SLUG}/"  # Tomás's post, dated earlier, with her slug
SECRET = "Private to Maya: my address is in this one"
COMMENT = "A comment for Maya's eyes on the queue"


def article_text(title: str, date: str, author: str, body: str) -> str:
    return (
        f"Title: {title}\nDate: {date}\nSlug: {SLUG}\nAuthor: {author}\n"
        f"Category: Sales\n\n{body}\n"
    )


MAYA_MD = article_text("Inside sales", "2025-05-01 09:00", MAYA, "Maya's article.")
TOMAS_MD = article_text("Inside sales, again", "2024-01-01 09:00", TOMAS, "Mine.")


class Site:
    """A content folder of its own, built with Pelican, and the app on it."""

    def __init__(self, root: Path, database_url: str) -> None:
        self.root = root
        self.content = root / "content"
        self.comments = self.content / "comments"
        self.comments.mkdir(parents=True)
        (self.content / "maya.md").write_text(MAYA_MD, encoding="utf-8")
        self.build()
        self.app = create_app(
            {
                "TESTING": True,
                "SECRET_KEY": "test secret",
                "DATABASE_URL": database_url,
                "SITE_INDEX_PATH": str(root / "site.json"),
                "OUTPUT_PATH": str(root / "output"),
                "CONTENT_PATH": str(self.content),
                "COMMENTS_PATH": str(self.comments),
                "MAILDIR_PATH": str(root / "maildir"),
                "SITE_URL": "https://blog.example.org",
                "COMMENTS_REBUILD": False,
                "POST_LIMIT_PER_ADDRESS": 0,
                "POST_LIMIT_PER_ARTICLE": 0,
                "COMMENTS_HOLD_WITHOUT_EMAIL": False,
                "PELICAN_EXTRA_SETTINGS": {"CACHE_PATH": str(root / "cache")},
            }
        )
        self.app.instance_path = str(root)
        upgrade(self.app)
        add_author(self.app, MAYA, "maya@example.org")
        add_author(self.app, TOMAS, "tomas@example.org")
        add_author(self.app, EDITOR, "eda@example.org", role="editor")
        self.client: FlaskClient = self.app.test_client()

    def build(self) -> None:
        """A full build, as `invoke build` makes after a post is published."""
        build_site(
            self.root,
            content=self.content,
            extra={"FEEDBACK_COMMENTS_PATH": str(self.comments)},
        )

    def add_tomas_post(self) -> None:
        (self.content / "tomas.md").write_text(TOMAS_MD, encoding="utf-8")
        self.build()

    def page(self, page_url: str) -> str:
        return (self.root / "output" / page_url / "index.html").read_text("utf-8")

    def form_article(self, page_url: str, form: str) -> str:
        """The ``article`` field of a form on the built page at ``page_url``."""
        html = self.page(page_url)
        start = html.index(f'action="/app/{form}"')
        found = re.search(r'name="article" value="([^"]*)"', html[start:])
        assert found is not None
        return found.group(1)

    def send_feedback(self, page_url: str, message: str = SECRET) -> int:
        """Send the feedback form of the page at ``page_url``, as a browser."""
        article = self.form_article(page_url, "feedback")
        response = self.client.post(
            "/feedback",
            data={
                "article": article,
                "message": message,
                "email": "reader@example.org",
                "ticket": typed_ticket(self.app, article),
            },
            headers={"Origin": ORIGIN},
        )
        assert response.status_code == 303, response.text
        with get_db(self.app).read() as session:
            return session.scalars(select(Feedback.id).order_by(Feedback.id)).all()[-1]

    def send_comment(self, page_url: str, body: str = COMMENT, **extra: str) -> int:
        """Post the comment form of the page at ``page_url``, as a browser."""
        article = self.form_article(page_url, "comments")
        response = self.client.post(
            "/comments",
            data={
                "article": article,
                "name": "Ana",
                "email": "ana@example.org",
                "body": body,
                "ticket": typed_ticket(self.app, article),
                **extra,
            },
            headers={"Origin": ORIGIN},
        )
        assert response.status_code == 303, response.text
        with get_db(self.app).read() as session:
            return session.scalars(select(Comment.id).order_by(Comment.id)).all()[-1]

    def desk(self, name: str) -> Desk:
        desk = Desk(self.app.test_client())
        assert desk.sign_in(name).status_code == 303
        return desk

    def approve(self, comment_id: int) -> None:
        response = self.desk(EDITOR).post(
            f"/desk/comments/{comment_id}/state", {"action": "approve"}
        )
        assert response.status_code == 303, response.text


@pytest.fixture
def site(tmp_path: Path, database_url: str) -> Iterator[Site]:
    the_site = Site(tmp_path / "site", database_url)
    yield the_site
    the_site.app.extensions["publisher"].wait_idle()
    get_db(the_site.app).dispose()


def sees(desk: Desk, text: str) -> bool:
    """Tell whether ``text`` shows anywhere on the desk's lists."""
    pages = [
        "/desk/?view=inbox",
        "/desk/?view=new",
        "/desk/comments?view=queue",
        "/desk/comments?view=pending",
        "/desk/comments?view=approved",
        f"/desk/?article={MAYAS}",
        f"/desk/comments?view=approved&article={MAYAS}",
    ]
    return any(text in desk.get(page).text for page in pages)


def mail_to(site: Site, address: str) -> list[str]:
    return [m.body for m in outbox(site.app) if m.recipient == address]


# --- a post with another article's slug, in another year ----------------------------


def test_two_articles_with_one_slug_are_two_articles_to_the_app(site: Site) -> None:
    site.add_tomas_post()
    index = json.loads((site.root / "site.json").read_text("utf-8"))
    assert {(a["page_url"], tuple(a["authors"])) for a in index["articles"]} == {
        (MAYAS, (MAYA,)),
        (TOMAS_POST, (TOMAS,)),
    }
    # Each page's forms name their own article.
    assert site.form_article(MAYAS, "feedback") == MAYAS
    assert site.form_article(TOMAS_POST, "comments") == TOMAS_POST


def test_a_post_with_mayas_slug_gives_tomas_nothing_of_hers(site: Site) -> None:
    feedback_before = site.send_feedback(MAYAS)
    comment_before = site.send_comment(MAYAS, body=COMMENT + " (before)")
    site.add_tomas_post()
    # Readers go on writing to Maya from her page, after Tomás's post is up.
    feedback_after = site.send_feedback(MAYAS, SECRET + " (after)")
    comment_after = site.send_comment(MAYAS, body=COMMENT + " (after)")
    approved = site.send_comment(MAYAS, body=COMMENT + " (approved)")
    site.approve(approved)

    tomas = site.desk(TOMAS)
    assert not sees(tomas, SECRET)
    assert not sees(tomas, COMMENT)
    assert not sees(tomas, "reader@example.org")
    for fid in (feedback_before, feedback_after):
        assert tomas.get(f"/desk/feedback/{fid}").status_code == 404
        for action in ("read", "archive", "spam"):
            response = tomas.post(f"/desk/feedback/{fid}/state", {"action": action})
            assert response.status_code == 404
        answer = tomas.post(
            f"/desk/feedback/{fid}/answer", {"answer": "Hi", "send_to": "private"}
        )
        assert answer.status_code == 404
    bulk = tomas.post("/desk/feedback/bulk", {"action": "read", "ids": feedback_after})
    assert bulk.status_code == 404
    for cid in (comment_before, comment_after, approved):
        assert tomas.get(f"/desk/comments/{cid}").status_code == 404
        for action in ("approve", "trash"):
            response = tomas.post(f"/desk/comments/{cid}/state", {"action": action})
            assert response.status_code == 404
    bulk = tomas.post("/desk/comments/bulk", {"action": "trash", "ids": comment_after})
    assert bulk.status_code == 404
    # No Author badge under Maya's comments for him either.
    reply = tomas.post(f"/desk/comments/{approved}/reply", {"body": "Tomás here."})
    assert reply.status_code == 404
    # No mail about any of it, then or after a reader's follow-up.
    assert mail_to(site, "tomas@example.org") == []

    maya = site.desk(MAYA)
    assert sees(maya, SECRET) and sees(maya, SECRET + " (after)")
    assert sees(maya, COMMENT + " (after)")
    assert maya.get(f"/desk/feedback/{feedback_after}").status_code == 200
    assert len(mail_to(site, "maya@example.org")) == 5  # 2 feedback, 3 comments
    with get_db(site.app).read() as session:
        rows = [*session.scalars(select(Feedback)), *session.scalars(select(Comment))]
    assert {(r.article_page_url, r.article_authors) for r in rows} == {
        (MAYAS, json.dumps([MAYA]))
    }


def test_mail_about_a_follow_up_goes_to_the_recorded_author(site: Site) -> None:
    article = site.form_article(MAYAS, "feedback")
    sent = site.client.post(
        "/feedback",
        data={
            "article": article,
            "message": SECRET,
            "ticket": typed_ticket(site.app, article),
        },
        headers={"Origin": ORIGIN},
    )
    assert sent.status_code == 303, sent.text
    token = re.fullmatch(r"/r/([^/]+)/thanks", sent.location).group(1)
    site.add_tomas_post()

    page = site.client.get(f"/r/{token}")
    follow = site.client.post(
        f"/r/{token}/follow-up",
        data={"csrf_token": csrf_token(page.text), "message": "And one more thing"},
    )
    assert follow.status_code == 303, follow.text
    assert mail_to(site, "tomas@example.org") == []
    assert any("one more thing" in body for body in mail_to(site, "maya@example.org"))


def test_each_article_keeps_its_own_comments_on_its_page(site: Site) -> None:
    site.add_tomas_post()
    site.app.config["COMMENTS_REBUILD"] = True
    on_maya = site.send_comment(MAYAS, body="Only under Maya's article")
    on_tomas = site.send_comment(TOMAS_POST, body="Only under Tomás's post")
    site.approve(on_maya)
    site.approve(on_tomas)
    assert site.app.extensions["publisher"].wait_idle(timeout=60)

    assert {p.name for p in site.comments.iterdir()} == {
        comment_file_name(MAYAS),
        comment_file_name(TOMAS_POST),
    }
    assert f'id="comment-{on_maya}"' in site.page(MAYAS)
    assert f'id="comment-{on_tomas}"' not in site.page(MAYAS)
    assert f'id="comment-{on_tomas}"' in site.page(TOMAS_POST)
    assert f'id="comment-{on_maya}"' not in site.page(TOMAS_POST)
    # A reply on one article to a comment of the other is refused.
    response = site.client.post(
        "/comments",
        data={
            "article": TOMAS_POST,
            "parent": str(on_maya),
            "name": "Ana",
            "body": "Crossing over",
            "ticket": typed_ticket(site.app, TOMAS_POST),
        },
        headers={"Origin": ORIGIN},
    )
    assert response.status_code == 400


# --- Author changed later -----------------------------------------------------------


def test_a_changed_author_moves_nothing_until_an_editor_does(site: Site) -> None:
    feedback_id = site.send_feedback(MAYAS)
    comment_id = site.send_comment(MAYAS)
    site.approve(comment_id)
    # Tomás becomes the article's Author (a later edit of its metadata).
    (site.content / "maya.md").write_text(
        MAYA_MD.replace(f"Author: {MAYA}", f"Author: {TOMAS}"), encoding="utf-8"
    )
    site.build()

    tomas = site.desk(TOMAS)
    assert not sees(tomas, SECRET) and not sees(tomas, COMMENT)
    assert tomas.get(f"/desk/feedback/{feedback_id}").status_code == 404
    assert tomas.get(f"/desk/comments/{comment_id}").status_code == 404
    maya = site.desk(MAYA)
    assert maya.get(f"/desk/feedback/{feedback_id}").status_code == 200
    # What arrives from now on is his.
    later = site.send_feedback(MAYAS, "For the new author")
    assert tomas.get(f"/desk/feedback/{later}").status_code == 200
    assert maya.get(f"/desk/feedback/{later}").status_code == 404

    # The editor moves the old rows; an author cannot.
    runner = site.app.test_cli_runner()
    result = runner.invoke(args=["authors", "reassign", MAYAS])
    assert result.exit_code == 0, result.output
    assert "3 feedback and comments" in result.output
    assert tomas.get(f"/desk/feedback/{feedback_id}").status_code == 200
    assert maya.get(f"/desk/feedback/{feedback_id}").status_code == 404
    reply = tomas.post(f"/desk/comments/{comment_id}/reply", {"body": "Mine now."})
    assert reply.status_code == 303, reply.text
    with get_db(site.app).read() as session:
        badge = session.scalars(select(Comment).where(Comment.is_author)).one()
    assert badge.name == TOMAS


def test_the_author_badge_needs_the_recorded_author(site: Site) -> None:
    comment_id = site.send_comment(MAYAS)
    site.approve(comment_id)
    (site.content / "maya.md").write_text(
        MAYA_MD.replace(f"Author: {MAYA}", f"Authors: {MAYA}, {TOMAS}"),
        encoding="utf-8",
    )
    site.build()
    index = json.loads((site.root / "site.json").read_text("utf-8"))
    assert index["articles"][0]["authors"] == [MAYA, TOMAS]
    # Tomás is a co-author now, but was not when the comment arrived.
    runner = site.app.test_cli_runner()
    result = runner.invoke(
        args=["comments", "reply", str(comment_id), "--as", TOMAS, "-m", "Hi"]
    )
    assert result.exit_code != 0
    assert "not an author" in result.output
    maya = site.desk(MAYA)
    reply = maya.post(f"/desk/comments/{comment_id}/reply", {"body": "Thanks!"})
    assert reply.status_code == 303, reply.text


def test_editor_reassigns_from_the_desk(site: Site) -> None:
    feedback_id = site.send_feedback(MAYAS)
    tomas = site.desk(TOMAS)
    forged = tomas.post(
        "/desk/articles/reassign", {"page_url": MAYAS, "authors": TOMAS}
    )
    assert forged.status_code == 404
    assert tomas.get(f"/desk/feedback/{feedback_id}").status_code == 404

    editor = site.desk(EDITOR)
    page = editor.get(f"/desk/articles/reassign?page_url={MAYAS}")
    assert page.status_code == 200 and MAYA in page.text
    done = editor.post(
        "/desk/articles/reassign", {"page_url": MAYAS, "authors": f"{MAYA}\n{TOMAS}"}
    )
    assert done.status_code == 303, done.text
    assert tomas.get(f"/desk/feedback/{feedback_id}").status_code == 200
    assert site.desk(MAYA).get(f"/desk/feedback/{feedback_id}").status_code == 200


# --- comment files from before: <slug>.json ------------------------------------------


def old_file(folder: Path, slug: str, cid: int, name: str) -> None:
    comment = {
        "id": cid,
        "parent": None,
        "name": name,
        "website": None,
        "date": "2025-06-01T10:00:00+00:00",
        "author": False,
        "html": f"<p>Old comment by {name}.</p>",
    }
    text = json.dumps({"article": slug, "comments": [comment]})
    (folder / f"{slug}.json").write_text(text, encoding="utf-8")


def test_an_old_slug_file_is_read_until_the_app_writes_the_new_one(
    site: Site,
) -> None:
    old_file(site.comments, SLUG, 900, "Old Reader")
    site.build()
    assert 'id="comment-900"' in site.page(MAYAS)

    # Once the slug is shared, the old file cannot say whose it was.
    site.add_tomas_post()
    assert 'id="comment-900"' not in site.page(MAYAS)
    assert 'id="comment-900"' not in site.page(TOMAS_POST)

    # Published again by the app: the new file replaces the old one.
    (site.content / "tomas.md").unlink()
    site.build()
    site.app.config["COMMENTS_REBUILD"] = True
    cid = site.send_comment(MAYAS, body="A new one")
    site.approve(cid)
    assert site.app.extensions["publisher"].wait_idle(timeout=60)
    assert {p.name for p in site.comments.iterdir()} == {comment_file_name(MAYAS)}
    assert f'id="comment-{cid}"' in site.page(MAYAS)


# --- the migration ------------------------------------------------------------------


def test_the_migration_records_existing_rows_from_the_site_index(
    site: Site,
) -> None:
    from alembic import command

    from feedback_app.core.db import alembic_config

    db = get_db(site.app)
    command.downgrade(alembic_config(db), "38c2d12131d0")
    with db.engine.begin() as connection:
        for slug, url in ((SLUG, f"/{MAYAS}"), ("gone", "/2020/gone/")):
            connection.execute(
                sa.text(
                    "INSERT INTO feedback (article_slug, article_title, article_url,"
                    " message, may_quote, state, reply_token_hash, created_at,"
                    " updated_at) VALUES (:slug, 'T', :url, 'old', false, 'new',"
                    " :hash, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
                ),
                {"slug": slug, "url": url, "hash": slug},
            )
        connection.execute(
            sa.text(
                "INSERT INTO comment (article_slug, depth, name, body, html, state,"
                " is_author, notify_replies, reply_notified, fingerprint,"
                " created_at, updated_at) VALUES (:slug, 1, 'n', 'b', 'b',"
                " 'pending', false, false, false, 'f', CURRENT_TIMESTAMP,"
                " CURRENT_TIMESTAMP)"
            ),
            {"slug": SLUG},
        )
    upgrade(site.app)
    with db.read() as session:
        feedback = {f.article_slug: f for f in session.scalars(select(Feedback))}
        comment = session.scalars(select(Comment)).one()
    assert feedback[SLUG].article_page_url == MAYAS
    assert feedback[SLUG].article_authors == json.dumps([MAYA])
    assert (comment.article_page_url, comment.article_authors) == (
        MAYAS,
        json.dumps([MAYA]),
    )
    # An article the index no longer has: editors only.
    assert feedback["gone"].article_page_url == "gone"
    assert feedback["gone"].article_authors == "[]"
    editor = site.desk(EDITOR)
    assert editor.get(f"/desk/feedback/{feedback['gone'].id}").status_code == 200
    maya = site.desk(MAYA)
    assert maya.get(f"/desk/feedback/{feedback['gone'].id}").status_code == 404
    assert maya.get(f"/desk/feedback/{feedback[SLUG].id}").status_code == 200


def test_a_name_is_matched_exactly_whatever_it_holds(
    tmp_path: Path, database_url: str
) -> None:
    # Names that a substring or LIKE test would confuse: a prefix, another
    # case, JSON's own quote and separators inside a name.
    from feedback_app.core.models import Feedback as F
    from feedback_app.site.ownership import encode_authors, written_by

    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "s",
            "DATABASE_URL": database_url,
            "SITE_INDEX_PATH": str(tmp_path / "none.json"),
        }
    )
    app.instance_path = str(tmp_path)
    upgrade(app)
    names = ["Ann", "ann", "Anna", 'x","Ann', 'Ann"', "A,nn", "Zoë", "%", "_"]
    with get_db(app).write() as session:
        for i, name in enumerate(names):
            session.add(
                F(
                    article_slug="s",
                    article_title="t",
                    article_url="/u/",
                    article_page_url="u/",
                    article_authors=encode_authors(["Other", name]),
                    message=name,
                    reply_token_hash=str(i),
                )
            )
    with get_db(app).read() as session:
        for name in names:
            found = session.scalars(
                select(F.message).where(written_by(F.article_authors, name))
            ).all()
            assert found == [name], name
    get_db(app).dispose()
