"""The redirect map (feedback_app/site/redirects.py): its keys, its file, and
the development server's 301s over real HTTP.

nginx's side of the same map is tests/app/test_nginx_redirects.py, which
uses the addresses and request variants defined here.
"""

from __future__ import annotations

import http.client
import os
import re
import shutil
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, unquote

import pytest
from flask import Flask
from werkzeug.serving import make_server

from feedback_app.devserver import PrivateRequestHandler, make_site_app, static_headers
from feedback_app.site.redirects import (
    MAX_ENTRIES,
    MAX_KEY_BYTES,
    MAX_VALUE_LENGTH,
    merge_redirects,
    normal_new,
    normal_old,
    read_redirects,
    redirect_for,
    render_redirects,
    split_target,
)

from ..conftest import ARTICLE

ARTICLE_URL = "/" + ARTICLE
OTHER_URL = "/2026/follow-up-emails-that-get-answered/"
QUOTA_URL = "/2026/reader-mail-easy-to-say-without-a-quota/"
#: A page the tests add to their copy of the built site: a new address
#: that is not ASCII.
FRENCH_URL = "/2019/été-à-montréal/"

#: Every kind of old address a WordPress import gives, to a built page.
PAIRS = [
    ("/?p=123", ARTICLE_URL),
    ("/?page_id=45", "/about/"),
    ("/?cat=3", "/category/sales/"),
    ("/?tag=caf%c3%a9", "/tag/calls/"),
    ("/?author=2", "/author/maya-lindqvist/"),
    ("/?feed=rss2", "/archives/"),
    ("/?p=123&feed=rss2", ARTICLE_URL + "comments.atom.xml"),
    ("/?attachment_id=9", "/tag/crm/"),
    ("/?m=201905", "/archives/"),
    ("/index.php?p=124", OTHER_URL),
    ("/2019/05/21/hello-world/", ARTICLE_URL),
    ("/2019/05/hello-world/", OTHER_URL),
    ("/hello-world/", QUOTA_URL),
    ("/archives/123", ARTICLE_URL),
    ("/index.php/2019/05/hello/", OTHER_URL),
    ("/category/news/", "/category/sales/"),
    ("/category/parent/child/", "/category/reader-mail/"),
    ("/tag/x/", "/tag/prospecting/"),
    ("/author/bob/", "/author/tomas-ferreira/"),
    ("/feed/", "/archives/"),
    ("/comments/feed/", "/archives/"),
    ("/2019/05/hello-world/feed/", OTHER_URL + "comments.atom.xml"),
    ("/2019/05/h%c3%a9llo-w%c3%b6rld/", FRENCH_URL),
    ("/2018/07/καλημέρα-κόσμε/", FRENCH_URL),
    ("/2017/%e6%97%a5%e6%9c%ac%e8%aa%9e/", QUOTA_URL),
    ("/blog/?p=7", QUOTA_URL),  # WordPress in a folder
]


def _hex(text: str, upper: bool) -> str:
    return re.sub(
        r"%[0-9A-Fa-f]{2}", lambda m: m[0].upper() if upper else m[0].lower(), text
    )


def variants(old: str) -> list[bytes]:
    """The request targets a browser may send for ``old``: with and
    without the trailing slash, percent-encoding in either case or raw
    UTF-8 bytes in the path, other query parameters before or after."""
    path, _, query = old.partition("?")
    paths = {path}
    if path != "/":
        paths |= {path.rstrip("/"), path.rstrip("/") + "/"}
    queries = (
        [query, f"utm_source=x&{query}", f"{query}&utm_source=x"]
        if query
        else ["", "utm_source=x", "replytocom=5"]
    )
    found: list[bytes] = []
    for p in sorted(paths):
        encoded = quote(unquote(p), safe="/")
        forms = [
            _hex(encoded, upper=False).encode(),
            _hex(encoded, upper=True).encode(),
            unquote(p).encode("utf-8"),
        ]
        for form in forms:
            for q in queries:
                for upper in (False, True):
                    q_form = _hex(q, upper).replace("p=", "P=" if upper else "p=", 1)
                    target = form + (b"?" + q_form.encode() if q_form else b"")
                    if target not in found:
                        found.append(target)
    return found


def built_file(output: Path, url: str) -> Path:
    """The file of the built site that ``url`` (a site path) serves."""
    path = output / unquote(url).lstrip("/")
    return path / "index.html" if url.endswith("/") else path


def add_french_page(output: Path) -> None:
    """Copy an article's page to FRENCH_URL, in a site the test owns."""
    page = built_file(output, FRENCH_URL)
    page.parent.mkdir(parents=True)
    shutil.copy(built_file(output, OTHER_URL), page)


@dataclass
class Reply:
    status: int
    headers: http.client.HTTPMessage
    body: bytes


def raw_request(port: int, target: bytes, method: str = "GET") -> Reply:
    """Send ``target`` as it is (raw bytes allowed) to 127.0.0.1:``port``."""
    with socket.create_connection(("127.0.0.1", port), timeout=15) as sock:
        sock.sendall(
            method.encode()
            + b" "
            + target
            + b" HTTP/1.1\r\nHost: blog.example.org\r\nConnection: close\r\n\r\n"
        )
        response = http.client.HTTPResponse(sock, method=method)
        response.begin()
        return Reply(response.status, response.headers, response.read())


# --- keys ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("old", "key"),
    [
        ("/?p=123", "/?p=123"),
        ("/?p=123&utm_source=x", "/?p=123"),
        ("/?feed=rss2&P=123", "/?p=123&feed=rss2"),
        ("/?page_id=45", "/?page_id=45"),
        ("/?tag=Caf%C3%A9", "/?tag=caf%c3%a9"),
        ("/?tag=café", "/?tag=caf%c3%a9"),
        ("/index.php?p=5", "/index.php?p=5"),
        ("/blog/?cat=3", "/blog?cat=3"),
        ("/2019/05/21/Hello-World/", "/2019/05/21/hello-world"),
        ("/hello/?replytocom=5", "/hello"),
        ("/archives/123", "/archives/123"),
        ("/index.php/2019/05/hello/", "/index.php/2019/05/hello"),
        ("/2019/05/h%C3%A9llo/", "/2019/05/héllo"),
        ("/2019/05/h%c3%a9llo", "/2019/05/héllo"),
        ("/2019/05/héllo/", "/2019/05/héllo"),
        ("/ÉTÉ/", "/ÉtÉ"),  # nginx lower-cases ASCII only
        ("/a//b/./c/../d/", "/a/b/d"),
        ("/x;y{z}#frag", "/x;y{z}"),
        ("/a%23b$c'd e/", "/a#b$c'd e"),
        ("/~user/", "/~user"),
    ],
)
def test_old_addresses_become_keys(old: str, key: str) -> None:
    assert normal_old(old) == key


def test_absolute_and_relative_old_addresses_need_the_old_site() -> None:
    site = "https://old.example.com"
    assert (
        normal_old("https://old.example.com/2019/05/h%C3%A9/?p=1", site)
        == "/2019/05/hé?p=1"
    )
    assert normal_old("http://OLD.example.com/x/", site) == "/x"
    assert normal_old("2019/x/", site + "/blog/") == "/blog/2019/x"
    assert normal_old("?p=3", site + "/blog/") == "/blog?p=3"
    for other in (
        "https://evil.example.net/x",
        "https://old.example.com:8443/x",
        "//evil.example.net/x",
        "ftp://old.example.com/x",
    ):
        with pytest.raises(ValueError):
            normal_old(other, site)
    with pytest.raises(ValueError, match="needs the old site"):
        normal_old("https://old.example.com/x")
    with pytest.raises(ValueError, match="needs the old site"):
        normal_old("~/x")


@pytest.mark.parametrize(
    "old",
    [
        "",
        "/",
        "/?s=word",  # no page named: the front page itself
        "/?p=",
        "/app/health",
        "/app",
        "/APP/r/x",
        "/a%0Ab/",
        "/a\nb/",
        "/a%00b",
        "/a%7Fb",
        "/a%C2%85b",  # a C1 control character
        '/a"b',
        "/a%22b",
        "/a%5Cb",
        "/a\\b",
        " /x",
        "/x\t",
        "/%ff/",  # not UTF-8
        "/?tag=%ff",
    ],
)
def test_what_cannot_be_a_key_is_refused(old: str) -> None:
    with pytest.raises(ValueError):
        normal_old(old)


def test_a_key_at_the_limit_and_one_past_it() -> None:
    at_limit = "/" + "é" * ((MAX_KEY_BYTES - 2) // 2) + "a"
    assert len(at_limit.encode()) == MAX_KEY_BYTES
    assert normal_old(quote(at_limit) + "/") == at_limit
    with pytest.raises(ValueError, match="longer than"):
        normal_old(at_limit + "b")


@pytest.mark.parametrize(
    ("new", "value"),
    [
        ("/2019/hello-world/", "/2019/hello-world/"),
        ("/2019/héllo/", "/2019/h%C3%A9llo/"),
        ("/2019/h%c3%a9llo/", "/2019/h%C3%A9llo/"),
        ("/a$b;c{d}'e f/", "/a%24b%3Bc%7Bd%7D%27e%20f/"),
        ("/a%23b", "/a%23b"),
        ("/", "/"),
    ],
)
def test_new_addresses_are_encoded_site_paths(new: str, value: str) -> None:
    assert normal_new(new) == value


@pytest.mark.parametrize(
    "new",
    [
        "//evil.example.net/",
        "/\\evil.example.net/",
        "/%2F/evil.example.net",  # // once decoded
        "/%5Cevil.example.net",
        "https://evil.example.net/",
        "javascript:alert(1)",
        "evil/",
        "",
        "/\t/evil.example.net",
        "/a%0Ab",
        "/x?y=1",
        "/x#comments",
        "/%ff",
    ],
)
def test_new_addresses_never_lead_elsewhere(new: str) -> None:
    with pytest.raises(ValueError):
        normal_new(new)


def test_a_new_address_at_the_limit_and_one_past_it() -> None:
    assert normal_new("/" + "a" * (MAX_VALUE_LENGTH - 1)) == "/" + "a" * (
        MAX_VALUE_LENGTH - 1
    )
    with pytest.raises(ValueError, match="longer than"):
        normal_new("/" + "a" * MAX_VALUE_LENGTH)
    # Encoded, é takes 6 characters.
    with pytest.raises(ValueError, match="longer than"):
        normal_new("/" + "é" * (MAX_VALUE_LENGTH // 6 + 1))


# --- the file -------------------------------------------------------------------


def test_merging_twice_changes_nothing(tmp_path: Path) -> None:
    path = tmp_path / "redirects.map"
    assert merge_redirects(path, PAIRS) == (len(PAIRS), 0, [])
    first = path.read_bytes()
    stamp = os.stat(path)
    assert merge_redirects(path, PAIRS) == (0, len(PAIRS), [])
    assert path.read_bytes() == first
    again = os.stat(path)
    assert (again.st_ino, again.st_mtime_ns) == (stamp.st_ino, stamp.st_mtime_ns)
    table = read_redirects(path)
    assert table == {normal_old(old): normal_new(new) for old, new in PAIRS}
    assert render_redirects(table).encode() == first
    # A newer export adds what is new and keeps the rest.
    assert merge_redirects(path, [*PAIRS, ("/?p=999", "/about/")]) == (
        1,
        len(PAIRS),
        [],
    )
    assert read_redirects(path)["/?p=999"] == "/about/"


def test_the_entry_already_there_wins(tmp_path: Path) -> None:
    path = tmp_path / "redirects.map"
    merge_redirects(path, [("/?p=1", "/first/")])
    added = merge_redirects(
        path,
        [("/?p=1", "/second/"), ("/x/", "/a/"), ("/X", "/b/"), ("/y", "/c/")],
    )
    assert added == (2, 0, ["/?p=1", "/x"])
    assert read_redirects(path) == {"/?p=1": "/first/", "/x": "/a/", "/y": "/c/"}


def test_redirects_that_would_loop_are_not_written(tmp_path: Path) -> None:
    path = tmp_path / "redirects.map"
    # The same permalink as before (with or without its slash): already
    # there, and a redirect would send it to itself.
    assert merge_redirects(path, [("/2019/hello/", "/2019/hello")]) == (0, 1, [])
    assert merge_redirects(path, [("/2019/Hello", "/2019/hello/")]) == (0, 1, [])
    added = merge_redirects(path, [("/a/", "/b/"), ("/b/", "/c/"), ("/c/", "/a/")])
    assert added == (2, 0, ["/c"])
    assert read_redirects(path) == {"/a": "/b/", "/b": "/c/"}


def test_a_refused_pair_writes_nothing(tmp_path: Path) -> None:
    path = tmp_path / "redirects.map"
    with pytest.raises(ValueError, match=r"redirect 2 .*//evil"):
        merge_redirects(path, [("/?p=1", "/a/"), ("/?p=2", "//evil.example.net/")])
    assert not path.exists()
    merge_redirects(path, [("/?p=1", "/a/")])
    before = path.read_bytes()
    with pytest.raises(ValueError, match="redirect 1"):
        merge_redirects(path, [("/a%0Ab", "/b/")])
    assert path.read_bytes() == before


def test_the_map_holds_max_entries_and_not_one_more(tmp_path: Path) -> None:
    path = tmp_path / "redirects.map"
    pairs = [(f"/?p={n}", f"/{n}/") for n in range(MAX_ENTRIES)]
    assert merge_redirects(path, pairs)[0] == MAX_ENTRIES
    before = path.read_bytes()
    with pytest.raises(ValueError, match="more than"):
        merge_redirects(path, [("/?p=extra", "/x/")])
    assert path.read_bytes() == before


def test_a_map_edited_into_something_else_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "redirects.map"
    assert read_redirects(path) == {}
    for line in (
        '"/a" "/b"; "/c" "$host";',
        '"/a" "//evil.example.net";',
        '"/a" $uri;',
        '"/a" "/b"',
        'include "/etc/passwd";',
    ):
        path.write_text(f'# comment\n"/ok" "/fine/";\n{line}\n')
        with pytest.raises(ValueError, match="line 3"):
            read_redirects(path)


def test_the_file_is_nginx_map_lines_that_mean_only_themselves(tmp_path: Path) -> None:
    path = tmp_path / "redirects.map"
    merge_redirects(path, [("/a%24b;c%7Bd%7D%23e'f g/", "/x$y/")])
    lines = [line for line in path.read_text().splitlines() if not line.startswith("#")]
    assert lines == ['"/a$b;c{d}#e\'f g" "/x%24y/";']


# --- a request's key ---------------------------------------------------------------


@pytest.mark.parametrize(("old", "new"), PAIRS)
def test_every_variant_of_an_old_address_finds_its_page(old: str, new: str) -> None:
    table = {normal_old(o): normal_new(n) for o, n in PAIRS}
    for target in variants(old):
        path, query = split_target(target)
        assert redirect_for(table, path, query) == normal_new(new), target


def test_requests_that_are_not_old_addresses_find_nothing() -> None:
    table = {normal_old(o): normal_new(n) for o, n in PAIRS}
    for target in (b"/", b"/?s=hello", b"/?p=", b"/?p=124", b"/about/", b"/app/x"):
        assert redirect_for(table, *split_target(target)) is None, target
    # A path known without a query still answers with one it does not know.
    path, query = split_target(b"/hello-world/?p=999")
    assert redirect_for(table, path, query) == QUOTA_URL


# --- the development server ---------------------------------------------------------


@pytest.fixture
def dev_server(
    app: Flask, built_site: Path, tmp_path: Path
) -> Iterator[tuple[int, Path, Path]]:
    """make_site_app on a real port, as `make serve` runs it, serving a copy
    of the built site; yields (port, output, the redirect map's path)."""
    output = tmp_path / "output"
    shutil.copytree(built_site / "output", output)
    add_french_page(output)
    redirects = tmp_path / "redirects.map"
    app.config["REDIRECTS_PATH"] = str(redirects)
    server = make_server(
        "127.0.0.1",
        0,
        make_site_app(app, str(output)),
        threaded=True,
        request_handler=PrivateRequestHandler,
    )
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_port, output, redirects
    server.shutdown()
    thread.join(timeout=10)
    server.server_close()


def test_the_dev_server_follows_every_old_address_to_its_page(
    dev_server: tuple[int, Path, Path],
) -> None:
    port, output, redirects = dev_server
    merge_redirects(redirects, PAIRS)
    headers = static_headers()
    for old, new in PAIRS:
        location = normal_new(new)
        for target in variants(old):
            for method in ("GET", "HEAD"):
                moved = raw_request(port, target, method)
                assert (moved.status, moved.headers["Location"]) == (
                    301,
                    location,
                ), (target, method)
                for name, value in headers.items():
                    assert moved.headers.get_all(name) == [value], name
        page = raw_request(port, location.encode())
        assert page.status == 200, location
        assert page.body == built_file(output, new).read_bytes()


def test_the_dev_server_reads_the_map_again_after_an_import(
    dev_server: tuple[int, Path, Path],
) -> None:
    port, _, redirects = dev_server
    # No map yet: nothing redirects, pages are served as before.
    assert raw_request(port, b"/?p=123").status == 200  # the front page
    assert raw_request(port, b"/hello-world/").status == 404
    merge_redirects(redirects, [("/hello-world/", OTHER_URL)])
    moved = raw_request(port, b"/hello-world/")
    assert (moved.status, moved.headers["Location"]) == (301, OTHER_URL)
    # A second import while the server runs: honoured at the next request.
    merge_redirects(redirects, [("/?p=123", ARTICLE_URL)])
    moved = raw_request(port, b"/?p=123&utm_source=x")
    assert (moved.status, moved.headers["Location"]) == (301, ARTICLE_URL)
    # A file broken by hand: logged, no redirects, the site still served.
    redirects.write_text('"/hello-world" $uri;\n')
    assert raw_request(port, b"/hello-world/").status == 404
    assert raw_request(port, ARTICLE_URL.encode()).status == 200
    # The redirect is checked before the file: an old address that is also
    # a page of the new site redirects, as nginx does.
    redirects.unlink()
    merge_redirects(redirects, [("/about/", ARTICLE_URL)])
    assert raw_request(port, b"/about/").status == 301
    assert raw_request(port, b"/about/", "POST").status == 405
