"""``flask import wordpress``, end to end: a real export (Pelican's own
test export, and one written for this project with what Pelican's lacks),
the files Pelican reads, the database, a real Pelican build of the result,
and importing again.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pelican
import pytest
from flask import Flask
from sqlalchemy import func, select

from feedback_app.core.db import get_db
from feedback_app.core.models import Author, Comment
from feedback_app.site.publishing import build_site

from .conftest import DATA, find, page

CARNET = DATA / "wordpress-carnet.xml"
PELICAN_EXPORT = Path(pelican.__file__).parent / "tests/content/wordpressexport.xml"
ARTICLE = "2019/appels-et-relances/"


def run_import(app: Flask, *args: str) -> tuple[int, str]:
    result = app.test_cli_runner().invoke(args=["import", "wordpress", *args])
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.output


def snapshot(site: Path) -> dict[str, str]:
    """Every file an import may write, by path, with its digest."""
    files = {}
    for folder in (site / "content", site / "redirects.map"):
        paths = [folder] if folder.is_file() else sorted(folder.rglob("*"))
        for path in paths:
            if path.is_file():
                digest = hashlib.sha256(path.read_bytes()).hexdigest()
                files[str(path.relative_to(site))] = digest
    return files


def comments(app: Flask) -> dict[int, Comment]:
    with get_db(app).read() as session:
        return {c.id: c for c in session.scalars(select(Comment))}


@pytest.fixture
def imported(importing_app: Flask, site: Path, uploads: Path) -> str:
    code, output = run_import(importing_app, str(CARNET), "--uploads", str(uploads))
    assert code == 0, output
    return output


def test_posts_and_pages_become_files_pelican_reads(imported: str, site: Path) -> None:
    post = (site / "content" / "appels-et-relances.md").read_text("utf-8")
    header, _, body = post.partition("\n\n")
    assert (
        header.splitlines()
        == [
            "Title: Appels & relances : ce que j’ai appris",
            # 07:30 UTC is 09:30 in Stockholm, the site's time zone.
            "Date: 2019-05-21 09:30",
            "Modified: 2020-01-10 12:00",
            "Author: Maya Lindqvist",
            "Category: Téléphone",
            "Tags: appels, été, R&D, Ventes",
            "Slug: appels-et-relances",
            "Summary: Une relance n’est pas un rappel à l’ordre. C'est une *deuxième"
            " chance* d’écouter. Voici ce que je fais depuis trois ans : - un appel"
            " court, préparé - une question de plus",
            "Status: published",
            "Imported_from: http://old.example.org/2019/05/appels-et-relances/",
        ][: len(header.splitlines())]
        or header
    )
    assert "{static}/images/wordpress/2019/05/chat-au-telephone" in body
    assert (
        site / "content/images/wordpress/2019/05/chat-au-telephone.png"
    ).read_bytes()[:4] == b"\x89PNG"
    page_file = (site / "content" / "pages" / "a-propos.md").read_text("utf-8")
    assert page_file.startswith("Title: À propos\n")
    japanese = (site / "content" / "日本語.md").read_text("utf-8")
    assert "Author: Jörg Bäcker" in japanese
    assert "Summary: Ein kurzer Auszug über Anrufe." in japanese
    assert "wp:paragraph" not in japanese
    draft = next((site / "content").glob("brouillon*.md")).read_text("utf-8")
    assert "Status: draft" in draft
    # Private and password-protected posts are not published, and say so.
    assert not list((site / "content").glob("prive*"))
    assert not list((site / "content").glob("protege*"))
    assert "private: WordPress showed it only to signed-in users" in imported
    assert "protected by a password" in imported


def test_the_built_site_shows_the_posts_and_their_threads(
    imported: str, site: Path, importing_app: Flask
) -> None:
    doc = page(site, ARTICLE)
    assert doc.findtext(".//h1").strip().startswith("Appels & relances")
    shown = [int(li.get("id").split("-")[1]) for li in find(doc, "li.comment")]
    # Approved only: not the pending, spam or trashed ones, nor link notices.
    assert sorted(shown) == [*range(201, 211), 216, 217, 218]
    # Ten levels in WordPress, five here (the site's COMMENTS_MAX_DEPTH):
    # the deeper replies are shown at the fifth, in order.
    depth = {
        cid: len(list(doc.get_element_by_id(f"comment-{cid}").iterancestors("li")))
        for cid in shown
    }
    assert [depth[cid] for cid in range(201, 211)] == [0, 1, 2, 3, 4, 4, 4, 4, 4, 4]
    assert depth[216] == 1  # Maya's answer to Ana, marked as the author's
    assert "by-author" in doc.get_element_by_id("comment-216").get("class")
    mia = doc.get_element_by_id("comment-218")
    assert find(mia, ".comment-author")[0].text_content() == "Mia <3 Müller"
    assert find(mia, ".comment-author a") == []  # javascript: was no website
    body = find(mia, ".comment-body")[0]
    assert find(body, "strong")[0].text == "très"
    assert find(body, "a")[0].get("href") == "https://example.net/r?x=1&y=2"
    assert "]]>" in body.text_content()
    assert not find(body, "script")
    anonymous = doc.get_element_by_id("comment-217")
    assert find(anonymous, ".comment-author")[0].text_content() == "Anonymous"
    japanese = page(site, "2020/日本語/")
    assert japanese.get_element_by_id("comment-301") is not None
    assert "by-author" in japanese.get_element_by_id("comment-302").get("class")
    assert (site / "build" / "output" / "a-propos" / "index.html").is_file()


def test_comments_keep_their_ids_states_dates_and_addresses_only_in_the_database(
    imported: str, site: Path, importing_app: Flask
) -> None:
    stored = comments(importing_app)
    assert set(stored) == {*range(201, 214), 216, 217, 218, 301, 302}
    assert stored[211].state == "pending"
    assert stored[211].reason == "was waiting for moderation on old.example.org"
    assert stored[212].state == "spam" and stored[213].state == "trash"
    assert stored[210].parent_id == 209 and stored[210].depth == 10
    assert stored[201].email == "reader0@example.net"
    assert stored[201].created_at.isoformat() == "2019-05-22T10:00:00+00:00"
    assert stored[301].website == "https://yuki.example.jp/"
    assert "2 pingbacks and trackbacks skipped" in " ".join(imported.split())
    # No address of a commenter anywhere in content/ (files, comment files).
    for path in (site / "content").rglob("*"):
        if path.is_file() and path.suffix in (".md", ".json", ".html"):
            text = path.read_text("utf-8")
            assert "@example.net" not in text and "@example.jp" not in text, path
    with get_db(importing_app).read() as session:
        authors = dict(session.execute(select(Author.name, Author.password_hash)).all())
    assert authors == {"Maya Lindqvist": None, "Jörg Bäcker": None}
    assert "Ghost Writer" in imported  # no address: named, not added


def test_importing_the_same_export_again_changes_nothing_and_says_so(
    imported: str, importing_app: Flask, site: Path, uploads: Path
) -> None:
    before = snapshot(site)
    count = len(comments(importing_app))
    code, output = run_import(importing_app, str(CARNET), "--uploads", str(uploads))
    assert code == 0, output
    assert "Nothing new" in output
    assert snapshot(site) == before
    assert len(comments(importing_app)) == count


def test_a_newer_export_adds_only_what_is_new_and_keeps_the_authors_edits(
    imported: str, importing_app: Flask, site: Path, tmp_path: Path, uploads: Path
) -> None:
    edited = site / "content" / "appels-et-relances.md"
    edited.write_text(edited.read_text("utf-8") + "\nUne ligne ajoutée ici.\n", "utf-8")
    newer = CARNET.read_text("utf-8").replace(
        "\t\t<wp:comment>\n\t\t\t<wp:comment_id>302</wp:comment_id>",
        "\t\t<wp:comment>\n\t\t\t<wp:comment_id>303</wp:comment_id>\n"
        "\t\t\t<wp:comment_author><![CDATA[Neu]]></wp:comment_author>\n"
        "\t\t\t<wp:comment_date_gmt>2020-03-01 10:00:00</wp:comment_date_gmt>\n"
        "\t\t\t<wp:comment_content><![CDATA[Später geschrieben.]]>"
        "</wp:comment_content>\n"
        "\t\t\t<wp:comment_approved>1</wp:comment_approved>\n"
        "\t\t</wp:comment>\n"
        "\t\t<wp:comment>\n\t\t\t<wp:comment_id>302</wp:comment_id>",
    )
    path = tmp_path / "newer.xml"
    path.write_text(newer, "utf-8")
    code, output = run_import(importing_app, str(path), "--uploads", str(uploads))
    assert code == 0, output
    assert "Une ligne ajoutée ici." in edited.read_text("utf-8")
    assert "1  posts already there, kept as they are (the export differs)" in output
    assert "2  posts unchanged" in output  # and the draft
    assert "1  comments imported: approved" in output
    stored = comments(importing_app)
    assert stored[303].name == "Neu"
    assert page(site, "2020/日本語/").get_element_by_id("comment-303") is not None


def test_a_broken_export_fails_with_its_line_and_writes_nothing(
    importing_app: Flask, site: Path, tmp_path: Path
) -> None:
    before = snapshot(site)
    lines = CARNET.read_text("utf-8").splitlines()
    broken = tmp_path / "broken.xml"
    broken.write_text("\n".join([*lines[:120], "<wp:comment>oops</wp:post>"]), "utf-8")
    code, output = run_import(importing_app, str(broken))
    assert code == 1
    assert "line 121" in output and "not well-formed" in output
    assert snapshot(site) == before
    assert comments(importing_app) == {}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            '<?xml version="1.0"?><rss><channel><title>x</title></channel></rss>',
            "not a WordPress export",
        ),
        ("<html><body>hello</body></html>", "not a WordPress export"),
        ("", "not well-formed"),
        ("\x00\x01", "not well-formed"),
    ],
)
def test_what_is_not_a_wordpress_export_is_refused_clearly(
    importing_app: Flask, site: Path, tmp_path: Path, text: str, message: str
) -> None:
    before = snapshot(site)
    path = tmp_path / "export.xml"
    path.write_text(text, "utf-8")
    code, output = run_import(importing_app, str(path))
    assert code == 1 and message in output
    assert snapshot(site) == before


def test_an_export_cannot_make_the_parser_read_a_file_or_expand_entities(
    importing_app: Flask, site: Path, tmp_path: Path
) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-LINE", "utf-8")
    text = (
        CARNET.read_text("utf-8")
        .replace(
            "<rss version",
            f'<!DOCTYPE rss [<!ENTITY leak SYSTEM "file://{secret}">'
            '<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">'
            '<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">]>\n<rss version',
            1,
        )
        .replace("Une relance n’est pas", "&leak;&c; Une relance n’est pas", 1)
    )
    path = tmp_path / "entities.xml"
    path.write_text(text, "utf-8")
    run_import(importing_app, str(path))
    for file in (site / "content").rglob("*.md"):
        body = file.read_text("utf-8")
        assert "TOP-SECRET-LINE" not in body and "aaaaaaaaaa" not in body


def test_pelicans_own_test_export_imports_and_builds(
    importing_app: Flask, site: Path
) -> None:
    code, output = run_import(importing_app, str(PELICAN_EXPORT))
    assert code == 0, output
    written = {p.name for p in (site / "content").glob("*.md")}
    assert {"with-comments.md", "with-excerpt.md", "html-entity-test.md"} <= written
    doc = page(site, "2012/with-comments/")
    shown = {li.get("id") for li in find(doc, "li.comment")}
    # 122 answers 121, which the export lacks: it is shown on top. The
    # trashed pingback 156 is not imported.
    assert shown == {"comment-116", "comment-117", "comment-122"}
    assert "1  pingbacks and trackbacks skipped" in output
    # Its custom post types are named in the report, not silently dropped.
    assert "WordPress type 'custom1'" in output


def test_a_comment_whose_id_is_taken_keeps_its_old_anchor(
    importing_app: Flask, site: Path, uploads: Path
) -> None:
    # A comment of this blog already has id 301 (on another article).
    with get_db(importing_app).write() as session:
        for _ in range(301):
            session.add(
                Comment(
                    article_slug="inside-sales-without-the-script",
                    article_page_url="2026/inside-sales-without-the-script/",
                    name="Here first",
                    body="x",
                    html="<p>x</p>",
                    state="trash",
                    fingerprint="f",
                )
            )
    code, output = run_import(importing_app, str(CARNET), "--uploads", str(uploads))
    assert code == 0, output
    with get_db(importing_app).read() as session:
        highest = session.scalar(select(func.max(Comment.id)))
        yuki = session.scalars(select(Comment).where(Comment.origin_id == "301")).one()
    assert yuki.id > 301 and yuki.anchor == "comment-301"
    doc = page(site, "2020/日本語/")
    assert doc.get_element_by_id("comment-301").tag == "article"
    # A reader's comment after the import gets an id no comment had.
    with get_db(importing_app).write() as session:
        late = Comment(
            article_slug="x",
            article_page_url="2026/x/",
            name="Later",
            body="y",
            html="<p>y</p>",
            state="pending",
            fingerprint="g",
        )
        session.add(late)
        session.flush()
        assert late.id == highest + 1


def test_a_dry_run_reports_and_writes_nothing(
    importing_app: Flask, site: Path, uploads: Path
) -> None:
    before = snapshot(site)
    code, output = run_import(
        importing_app, str(CARNET), "--uploads", str(uploads), "--dry-run"
    )
    assert code == 0, output
    assert "dry run: nothing was written" in output
    assert "3  posts to write" in output and "1  pages to write" in output
    assert snapshot(site) == before
    assert comments(importing_app) == {}


def test_an_imported_comment_waiting_for_moderation_is_approved_as_any_other(
    imported: str, importing_app: Flask, site: Path
) -> None:
    result = importing_app.test_cli_runner().invoke(args=["comments", "approve", "211"])
    assert result.exit_code == 0, result.output
    importing_app.extensions["publisher"].wait_idle()
    doc = page(site, ARTICLE)
    kai = doc.get_element_by_id("comment-211")
    assert find(kai, ".comment-body")[0].text_content().strip() == (
        "J’attends la modération."
    )
    # The thread the app rewrote is the one a full build writes.
    rewritten = (site / "build" / "output" / ARTICLE / "index.html").read_bytes()
    build_site(importing_app)
    assert (site / "build" / "output" / ARTICLE / "index.html").read_bytes() == (
        rewritten
    )


def test_slugs_the_site_already_uses_get_the_posts_id(
    importing_app: Flask, site: Path, tmp_path: Path
) -> None:
    text = (
        CARNET.read_text("utf-8")
        # A page named as Pelican's own archives/, and one as the site's
        # About page; a post with the slug of one of the site's articles.
        .replace(
            "<wp:post_name><![CDATA[a-propos]]></wp:post_name>",
            "<wp:post_name><![CDATA[archives]]></wp:post_name>",
        )
        .replace(
            "<wp:post_name><![CDATA[appels-et-relances]]></wp:post_name>",
            "<wp:post_name><![CDATA[inside-sales-without-the-script]]></wp:post_name>",
        )
    )
    path = tmp_path / "taken.xml"
    path.write_text(text, "utf-8")
    code, output = run_import(importing_app, str(path))
    assert code == 0, output
    assert (site / "content" / "pages" / "archives-106.md").is_file()
    assert (site / "content" / "inside-sales-without-the-script-101.md").is_file()
    output_dir = site / "build" / "output"
    assert (output_dir / "archives-106" / "index.html").is_file()
    assert (
        output_dir / "2019/inside-sales-without-the-script-101/index.html"
    ).is_file()
    # The site's own pages are still its own.
    assert "Archives" in (output_dir / "archives" / "index.html").read_text("utf-8")
    # Importing again finds the same files.
    code, output = run_import(importing_app, str(path))
    assert code == 0 and "Nothing new" in output, output


def test_links_pelican_would_follow_and_markup_that_runs_are_not_imported(
    importing_app: Flask, site: Path, tmp_path: Path
) -> None:
    """An export whose post links, in Pelican's syntax, to a file outside
    the content folder, and carries what would run on the site's origin."""
    hostile = (
        '<a href="{static}/../../../etc/hostname">x</a> '
        '<a href=" javascript:alert(1)">y</a> '
        '<img src="data:image/png;base64,AAAA" onerror="alert(2)" alt="z"> '
        "<form action=https://evil.example/><input name=q></form> "
        '<iframe src="http://evil.example/"></iframe> '
    )
    text = CARNET.read_text("utf-8").replace(
        "Une relance n’est pas", hostile + "Une relance n’est pas", 1
    )
    # A table without a header row keeps another post as HTML.
    text = text.replace(
        "Pas encore prêt.",
        "<table><tr><td>1</td></tr></table>" + hostile,
    ).replace(
        "<wp:status><![CDATA[draft]]></wp:status>",
        "<wp:status><![CDATA[publish]]></wp:status>",
    )
    path = tmp_path / "hostile.xml"
    path.write_text(text, "utf-8")
    code, output = run_import(importing_app, str(path))
    assert code == 0, output
    assert "a link this site does not publish was removed" in output
    for source in ("appels-et-relances.md", "brouillon-jamais-publié.html"):
        written = (site / "content" / source).read_text("utf-8")
        for word in ("{static}/..", "javascript", "data:", "onerror", "<form", "evil"):
            assert word not in written, (source, word)
    built = (site / "build" / "output").rglob("*.html")
    for page_file in built:
        body = page_file.read_text("utf-8")
        assert "javascript:alert" not in body and "onerror" not in body
    assert not list((site / "build" / "output").rglob("hostname"))


def test_an_import_whose_build_fails_takes_its_files_back(
    importing_app: Flask, site: Path
) -> None:
    before = snapshot(site)
    importing_app.config["BUILD_TIMEOUT"] = 0.001
    code, output = run_import(importing_app, str(CARNET))
    assert code == 1
    assert "BUILD_TIMEOUT" in output and "were removed again" in output
    assert snapshot(site) == before
    assert comments(importing_app) == {}


def test_imported_spam_and_trash_wait_the_purge_limit_from_the_import(
    imported: str, importing_app: Flask
) -> None:
    """They are years old on the old site: counted from then, the hourly
    purge would delete them at once, and each import would bring them back."""
    result = importing_app.test_cli_runner().invoke(args=["purge", "--days", "30"])
    assert result.exit_code == 0, result.output
    assert "Purged 0 comments" in result.output
    stored = comments(importing_app)
    assert (stored[212].state, stored[213].state) == ("spam", "trash")


def test_a_reply_to_another_posts_comment_stays_on_its_own_post(
    importing_app: Flask, site: Path, tmp_path: Path
) -> None:
    """A broken (or hostile) export: comment 302 names as its parent 201,
    a comment of another post. It is shown on its own post, on top."""
    text = CARNET.read_text("utf-8").replace(
        "<wp:comment_parent>301</wp:comment_parent>",
        "<wp:comment_parent>201</wp:comment_parent>",
    )
    path = tmp_path / "crossed.xml"
    path.write_text(text, "utf-8")
    code, output = run_import(importing_app, str(path))
    assert code == 0, output
    stored = comments(importing_app)
    assert stored[302].parent_id is None
    assert stored[302].article_page_url == "2020/日本語/"
    assert page(site, "2020/日本語/").get_element_by_id("comment-302") is not None


def test_an_old_address_that_is_one_of_this_sites_is_never_redirected(
    importing_app: Flask, site: Path, tmp_path: Path
) -> None:
    text = (
        CARNET.read_text("utf-8")
        .replace(
            '<guid isPermaLink="false">http://old.example.org/?p=102</guid>',
            '<guid isPermaLink="false">http://old.example.org/theme/css/main.css'
            "</guid>",
        )
        .replace(
            "<link>http://old.example.org/2019/05/appels-et-relances/</link>",
            "<link>http://old.example.org/2026/inside-sales-without-the-script/</link>",
        )
    )
    path = tmp_path / "takeover.xml"
    path.write_text(text, "utf-8")
    code, output = run_import(importing_app, str(path))
    assert code == 0, output
    assert "it is an address of this site" in output
    table = (site / "redirects.map").read_text("utf-8")
    assert '"/theme/css/main.css"' not in table
    assert '"/2026/inside-sales-without-the-script"' not in table
    assert '"/?p=101" "/2019/appels-et-relances/";' in table


def test_values_longer_than_the_database_holds_are_reported_not_crashed_on(
    importing_app: Flask, site: Path, tmp_path: Path
) -> None:
    """PostgreSQL refuses what SQLite would store: both must say the same."""
    long_host = "http://old.example.org/" + "b" * 300
    text = (
        CARNET.read_text("utf-8")
        .replace(
            "<wp:base_blog_url>http://old.example.org</wp:base_blog_url>",
            f"<wp:base_blog_url>{long_host}</wp:base_blog_url>",
        )
        .replace(
            "<![CDATA[Jörg Bäcker]]></wp:author_display_name>",
            f"<![CDATA[{'Jörg ' * 50}]]></wp:author_display_name>",
        )
    )
    path = tmp_path / "long.xml"
    path.write_text(text, "utf-8")
    code, output = run_import(importing_app, str(path))
    assert code == 0, output
    assert "a name or address too long" in output
    # His post too: its Author line would be longer than a header holds.
    assert "its author: Please keep this to 200 characters." in output
    assert "13  comments imported: approved" in output, output
    with get_db(importing_app).read() as session:
        origins = set(session.scalars(select(Comment.origin)))
    assert origins == {f"wordpress {long_host}"[:200]}


def test_addresses_are_checked_before_they_are_stored(
    importing_app: Flask, site: Path, tmp_path: Path
) -> None:
    """An author's address goes into mail headers: one holding a line
    break (or that is none) makes no account; a commenter's is dropped."""
    text = (
        CARNET.read_text("utf-8")
        .replace(
            "<wp:author_email><![CDATA[joerg@old.example.org]]>",
            "<wp:author_email><![CDATA[joerg@old.example.org\nBcc: all@example.net]]>",
        )
        .replace(
            "<![CDATA[reader0@example.net]]>", "<![CDATA[reader0 at example.net]]>"
        )
    )
    path = tmp_path / "addresses.xml"
    path.write_text(text, "utf-8")
    code, output = run_import(importing_app, str(path))
    assert code == 0, output
    assert "author Jörg Bäcker: no usable address in the export" in output
    with get_db(importing_app).read() as session:
        names = set(session.scalars(select(Author.name)))
    assert names == {"Maya Lindqvist"}
    assert comments(importing_app)[201].email is None
