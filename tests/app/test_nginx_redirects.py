"""Old addresses through the shipped nginx: the redirect map in blog.conf.

The real nginx runs ``deploy/nginx/blog.conf`` with only the operator's
tokens replaced (``test_nginx.site_conf``), serving a copy of a real build,
with a redirect map written by ``merge_redirects``. No app runs behind it:
these tests are about the static side. Every kind of old address a
WordPress import gives is followed to a 301 and then to the 200 of the
built page; hostile keys and values are loaded and shown to mean only
themselves; the map's limits are loaded in full.
"""

from __future__ import annotations

import re
import shutil
import signal
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote, unquote

import pytest

from feedback_app.site.live_site import new_build
from feedback_app.site.redirects import (
    MAX_ENTRIES,
    MAX_KEY_BYTES,
    MAX_VALUE_LENGTH,
    QUERY_NAMES,
    merge_redirects,
    normal_new,
    normal_old,
)

from ..site.test_redirects import (
    ARTICLE_URL,
    PAIRS,
    QUOTA_URL,
    Reply,
    add_french_page,
    built_file,
    raw_request,
    variants,
)
from .test_nginx import (
    DEPLOY,
    free_port,
    main_conf,
    nginx_binary,
    site_conf,
    snippet_headers,
    stop,
    wait_for,
)

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def output(built_site: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the build, as every full build leaves it (output/ a link to
    the live build), with a page whose address is not ASCII."""
    tmp = tmp_path_factory.mktemp("redirect-site")
    output, index = tmp / "output", tmp / "site.json"
    with new_build(output, index) as build:
        shutil.copytree(built_site / "output", build.folder, dirs_exist_ok=True)
        shutil.copy(built_site / "site.json", build.site_index)
        add_french_page(build.folder)
    return output


@contextmanager
def nginx_with(tmp: Path, output: Path, redirects: Path) -> Iterator[int]:
    """Run the shipped blog.conf with the map ``redirects`` (which may be
    missing); check it loads without a warning; yield nginx's port."""
    nginx = nginx_binary()
    tmp.mkdir(parents=True, exist_ok=True)
    port = free_port()
    conf = site_conf(tmp, output, port, free_port(), redirects)
    (tmp / "blog.conf").write_text(conf)
    (tmp / "nginx.conf").write_text(main_conf(tmp))
    cmd = [nginx, "-p", str(tmp), "-c", str(tmp / "nginx.conf")]
    cmd += ["-e", str(tmp / "error.log")]
    checked = subprocess.run([*cmd, "-t"], capture_output=True, text=True, check=False)
    assert checked.returncode == 0, checked.stderr
    assert "[warn]" not in checked.stderr, checked.stderr
    with open(tmp / "nginx.out", "wb") as log:
        web = subprocess.Popen(
            [*cmd, "-g", "daemon off;"],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            wait_for(port, "/about/", web, tmp / "error.log")
            yield port
        finally:
            stop(web, signal.SIGTERM)


def test_blog_conf_knows_the_query_names_of_the_keys() -> None:
    """blog.conf builds the query part of a key from WordPress's names in
    the order redirects.py writes them."""
    conf = (DEPLOY / "nginx" / "blog.conf").read_text()
    names = re.findall(r"^map \$arg_(\w+) \$blog_wp_\1 ", conf, re.M)
    assert tuple(names) == QUERY_NAMES
    joined = "".join(f"$blog_wp_{name}" for name in QUERY_NAMES)
    assert f'map "{joined}"' in conf
    for name in QUERY_NAMES:
        assert f'default "&{name}=$arg_{name}";' in conf


def assert_moved(reply: Reply, location: str) -> None:
    """A 301 to ``location`` as the static pages are sent: the security
    headers once each, revalidated, and no query carried along."""
    assert (reply.status, reply.headers["Location"]) == (301, location)
    for name, value in snippet_headers().items():
        assert reply.headers.get_all(name) == [value], name
    assert reply.headers.get_all("Cache-Control") == ["no-cache"]


def test_every_old_address_follows_to_its_page(output: Path, tmp_path: Path) -> None:
    redirects = tmp_path / "redirects.map"
    merge_redirects(redirects, PAIRS)
    with nginx_with(tmp_path / "nginx", output, redirects) as port:
        for old, new in PAIRS:
            location = normal_new(new)
            for target in variants(old):
                assert_moved(raw_request(port, target), location)
                assert_moved(raw_request(port, target, "HEAD"), location)
            page = raw_request(port, location.encode())
            assert page.status == 200, (old, location)
            assert page.body == built_file(output, new).read_bytes()
        # Everything else as before: pages, nginx's own folder redirect,
        # the 404 page, the front page with a query naming no old page.
        assert raw_request(port, b"/about/").status == 200
        folder = raw_request(port, b"/about")
        assert (folder.status, folder.headers["Location"]) == (301, "/about/")
        missing = raw_request(port, b"/2019/05/no-such-post/")
        assert missing.status == 404
        assert missing.body == (output / "404.html").read_bytes()
        assert raw_request(port, b"/?s=hello").status == 200
        assert raw_request(port, b"/?p=999").status == 200
        # A path known without a query, asked with one that is not known.
        assert_moved(raw_request(port, b"/hello-world/?p=999"), QUOTA_URL)
    # The private access log: the old path, never its query.
    log = (tmp_path / "nginx" / "blog.access.log").read_text()
    assert '"GET /?p=123" 301 ' not in log and "utm_source" not in log
    assert '"GET /hello-world/" 301 ' in log


def test_without_an_import_nothing_redirects(output: Path, tmp_path: Path) -> None:
    """blog.conf as shipped starts with no map file (the pattern matches
    nothing), and an old address is just a missing page."""
    with nginx_with(tmp_path, output, tmp_path / "redirects.map") as port:
        assert raw_request(port, b"/hello-world/").status == 404
        assert raw_request(port, b"/?p=123").status == 200


#: Accepted pairs whose keys or values hold what nginx's configuration
#: would read as syntax, were it not quoted or encoded.
HOSTILE = [
    ("/a$uri/", "/x$host/"),  # a variable, in the key and the value
    ("/semi;colon/", "/b;c/"),
    ("/brace{x}/", "/c}{/"),
    ("/it's here/", "/d e/"),  # a quote, spaces
    ("/a%23hash/", "/e%23f/"),  # a comment
    ("/~tilde/", "/f~/"),  # ~ after the slash: not a regular expression
    ("/default/", "/g/"),  # map's own words, as paths
    ("/include/", "/h/"),
    ("/hostnames", "/i/"),
    ("/volatile", "/j/"),
    ("/line\u2028sep/", '/x"y;z{$w}/'),  # Unicode's line separator
    ("/?tag=%22%3B%7B%24x", "/k/"),  # the same, in a query value
]

#: Refused: they cannot be written so that nginx means them.
REFUSED = [
    ('/q"uote/', "/a/"),
    ("/back\\slash/", "/a/"),
    ("/new%0Aline/", "/a/"),
    ("/ctl%01/", "/a/"),
    ("/tab%09/", "/a/"),
    ("~/regex", "/a/"),
    ("/ok/", "//evil.example.net/"),
    ("/ok/", "/\\evil.example.net/"),
    ("/ok/", "/x?$args"),
    ("/ok/", "/x\n/"),
]

#: What the probes ask, with and without the hostile map: the same answers.
PROBES = [
    b"/",
    ARTICLE_URL.encode(),
    b"/about/",
    b"/about",
    b"/no/such/page/",
    b"/theme/css/main.css",
    b"/?p=123",
    b"/a/",
    b"/x/",
    b"/app/health",
]


def probe(port: int) -> list[tuple[int, list[tuple[str, str]], bytes]]:
    answers = []
    for target in PROBES:
        reply = raw_request(port, target)
        headers = [(k, v) for k, v in reply.headers.items() if k != "Date"]
        answers.append((reply.status, headers, reply.body))
    return answers


def test_hostile_pairs_mean_only_themselves(output: Path, tmp_path: Path) -> None:
    redirects = tmp_path / "redirects.map"
    for pair in REFUSED:
        with pytest.raises(ValueError):
            merge_redirects(redirects, [pair])
    assert not redirects.exists()
    assert merge_redirects(redirects, HOSTILE) == (len(HOSTILE), 0, [])
    with nginx_with(tmp_path / "plain", output, tmp_path / "none.map") as port:
        plain = probe(port)
    with nginx_with(tmp_path / "hostile", output, redirects) as port:
        assert probe(port) == plain
        for old, new in HOSTILE:
            path, _, query = old.partition("?")
            target = quote(unquote(path), safe="/") + (f"?{query}" if query else "")
            location = normal_new(new)
            assert "$" not in location and '"' not in location
            assert_moved(raw_request(port, target.encode()), location)


def test_a_map_at_its_limits(output: Path, tmp_path: Path) -> None:
    """MAX_ENTRIES lines, every tenth key MAX_KEY_BYTES long and the others
    up to a few hundred bytes, all of them not ASCII: nginx loads it, and
    every kind of line still redirects."""
    pairs = []
    for n in range(MAX_ENTRIES):
        base = f"/архив/{n:05d}/"
        if n % 10 == 0:
            room = MAX_KEY_BYTES - len(base.encode())
            key = base + "ü" * (room // 2) + "x" * (room % 2)
        else:
            key = base + "σελίδα-" * (n % 30)
        pairs.append((quote(key), f"/новое/{n}/"))
    last = "/" + "v" * (MAX_VALUE_LENGTH - 1)
    pairs[-1] = (pairs[-1][0], last)
    redirects = tmp_path / "redirects.map"
    assert merge_redirects(redirects, pairs)[0] == MAX_ENTRIES
    with pytest.raises(ValueError, match="more than"):
        merge_redirects(redirects, [("/one-more/", "/x/")])
    with pytest.raises(ValueError, match="longer than"):
        merge_redirects(redirects, [(pairs[0][0] + "x", "/x/")])
    with nginx_with(tmp_path / "nginx", output, redirects) as port:
        for n in (0, 1, 29, 12_340, 25_001, MAX_ENTRIES - 2, MAX_ENTRIES - 1):
            old, new = pairs[n]
            assert len(normal_old(old).encode()) <= MAX_KEY_BYTES
            if n % 10 == 0:
                assert len(normal_old(old).encode()) == MAX_KEY_BYTES
            assert_moved(raw_request(port, old.encode() + b"/"), normal_new(new))
        assert raw_request(port, quote("/архив/99999/").encode()).status == 404
        assert raw_request(port, b"/about/").status == 200
