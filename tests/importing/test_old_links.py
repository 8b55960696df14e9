"""Every old address of an imported WordPress site, followed through the
shipped nginx (``deploy/nginx/blog.conf``) and through the development
server to the 200 of its new page, as a reader's browser or a search
engine would follow a link to the old site.
"""

from __future__ import annotations

import threading
from pathlib import Path
from urllib.parse import quote, urlsplit

import pytest
from flask import Flask
from werkzeug.serving import make_server

from feedback_app.devserver import make_site_app
from feedback_app.importing.wordpress import read_wxr

from ..app.test_nginx_redirects import nginx_with
from ..site.test_redirects import raw_request
from .conftest import DATA

CARNET = DATA / "wordpress-carnet.xml"

pytestmark = pytest.mark.slow


def old_addresses() -> list[str]:
    """What the rest of the web links to on the test export's site: each
    published post's and page's permalink, its ``?p=``/``?page_id=``
    address, its comment feed, and the archives of its categories, tags
    and authors, and the site's feed."""
    export = read_wxr(CARNET)
    found = []
    for item in export.items:
        if item.post_type not in ("post", "page") or item.status != "publish":
            continue
        if item.password:
            continue
        found.append(urlsplit(item.link).path)
        found.append(urlsplit(item.guid).path + "?" + urlsplit(item.guid).query)
        if item.post_type == "post":
            found.append(urlsplit(item.link).path + "feed/")
    found += [
        "/category/ventes/",
        "/category/ventes/telephone/",
        "/tag/appels/",
        "/tag/%c3%a9t%c3%a9/",
        "/tag/r-d/",
        "/author/maya/",
        "/author/joerg/",
        "/feed/",
    ]
    return found


def target(address: str) -> bytes:
    """The request target a browser sends for ``address``."""
    return quote(address, safe="/?=&%").encode("ascii")


def follow(port: int, address: str) -> tuple[str, int]:
    """Return where ``address`` leads, and that page's status. An address
    the new site keeps (``/tag/appels/``) is its own page."""
    first = raw_request(port, target(address))
    if first.status == 200:
        return address, 200
    assert first.status == 301, (address, first.status)
    location = first.headers["Location"]
    second = raw_request(port, location.encode("ascii"))
    return location, second.status


@pytest.fixture
def imported_site(importing_app: Flask, site: Path, uploads: Path) -> Path:
    result = importing_app.test_cli_runner().invoke(
        args=["import", "wordpress", str(CARNET), "--uploads", str(uploads)]
    )
    assert result.exit_code == 0, result.output
    return site


def test_every_old_address_leads_through_nginx_to_its_page(
    imported_site: Path, tmp_path: Path
) -> None:
    with nginx_with(
        tmp_path / "nginx",
        imported_site / "build" / "output",
        imported_site / "redirects.map",
    ) as port:
        for address in old_addresses():
            location, status = follow(port, address)
            assert status == 200, (address, location)
        # A few that must land on the right page, not just any page.
        assert follow(port, "/?p=101")[0] == "/2019/appels-et-relances/"
        assert follow(port, "/?page_id=106")[0] == "/a-propos/"
        assert follow(port, "/2020/02/%E6%97%A5%E6%9C%AC%E8%AA%9E/")[0] == (
            "/2020/%E6%97%A5%E6%9C%AC%E8%AA%9E/"
        )
        assert follow(port, "/2019/05/appels-et-relances/feed/")[0].endswith(".xml")


def test_every_old_address_leads_through_the_dev_server_to_its_page(
    imported_site: Path, importing_app: Flask
) -> None:
    server = make_server("127.0.0.1", 0, make_site_app(importing_app))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        for address in old_addresses():
            location, status = follow(server.server_port, address)
            assert status == 200, (address, location)
    finally:
        server.shutdown()
        thread.join()
