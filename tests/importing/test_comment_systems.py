"""``flask import disqus`` and ``flask import isso``, end to end: threads
attached to the site's articles by their old address (directly, through
the redirect map of a WordPress import, or by slug), comments stored with
their states and anchors, the pages built, and importing again.
"""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

from flask import Flask
from sqlalchemy import select

from feedback_app.core.db import get_db
from feedback_app.core.models import Comment

from .conftest import DATA, find, page
from .test_isso import ISSO_SCHEMA, add_comment, add_thread, delete_as_isso

INSIDE_SALES = "2026/inside-sales-without-the-script/"
FOLLOW_UP = "2026/follow-up-emails-that-get-answered/"


def run(app: Flask, *args: str) -> tuple[int, str]:
    result = app.test_cli_runner().invoke(args=["import", *args])
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.output


def by_origin(app: Flask, origin: str) -> dict[str, Comment]:
    with get_db(app).read() as session:
        rows = session.scalars(select(Comment).where(Comment.origin == origin))
        return {c.origin_id: c for c in rows}


def disqus_export(tmp_path: Path) -> Path:
    """The test export, its first thread at an article's address and its
    second at an address the WordPress import redirects."""
    text = (DATA / "disqus-export.xml").read_text("utf-8")
    text = text.replace(
        "https://blog.example.org/2015/03/hello-world/",
        f"https://blog.example.org/{INSIDE_SALES}",
    ).replace(
        "https://blog.example.org/2016/07/caf%C3%A9-au-lait/",
        "https://blog.example.org/2019/05/appels-et-relances/",
    )
    path = tmp_path / "disqus.xml"
    path.write_text(text, "utf-8")
    return path


def test_disqus_threads_land_on_their_articles_with_states_and_anchors(
    importing_app: Flask, site: Path, tmp_path: Path
) -> None:
    code, output = run(importing_app, "wordpress", str(DATA / "wordpress-carnet.xml"))
    assert code == 0, output
    export = disqus_export(tmp_path)
    code, output = run(importing_app, "disqus", str(export))
    assert code == 0, output
    stored = by_origin(importing_app, "disqus")
    assert stored["3200000007"].state == "spam"
    assert stored["3200000008"].state == "trash"
    first = stored["3200000001"]
    assert first.article_page_url == INSIDE_SALES
    assert first.anchor == "comment-3200000001"
    assert stored["3200000002"].parent_id == first.id
    # Through the WordPress import's redirect map.
    assert stored["3200000020"].article_page_url == "2019/appels-et-relances/"
    doc = page(site, INSIDE_SALES)
    article = doc.get_element_by_id("comment-3200000001")
    assert article.tag == "article"
    assert article.getparent().get("id") == f"comment-{first.id}"
    # Threads whose address is no article's are listed, not guessed.
    assert "Threads that matched no article" in output
    assert "2017/01/no-comments" not in output  # it has no comments at all
    assert "not in the export" in output
    code, again = run(importing_app, "disqus", str(export))
    assert code == 0 and "Nothing new" in again
    assert len(by_origin(importing_app, "disqus")) == len(stored)


def test_isso_threads_land_on_their_articles_and_keep_isso_anchors(
    importing_app: Flask, site: Path, tmp_path: Path
) -> None:
    path = tmp_path / "comments.db"
    connection = sqlite3.connect(path)
    for statement in ISSO_SCHEMA:
        connection.execute(statement)
    here = add_thread(connection, f"/{FOLLOW_UP}", "Follow-up e-mails")
    gone = add_thread(connection, "/2010/old-post/", "Old")
    top = add_comment(connection, here, "Très *utile*, merci.", author="Zoé")
    held = add_comment(connection, here, "En attente", mode=2, author="Kim")
    removed = add_comment(connection, here, "Effacé", author="Lou")
    reply = add_comment(connection, here, "Réponse à Lou", parent=removed)
    delete_as_isso(connection, removed)
    add_comment(connection, gone, "Nowhere", author="N")
    connection.close()
    code, output = run(importing_app, "isso", str(path))
    assert code == 0, output
    stored = by_origin(importing_app, "isso")
    assert stored[str(top)].state == "approved"
    assert stored[str(held)].state == "pending"
    assert stored[str(removed)].state == "trash"
    assert stored[str(reply)].parent_id == stored[str(removed)].id
    assert stored[str(top)].anchor == f"isso-{top}"
    doc = page(site, FOLLOW_UP)
    zoe = doc.get_element_by_id(f"isso-{top}")
    assert find(zoe, ".comment-body em")[0].text == "utile"
    # The reply to a removed comment is shown, in its place.
    assert doc.get_element_by_id(f"isso-{reply}") is not None
    assert "/2010/old-post/" in output


def test_old_anchors_that_are_ids_or_not_words_are_left_out(
    importing_app: Flask, site: Path, tmp_path: Path
) -> None:
    """Disqus ids are large numbers; an export with small ones (or one
    holding markup) must not give two elements of a page one id."""
    text = (
        disqus_export(tmp_path)
        .read_text("utf-8")
        .replace('dsq:id="3200000001"', 'dsq:id="2"')
        .replace('dsq:id="3200000002"', 'dsq:id="1"')
        .replace('dsq:id="3200000003"', 'dsq:id="x&quot; onmouseover=alert(1) y"')
    )
    path = tmp_path / "small-ids.xml"
    path.write_text(text, "utf-8")
    code, output = run(importing_app, "disqus", str(path))
    assert code == 0, output
    stored = by_origin(importing_app, "disqus")
    assert stored["2"].anchor is None and stored["1"].anchor is None
    assert stored['x" onmouseover=alert(1) y'].anchor is None
    assert stored["3200000004"].anchor == "comment-3200000004"
    html = (site / "build" / "output" / INSIDE_SALES / "index.html").read_text("utf-8")
    ids = re.findall(r'\bid="([^"]*)"', html)
    assert len(ids) == len(set(ids))
    assert "onmouseover" not in html
