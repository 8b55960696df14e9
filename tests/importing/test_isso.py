"""Isso's SQLite database read into the neutral records: databases made
here with Isso's own schema, filled as Isso fills them, and files that are
not Isso databases.

Longer than 400 lines because each case builds its own database row by
row, as Isso writes it, with Isso's schema spelt out at the top."""

from __future__ import annotations

import hashlib
import html
import os
import sqlite3
import stat
from datetime import UTC, datetime
from pathlib import Path

import pytest

from feedback_app.importing.isso import read_isso
from feedback_app.importing.records import ImportedThread, SourceError

# Isso's schema as its code creates it, in its order: isso/db/__init__.py
# (SQLite3.__init__: preferences, threads, comments, then the trigger and
# user_version 5), isso/db/preferences.py, isso/db/threads.py and
# isso/db/comments.py (Comments.create_table_query), isso-comments/isso at
# commit 9c24f9b3d9f259cff84b67e50875e6137b459ef7. Checked once against
# sqlite_master and user_version of a database made by that Isso's own
# isso.db.SQLite3: the same, byte for byte.
ISSO_SCHEMA = [
    "CREATE TABLE IF NOT EXISTS preferences ("
    "    key VARCHAR PRIMARY KEY, value VARCHAR );",
    "CREATE TABLE IF NOT EXISTS threads ("
    "     id INTEGER PRIMARY KEY, uri VARCHAR(256) UNIQUE, title VARCHAR(256))",
    """
            CREATE TABLE IF NOT EXISTS comments (
                tid REFERENCES threads(id),
                id INTEGER PRIMARY KEY,
                parent INTEGER,
                created FLOAT NOT NULL,
                modified FLOAT,
                mode INTEGER,
                remote_addr VARCHAR,
                text VARCHAR NOT NULL,
                author VARCHAR,
                email VARCHAR,
                website VARCHAR,
                likes INTEGER DEFAULT 0,
                dislikes INTEGER DEFAULT 0,
                voters BLOB NOT NULL,
                notification INTEGER DEFAULT 0
            );
        """,
    "CREATE TRIGGER IF NOT EXISTS remove_stale_threads AFTER DELETE ON comments BEGIN"
    "     DELETE FROM threads WHERE id NOT IN (SELECT tid FROM comments); END",
    "PRAGMA user_version = 5",
]
# Isso's first schema (isso/db/comments.py and threads.py at commit
# 560e73cc, 2013): no notification column, text may be NULL.
OLDEST_SCHEMA = [
    "CREATE TABLE IF NOT EXISTS threads ("
    "     id INTEGER PRIMARY KEY, uri VARCHAR(256) UNIQUE, title VARCHAR(256))",
    "CREATE TABLE IF NOT EXISTS comments ("
    "     tid REFERENCES threads(id), id INTEGER PRIMARY KEY, parent INTEGER,"
    "     created FLOAT NOT NULL, modified FLOAT, mode INTEGER, remote_addr VARCHAR,"
    "     text VARCHAR, author VARCHAR, email VARCHAR, website VARCHAR,"
    "     likes INTEGER DEFAULT 0, dislikes INTEGER DEFAULT 0, voters BLOB NOT NULL);",
]

T0 = datetime(2019, 4, 1, 8, 0, tzinfo=UTC).timestamp()


def make_db(path: Path, schema: list[str] = ISSO_SCHEMA) -> sqlite3.Connection:
    connection = sqlite3.connect(path)
    for statement in schema:
        connection.execute(statement)
    connection.commit()
    return connection


def add_thread(connection: sqlite3.Connection, uri: str, title: str | None) -> int:
    cursor = connection.execute(
        "INSERT INTO threads (uri, title) VALUES (?, ?)", (uri, title)
    )
    connection.commit()
    return cursor.lastrowid


def add_comment(
    connection: sqlite3.Connection,
    tid: int,
    text: str | None,
    *,
    parent: int | None = None,
    created: object = T0,
    mode: object = 1,
    author: str | None = None,
    email: str | None = None,
    website: str | None = None,
    escape: bool = True,
) -> int:
    """A comment stored as Isso's POST /new stores it (views/comments.py):
    author and email escaped without quotes, the website with them and
    given an http:// when it had no scheme."""
    if escape:
        author = html.escape(author, quote=False) if author is not None else None
        email = html.escape(email, quote=False) if email is not None else None
        if website is not None:
            website = html.escape(website, quote=True)
            if website and not website.startswith(("http://", "https://")):
                website = "http://" + website
    cursor = connection.execute(
        "INSERT INTO comments (tid, parent, created, modified, mode, remote_addr,"
        " text, author, email, website, voters, notification)"
        " VALUES (?, ?, ?, NULL, ?, '192.0.2.0', ?, ?, ?, ?, ?, 0)",
        (tid, parent, created, mode, text, author, email, website, b"\x00" * 32),
    )
    connection.commit()
    return cursor.lastrowid


def delete_as_isso(connection: sqlite3.Connection, id: int) -> None:
    """Isso's Comments.delete for a comment with replies: the placeholder."""
    connection.execute("UPDATE comments SET text=? WHERE id=?", ("", id))
    connection.execute("UPDATE comments SET mode=? WHERE id=?", (4, id))
    connection.execute(
        "UPDATE comments SET author=NULL, website=NULL WHERE id=?", (id,)
    )
    connection.commit()


@pytest.fixture
def site_db(tmp_path: Path) -> tuple[Path, dict[str, int]]:
    """A blog's comments as Isso kept them: two pages with threads, one
    page whose only comment was removed, every mode, non-ASCII everywhere."""
    path = tmp_path / "comments.db"
    db = make_db(path)
    ids: dict[str, int] = {}
    hello = add_thread(db, "/2019/hello/", "Hello — «Grüße» & 你好")
    ids["first"] = add_comment(
        db,
        hello,
        "**Première** réponse & <b>merci</b> :)\n\n> cité",
        created=T0 + 0.25,
        author="Zoë <Ångström> & Co",
        email="zoe@example.org",
        website="zoe.example.org/blog?a=1&b='2'",
    )
    ids["reply"] = add_comment(
        db,
        hello,
        "Đồng ý! 👍",
        parent=ids["first"],
        created=T0 + 60,
        author="Ngọc Trâm",
    )
    # Isso files a reply to a reply under the first comment; an older Isso
    # (or an edit) can leave the real parent: it is kept.
    ids["deep"] = add_comment(
        db, hello, "שלום `code`", parent=ids["reply"], created=T0 + 120, author="יעל"
    )
    ids["deeper"] = add_comment(
        db, hello, "مرحبا", parent=ids["deep"], created=T0 + 180, author="محمد"
    )
    ids["pending"] = add_comment(
        db, hello, "Waiting for the moderator", created=T0 + 240, mode=2, author="Олег"
    )
    ids["deleted"] = add_comment(
        db,
        hello,
        "I take that back",
        created=T0 + 300,
        author="김민준",
        email="k@example.org",
    )
    ids["after_deleted"] = add_comment(
        db, hello, "Replying anyway", parent=ids["deleted"], created=T0 + 360
    )
    delete_as_isso(db, ids["deleted"])
    ids["anonymous"] = add_comment(db, hello, "Anonymous, ¿vale?", created=T0 + 420)
    cafe = add_thread(db, "/2020/café-au-lait/", None)
    ids["cafe"] = add_comment(
        db,
        cafe,
        "日本語の*コメント*",
        created=T0 + 86400,
        author="佐藤 花子",
        website="",
    )
    # A page whose only comment Isso removed: the trigger removes the
    # thread; a thread made by a refused comment stays, empty.
    add_thread(db, "/2021/quiet/", "Quiet")
    db.close()
    return path, ids


def read(path: Path) -> dict[str, ImportedThread]:
    return {thread.url or thread.title: thread for thread in read_isso(path)}


def by_id(thread: ImportedThread) -> dict[str, object]:
    return {comment.source_id: comment for comment in thread.comments}


def test_threads_with_comments(site_db: tuple[Path, dict[str, int]]) -> None:
    path, _ = site_db
    threads = read(path)
    assert list(threads) == ["/2019/hello/", "/2020/café-au-lait/"]
    assert threads["/2019/hello/"].title == "Hello — «Grüße» & 你好"
    assert threads["/2020/café-au-lait/"].title == ""
    assert all(thread.identifiers == () for thread in threads.values())


def test_comments_fields(site_db: tuple[Path, dict[str, int]]) -> None:
    path, ids = site_db
    hello = by_id(read(path)["/2019/hello/"])
    first = hello[str(ids["first"])]
    assert first.name == "Zoë <Ångström> & Co"  # unescaped
    assert first.email == "zoe@example.org"
    assert first.website == "http://zoe.example.org/blog?a=1&b='2'"
    assert first.body == "**Première** réponse & <b>merci</b> :)\n\n> cité"
    assert first.body_format == "markdown"
    assert first.anchor == f"isso-{ids['first']}"
    assert first.created_at == datetime(2019, 4, 1, 8, 0, 0, 250000, tzinfo=UTC)
    assert first.created_at.tzinfo is UTC
    assert first.state == "approved" and first.kind == "comment"
    assert first.parent_id is None and first.line is None


def test_the_real_parent_is_kept(site_db: tuple[Path, dict[str, int]]) -> None:
    path, ids = site_db
    hello = by_id(read(path)["/2019/hello/"])
    assert hello[str(ids["reply"])].parent_id == str(ids["first"])
    assert hello[str(ids["deep"])].parent_id == str(ids["reply"])
    assert hello[str(ids["deeper"])].parent_id == str(ids["deep"])


def test_modes(site_db: tuple[Path, dict[str, int]]) -> None:
    path, ids = site_db
    hello = by_id(read(path)["/2019/hello/"])
    assert hello[str(ids["pending"])].state == "pending"
    deleted = hello[str(ids["deleted"])]
    assert (deleted.state, deleted.body, deleted.name) == ("trash", "", "")
    assert deleted.email == "k@example.org"  # Isso keeps it on the placeholder
    after = hello[str(ids["after_deleted"])]
    assert (after.parent_id, after.state) == (str(ids["deleted"]), "approved")


def test_anonymous_comments(site_db: tuple[Path, dict[str, int]]) -> None:
    path, ids = site_db
    threads = read(path)
    anonymous = by_id(threads["/2019/hello/"])[str(ids["anonymous"])]
    assert (anonymous.name, anonymous.email, anonymous.website) == ("", None, None)
    cafe = by_id(threads["/2020/café-au-lait/"])[str(ids["cafe"])]
    assert cafe.website is None  # an empty website field
    assert cafe.name == "佐藤 花子"


@pytest.mark.parametrize(
    ("stored", "read_as"),
    [
        ("https://example.org/", "https://example.org/"),
        ("HTTP://EXAMPLE.ORG", "HTTP://EXAMPLE.ORG"),
        ("http://bücher.example/ü", "http://bücher.example/ü"),
        ("https://example.org/a&amp;b", "https://example.org/a&b"),
        ("javascript:alert(1)", None),
        ("http://", None),
        ("ftp://example.org/", None),
        ("//example.org/", None),
        ("example.org", None),
        ("http://exa mple.org/", None),
        ("http://example.org/\nx", None),
        ("http://[::1", None),
        ("data:text/html,hi", None),
        ("", None),
    ],
)
def test_websites_are_http_addresses_or_none(
    tmp_path: Path, stored: str, read_as: str | None
) -> None:
    db = make_db(tmp_path / "c.db")
    add_comment(db, add_thread(db, "/a/", "A"), "text", website=stored, escape=False)
    db.close()
    (thread,) = read_isso(tmp_path / "c.db")
    assert thread.comments[0].website == read_as


def test_unknown_modes_wait_for_moderation(tmp_path: Path) -> None:
    db = make_db(tmp_path / "c.db")
    tid = add_thread(db, "/a/", "A")
    for mode in (3, 0, None, "x", 1.0):
        add_comment(db, tid, f"mode {mode}", mode=mode)
    db.close()
    (thread,) = read_isso(tmp_path / "c.db")
    assert [c.state for c in thread.comments] == ["pending"] * 4 + ["approved"]


def test_parents_before_replies_and_odd_parents(tmp_path: Path) -> None:
    db = make_db(tmp_path / "c.db")
    a, b = add_thread(db, "/a/", "A"), add_thread(db, "/b/", "B")
    reply = add_comment(db, a, "reply first", created=T0 + 10)  # parent set below
    parent = add_comment(db, a, "parent later", created=T0 + 20)
    db.execute("UPDATE comments SET parent=? WHERE id=?", (parent, reply))
    elsewhere = add_comment(db, b, "on another page", created=T0)
    stray = add_comment(db, a, "parent on page B", parent=elsewhere, created=T0 + 30)
    gone = add_comment(db, a, "parent gone", parent=9999, created=T0 + 40)
    zero = add_comment(db, a, "parent 0", parent=0, created=T0 + 50)
    db.commit()
    db.close()
    threads = read(tmp_path / "c.db")
    assert [(c.source_id, c.parent_id) for c in threads["/a/"].comments] == [
        (str(parent), None),
        (str(reply), str(parent)),
        (str(stray), None),
        (str(gone), None),
        (str(zero), None),
    ]


def test_text_that_is_not_utf8(tmp_path: Path) -> None:
    db = make_db(tmp_path / "c.db")
    tid = add_thread(db, "/a/", "A")
    add_comment(db, tid, "text", author="x")
    db.execute("UPDATE comments SET author = CAST(X'4fff6b' AS TEXT)")
    db.commit()
    db.close()
    (thread,) = read_isso(tmp_path / "c.db")
    assert thread.comments[0].name == "O\ufffdk"


def test_comments_of_a_missing_thread_are_kept(tmp_path: Path) -> None:
    db = make_db(tmp_path / "c.db")
    add_comment(db, 42, "my page is gone", author="Ωμέγα")
    db.close()
    (thread,) = read_isso(tmp_path / "c.db")
    assert (thread.url, thread.title) == ("", "Isso thread 42 (not in the database)")
    assert thread.comments[0].name == "Ωμέγα"


def test_isso_s_first_schema_is_read(tmp_path: Path) -> None:
    db = make_db(tmp_path / "old.db", OLDEST_SCHEMA)
    tid = add_thread(db, "/2013/old/", "Old")
    db.execute(
        "INSERT INTO comments (tid, parent, created, mode, remote_addr, text,"
        " author, email, website, voters)"
        " VALUES (?, NULL, ?, 1, '', NULL, 'Früh', NULL, NULL, ?)",
        (tid, T0, b"\x00"),
    )
    db.commit()
    db.close()
    (thread,) = read_isso(tmp_path / "old.db")
    assert (thread.comments[0].body, thread.comments[0].name) == ("", "Früh")


def test_opened_read_only_and_left_unchanged(
    site_db: tuple[Path, dict[str, int]], tmp_path: Path
) -> None:
    path, _ = site_db
    before = hashlib.sha256(path.read_bytes()).hexdigest()
    listing = sorted(p.name for p in tmp_path.iterdir())
    os.chmod(path, stat.S_IRUSR)
    try:
        assert len(read_isso(path)) == 2
    finally:
        os.chmod(path, stat.S_IRUSR | stat.S_IWUSR)
    assert hashlib.sha256(path.read_bytes()).hexdigest() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == listing  # no journal left


def test_a_path_with_uri_characters(tmp_path: Path) -> None:
    folder = tmp_path / "é ?#%20&mode=rw"
    folder.mkdir()
    db = make_db(folder / "comments?.db")
    add_comment(db, add_thread(db, "/a/", "A"), "text")
    db.close()
    assert len(read_isso(folder / "comments?.db")) == 1


@pytest.mark.parametrize(
    ("created", "words"),
    [
        ("yesterday", "created is 'yesterday', not a Unix time"),
        (b"\x01", "not a Unix time"),
        (1e20, "out of range"),
        (float("inf"), "out of range"),
    ],
)
def test_a_comment_without_a_readable_date_is_refused(
    tmp_path: Path, created: object, words: str
) -> None:
    db = make_db(tmp_path / "c.db")
    add_comment(db, add_thread(db, "/a/", "A"), "text", created=created)
    db.close()
    with pytest.raises(SourceError, match="comment 1: ") as raised:
        read_isso(tmp_path / "c.db")
    assert words in str(raised.value)


def test_not_an_isso_database(tmp_path: Path) -> None:
    text = tmp_path / "notes.db"
    text.write_text("not a database at all\n" * 100, encoding="utf-8")
    with pytest.raises(
        SourceError, match=r"not an Isso database .*file is not a database"
    ):
        read_isso(text)
    empty = tmp_path / "empty.db"
    empty.write_bytes(b"")
    with pytest.raises(SourceError, match="it has no threads table"):
        read_isso(empty)
    other = tmp_path / "other.db"
    connection = sqlite3.connect(other)
    connection.execute(
        "CREATE TABLE threads (id INTEGER PRIMARY KEY, url TEXT, title TEXT)"
    )
    connection.execute("CREATE TABLE comments (id INTEGER PRIMARY KEY, body TEXT)")
    connection.close()
    with pytest.raises(SourceError, match="its threads table has no uri"):
        read_isso(other)
    connection = sqlite3.connect(other)
    connection.execute("ALTER TABLE threads RENAME COLUMN url TO uri")
    connection.close()
    with pytest.raises(SourceError) as raised:
        read_isso(other)
    assert str(raised.value).endswith(
        "its comments table has no tid, parent, created, mode, text, author, email,"
        " website"
    )
    with pytest.raises(SourceError, match=r"cannot read .*: no such file"):
        read_isso(tmp_path / "missing.db")
    with pytest.raises(SourceError, match="cannot read"):
        read_isso(tmp_path)
    assert not (tmp_path / "missing.db").exists()
