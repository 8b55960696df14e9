"""Disqus's XML export read into the neutral records: the export written
for these tests (tests/data/imports/disqus-export.xml, in the shape of
Disqus's real "Export comments" file), odd references, and hostile XML."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from feedback_app.importing.disqus import read_disqus
from feedback_app.importing.records import STATES, ImportedThread, SourceError

EXPORT = Path(__file__).parents[1] / "data" / "imports" / "disqus-export.xml"
HEAD = (
    '<?xml version="1.0" encoding="utf-8"?>\n'
    '<disqus xmlns="http://disqus.com" xmlns:dsq="http://disqus.com/disqus-internals">\n'
)
THREAD = (
    '<thread dsq:id="71"><id>t-71</id><link>https://example.org/a/</link>'
    "<title>A</title></thread>\n"
)


def post(
    dsq_id: str = "1",
    *,
    parent: str | None = None,
    thread: str = '<thread dsq:id="71" />',
    created: str = "2020-02-02T20:20:20Z",
    message: str = "<![CDATA[<p>hi</p>]]>",
    extra: str = "",
) -> str:
    """One <post> element as Disqus writes it."""
    parent_element = f'<parent dsq:id="{parent}" />' if parent else ""
    return (
        f'<post dsq:id="{dsq_id}"><id /><message>{message}</message>'
        f"<createdAt>{created}</createdAt><isDeleted>false</isDeleted>"
        f"<isSpam>false</isSpam>{extra}<author><email>a@example.org</email>"
        f"<name>Ann</name><isAnonymous>false</isAnonymous></author>"
        f"{thread}{parent_element}</post>\n"
    )


def export(
    tmp_path: Path, body: str, *, head: str = HEAD, tail: str = "</disqus>\n"
) -> Path:
    path = tmp_path / "export.xml"
    path.write_text(head + body + tail, encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def threads() -> dict[str, ImportedThread]:
    return {thread.url or thread.title: thread for thread in read_disqus(EXPORT)}


def comments_of(thread: ImportedThread) -> dict[str, object]:
    return {comment.source_id: comment for comment in thread.comments}


# The export written for the tests ------------------------------------------


def test_threads_with_posts_by_link_in_the_exports_order(threads: dict) -> None:
    assert list(threads) == [
        "https://blog.example.org/2015/03/hello-world/",
        "https://blog.example.org/2016/07/caf%C3%A9-au-lait/",
        "https://blog.example.org/2018/05/moved/",
        "Disqus thread 7199999999 (not in the export)",
    ]  # "Silence" (no posts) and the empty <thread> are left out
    hello = threads["https://blog.example.org/2015/03/hello-world/"]
    assert hello.title == "Hello, world — «Grüße» & 你好"
    assert hello.identifiers == ("hello-world-2015",)
    assert (
        threads["https://blog.example.org/2016/07/caf%C3%A9-au-lait/"].identifiers == ()
    )


def test_threads_sharing_a_link_become_one(threads: dict) -> None:
    moved = threads["https://blog.example.org/2018/05/moved/"]
    assert moved.title == "Umzug nach Köln"
    assert moved.identifiers == ("17 https://blog.example.org/?p=17", "moved-post")
    # The reply was filed under the other thread of the same page.
    assert [(c.source_id, c.parent_id) for c in moved.comments] == [
        ("3200000030", None),
        ("3200000031", "3200000030"),
    ]


def test_a_post_of_a_thread_the_export_lacks_is_kept(threads: dict) -> None:
    lost = threads["Disqus thread 7199999999 (not in the export)"]
    assert lost.url == "" and lost.identifiers == ()
    assert [c.name for c in lost.comments] == ["Ωμέγα"]


def test_a_reply_chain_five_deep_keeps_every_parent(threads: dict) -> None:
    hello = comments_of(threads["https://blog.example.org/2015/03/hello-world/"])
    chain, node = [], hello["3200000006"]
    while node.parent_id:
        chain.append(node.parent_id)
        node = hello[node.parent_id]
    assert chain == [
        "3200000005",
        "3200000004",
        "3200000003",
        "3200000002",
        "3200000001",
    ]


def test_parents_come_before_replies_else_oldest_first(threads: dict) -> None:
    hello = threads["https://blog.example.org/2015/03/hello-world/"]
    order = [c.source_id for c in hello.comments]
    # 3200000004 comes first in the file and was dated before its parent
    # 3200000003 (a skewed clock); it still follows it.
    assert order.index("3200000003") < order.index("3200000004")
    seen: set[str] = set()
    for comment in hello.comments:
        assert comment.parent_id is None or comment.parent_id in seen
        seen.add(comment.source_id)


def test_states_anchors_and_fields(threads: dict) -> None:
    hello = comments_of(threads["https://blog.example.org/2015/03/hello-world/"])
    first = hello["3200000001"]
    assert first.name == "Zoë Ångström" and first.email == "zoe@example.org"
    assert first.website is None and first.kind == "comment" and not first.by_author
    assert first.anchor == "comment-3200000001"
    assert first.body_format == "html"
    assert first.created_at == datetime(2015, 3, 1, 10, 15, tzinfo=UTC)
    assert hello["3200000007"].state == "spam"
    assert hello["3200000008"].state == "trash"
    # A reply to a deleted comment keeps its parent.
    assert hello["3200000009"].parent_id == "3200000008"
    assert hello["3200000009"].state == "approved"
    assert {c.state for c in hello.values()} <= set(STATES)


def test_anonymous_and_username_only_authors(threads: dict) -> None:
    hello = comments_of(threads["https://blog.example.org/2015/03/hello-world/"])
    assert (hello["3200000010"].name, hello["3200000010"].email) == ("", None)
    cafe = comments_of(threads["https://blog.example.org/2016/07/caf%C3%A9-au-lait/"])
    assert cafe["3200000021"].name == "Guest ゲスト"
    assert cafe["3200000021"].email == "guest@example.net"
    assert (cafe["3200000022"].name, cafe["3200000022"].email) == ("kaito_k", None)


def test_bodies_are_kept_as_disqus_stored_them(threads: dict) -> None:
    hello = comments_of(threads["https://blog.example.org/2015/03/hello-world/"])
    # CDATA: the HTML as it is, its entities unresolved.
    assert hello["3200000001"].body == "<p>Première réponse &amp; <b>merci</b> !</p>"
    assert hello["3200000004"].body == (
        '<p>שלום, <a href="https://example.org/?a=1&amp;b=2" '
        'rel="nofollow noopener">קישור</a></p>'
    )
    # Escaped instead of CDATA: the same HTML once XML's escaping is undone.
    assert hello["3200000003"].body == "<p>Согласен &amp; «спасибо»</p>"
    cafe = comments_of(threads["https://blog.example.org/2016/07/caf%C3%A9-au-lait/"])
    assert cafe["3200000020"].body == (
        "<p>日本語のコメント。<code>&lt;br&gt;</code> は<em>タグ</em>です。</p>"
    )
    assert "&mdash;" in cafe["3200000021"].body


def test_a_parent_missing_from_the_export_leaves_the_comment_at_the_top(
    threads: dict,
) -> None:
    hello = comments_of(threads["https://blog.example.org/2015/03/hello-world/"])
    assert hello["3200000011"].parent_id is None
    assert hello["3200000011"].body == "<p>My parent was never exported.</p>"


def test_each_comment_knows_its_line(threads: dict) -> None:
    lines = EXPORT.read_text(encoding="utf-8").splitlines()
    for thread in threads.values():
        for comment in thread.comments:
            assert (
                lines[comment.line - 1].strip()
                == f'<post dsq:id="{comment.source_id}">'
            )


# Odd references ---------------------------------------------------------------


def test_a_loop_of_parents_is_cut_at_its_oldest(tmp_path: Path) -> None:
    path = export(
        tmp_path,
        THREAD
        + post("1", parent="3", created="2020-01-03T00:00:00Z")
        + post("2", parent="1", created="2020-01-01T00:00:00Z")
        + post("3", parent="2", created="2020-01-02T00:00:00Z")
        + post("4", parent="2", created="2020-01-04T00:00:00Z")
        + post("5", parent="5", created="2020-01-05T00:00:00Z"),
    )
    (thread,) = read_disqus(path)
    assert [(c.source_id, c.parent_id) for c in thread.comments] == [
        ("2", None),  # the oldest of the loop 1 → 3 → 2 → 1
        ("3", "2"),
        ("1", "3"),
        ("4", "2"),
        ("5", None),  # its own parent
    ]


def test_a_reply_chain_thousands_deep(tmp_path: Path) -> None:
    depth = 3000
    posts = "".join(
        post(
            str(n),
            parent=str(n - 1) if n > 1 else None,
            created=f"2020-01-01T00:00:{n % 60:02}Z",
        )
        for n in range(depth, 0, -1)
    )
    (thread,) = read_disqus(export(tmp_path, THREAD + posts))
    assert [c.source_id for c in thread.comments] == [
        str(n) for n in range(1, depth + 1)
    ]


def test_the_site_identifier_as_thread_reference(tmp_path: Path) -> None:
    """Disqus's documented example names a post's thread by the site's <id>."""
    (thread,) = read_disqus(
        export(tmp_path, THREAD + post(thread="<thread>t-71</thread>"))
    )
    assert thread.url == "https://example.org/a/"


def test_states_from_the_flags(tmp_path: Path) -> None:
    flags = {
        "1": "",
        "2": "<isApproved>false</isApproved>",
        "3": "<isApproved>true</isApproved>",
    }
    body = THREAD + "".join(post(n, extra=extra) for n, extra in flags.items())
    body += (
        post("4")
        .replace("<isSpam>false", "<isSpam>true")
        .replace("<isDeleted>false", "<isDeleted>true")
    )
    body += post("5").replace("<isDeleted>false", "<isDeleted>true")
    (thread,) = read_disqus(export(tmp_path, body))
    assert {c.source_id: c.state for c in thread.comments} == {
        "1": "approved",
        "2": "pending",
        "3": "approved",
        "4": "spam",
        "5": "trash",
    }


def test_dates_are_aware_utc(tmp_path: Path) -> None:
    body = (
        THREAD
        + post("1", created="2020-02-02T20:20:20")
        + post("2", created="2020-02-02T22:20:20+02:00")
    )
    (thread,) = read_disqus(export(tmp_path, body))
    assert [c.created_at for c in thread.comments] == [
        datetime(2020, 2, 2, 20, 20, 20, tzinfo=UTC)
    ] * 2
    assert all(c.created_at.utcoffset().total_seconds() == 0 for c in thread.comments)


# Refused ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "line", "words"),
    [
        (THREAD + post(created=""), 4, "<createdAt> is ''"),
        (THREAD + post(created="yesterday"), 4, "not a date"),
        (THREAD + post().replace(' dsq:id="1"', ""), 4, "without dsq:id"),
        (THREAD + post(thread=""), 4, "no <thread dsq:id>"),
        (THREAD + post() + post(), 5, "post dsq:id 1 appears twice (first on line 4)"),
        (THREAD + THREAD, 4, "thread dsq:id 71 appears twice"),
        (THREAD + post(message="<p>bare</p>"), 4, "markup elements inside <message>"),
        (THREAD + "<post dsq:id='1'>\n<message>&nbsp;</message></post>", 5, "nbsp"),
        (THREAD + "<post dsq:id='1'><message>unclosed</post>\n", 4, "not well-formed"),
    ],
)
def test_a_broken_export_is_refused_with_its_line(
    tmp_path: Path, body: str, line: int, words: str
) -> None:
    with pytest.raises(SourceError) as raised:
        read_disqus(export(tmp_path, body))
    assert raised.value.line == line
    assert words in str(raised.value)


def test_not_a_disqus_export(tmp_path: Path) -> None:
    rss = '<?xml version="1.0"?>\n<rss version="2.0"><channel/></rss>\n'
    path = tmp_path / "wordpress.xml"
    path.write_text(rss, encoding="utf-8")
    with pytest.raises(
        SourceError, match="not a Disqus export: the root element is <rss>"
    ):
        read_disqus(path)
    empty = tmp_path / "empty.xml"
    empty.write_bytes(b"")
    with pytest.raises(SourceError, match="not well-formed XML"):
        read_disqus(empty)
    with pytest.raises(SourceError, match="cannot read"):
        read_disqus(tmp_path / "missing.xml")
    with pytest.raises(SourceError, match="cannot read"):
        read_disqus(tmp_path)


BILLION_LAUGHS = """<?xml version="1.0"?>
<!DOCTYPE disqus [
  <!ENTITY lol "lol">
  <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
  <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
  <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
  <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
  <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
  <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
  <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
  <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
  <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
"""
QUADRATIC = (
    '<?xml version="1.0"?>\n<!DOCTYPE disqus [<!ENTITY big "' + "x" * 100_000 + '">]>\n'
)
EXTERNAL = """<?xml version="1.0"?>
<!DOCTYPE disqus [<!ENTITY secret SYSTEM "file:///etc/passwd">]>
"""
PARAMETER = """<?xml version="1.0"?>
<!DOCTYPE disqus [<!ENTITY % remote SYSTEM "http://127.0.0.1:9/evil.dtd"> %remote;]>
"""
EXTERNAL_DTD = """<?xml version="1.0"?>
<!DOCTYPE disqus SYSTEM "file:///etc/passwd">
"""


@pytest.mark.parametrize(
    ("doctype", "entity"),
    [
        (BILLION_LAUGHS, "&lol9;"),
        (QUADRATIC, "&big;" * 1000),
        (EXTERNAL, "&secret;"),
        (PARAMETER, ""),
        (EXTERNAL_DTD, ""),
    ],
    ids=[
        "billion-laughs",
        "quadratic",
        "external-entity",
        "parameter-entity",
        "external-dtd",
    ],
)
def test_entity_tricks_are_refused(tmp_path: Path, doctype: str, entity: str) -> None:
    head = doctype + HEAD.split("\n", 1)[1]
    body = THREAD + post(message=entity) + post("2", message=f"<![CDATA[{entity}]]>")
    with pytest.raises(SourceError) as raised:
        read_disqus(export(tmp_path, body, head=head))
    message = str(raised.value)
    assert "DOCTYPE" in message or "not well-formed" in message
    assert "root:" not in message and "lollol" not in message


def test_an_undeclared_entity_is_refused(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="secret") as raised:
        read_disqus(export(tmp_path, THREAD + post(message="&secret;")))
    assert raised.value.line == 4


#: libxml2's limit on one text node when huge_tree is off (XML_MAX_TEXT_LENGTH).
TEXT_LIMIT = 10_000_000


def test_a_message_at_libxml2s_text_limit_is_read(tmp_path: Path) -> None:
    body = THREAD + post(message="é" * (TEXT_LIMIT // 2))  # 10,000,000 bytes
    (thread,) = read_disqus(export(tmp_path, body))
    assert len(thread.comments[0].body.encode()) == TEXT_LIMIT


@pytest.mark.parametrize(
    "message",
    ["x" * (TEXT_LIMIT + 1), f"<![CDATA[{'x' * (TEXT_LIMIT + 1)}]]>"],
    ids=["text", "cdata"],
)
def test_a_message_past_libxml2s_text_limit_is_refused(
    tmp_path: Path, message: str
) -> None:
    with pytest.raises(SourceError, match="not well-formed XML") as raised:
        read_disqus(export(tmp_path, THREAD + post(message=message)))
    assert raised.value.line == 4
