"""The article page with 50 comments: is it whole without JavaScript, and how heavy?

    .venv/bin/python bench/page_weight.py [--comments 50]

The page is a real build: ``make_site.py`` with 10 articles of 50 approved
comments each in ``bench/.site-read/`` (the project's pelicanconf.py and
theme, as ``make_site.py`` always builds), built again on every run so that
it has the theme's current templates, CSS and script. For the first article it reports:

* whether every comment is in the HTML as built (``<li ... id="comment-N">``
  for each of the article's approved comments in the database, with its
  rendered text), so a reader without JavaScript sees them all; and which
  scripts the page loads (and whether they are ``defer``: not needed to show
  anything);
* the bytes of the page and of the one stylesheet (``theme/css/main.css``),
  as built and gzipped at level 5 (``gzip_comp_level 5`` in
  ``deploy/nginx/blog.conf``) and level 9.

Goal: no JavaScript needed for the comments; HTML + CSS under 60 KB
(60,000 bytes) before compression.
"""

from __future__ import annotations

import argparse
import gzip
import json
import re
import sqlite3
import sys
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

from common import BENCH, SiteLayout, full_build, machine, save_results
from make_site import make_site

READ_SITE = BENCH / ".site-read"
READ_ARTICLES = 10
GOAL_BYTES = 60_000


def read_site(comments: int = 50) -> SiteLayout:
    """Return the small bench site whose articles have ``comments`` each,
    built anew (a second or so) so that its pages, CSS and script are the
    theme's as it is now."""
    site = make_site(READ_SITE, READ_ARTICLES, comments)
    full_build(site)
    return site


def first_article(site: SiteLayout) -> dict[str, Any]:
    """Return the site index entry of the site's first article."""
    articles = json.loads(site.site_index.read_text())["articles"]
    return sorted(articles, key=lambda a: a["slug"])[0]


def page_file(site: SiteLayout, article: dict[str, Any]) -> Path:
    return site.output / article["save_as"]


class _Page(HTMLParser):
    """What a browser without JavaScript gets: comments, scripts, styles."""

    def __init__(self) -> None:
        super().__init__()
        self.comment_ids: list[int] = []
        self.scripts: list[dict[str, Any]] = []
        self.stylesheets: list[str] = []
        self.forms: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        classes = (a.get("class") or "").split()
        match = re.fullmatch(r"comment-(\d+)", a.get("id") or "")
        if tag == "li" and "comment" in classes and match:
            self.comment_ids.append(int(match.group(1)))
        elif tag == "script":
            self.scripts.append(
                {"src": a.get("src"), "defer": "defer" in a, "async": "async" in a}
            )
        elif tag == "link" and a.get("rel") == "stylesheet":
            self.stylesheets.append(a.get("href") or "")
        elif tag == "form":
            self.forms.append(a.get("action") or "")


def sizes(data: bytes) -> dict[str, int]:
    return {
        "bytes": len(data),
        "gzip5_bytes": len(gzip.compress(data, 5, mtime=0)),
        "gzip9_bytes": len(gzip.compress(data, 9, mtime=0)),
    }


def measure(site: SiteLayout, article: dict[str, Any]) -> dict[str, Any]:
    html_bytes = page_file(site, article).read_bytes()
    html = html_bytes.decode("utf-8")
    page = _Page()
    page.feed(html)
    with sqlite3.connect(site.database) as con:
        approved = con.execute(
            "SELECT id, html FROM comment WHERE article_page_url = ? AND state = "
            "'approved' ORDER BY id",
            (article["page_url"],),
        ).fetchall()
    missing_text = [cid for cid, body in approved if body.strip() not in html]
    css_files = [site.output / href.lstrip("/") for href in page.stylesheets]
    css = b"".join(path.read_bytes() for path in css_files)
    js = [
        (site.output / s["src"].lstrip("/")).stat().st_size
        for s in page.scripts
        if s["src"]
    ]
    both = html_bytes + css
    result = {
        "article": article["slug"],
        "page": str(page_file(site, article).relative_to(site.root)),
        "approved_comments": len(approved),
        "comments_in_html": len(page.comment_ids),
        "all_comments_in_html": sorted(page.comment_ids) == [c for c, _ in approved],
        "comment_text_missing": missing_text,
        "scripts": page.scripts,
        "scripts_all_deferred": all(s["defer"] or s["async"] for s in page.scripts),
        "inline_scripts": sum(1 for s in page.scripts if not s["src"]),
        "js_bytes": sum(js),
        "forms": page.forms,
        "stylesheets": page.stylesheets,
        "html": sizes(html_bytes),
        "css": sizes(css),
        "html_plus_css": {
            "bytes": len(both),
            "gzip5_bytes": sizes(html_bytes)["gzip5_bytes"] + sizes(css)["gzip5_bytes"],
        },
    }
    result["no_js_needed"] = (
        result["all_comments_in_html"]
        and not missing_text
        and result["scripts_all_deferred"]
        and not result["inline_scripts"]
    )
    result["under_goal"] = len(both) < GOAL_BYTES
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--comments", type=int, default=50, help="per article")
    args = parser.parse_args(argv)
    site = read_site(args.comments)
    article = first_article(site)
    results = {"machine": machine(), "command": "bench/page_weight.py"}
    results.update(measure(site, article))
    path = save_results("page_weight", results)
    report(results)
    print(f"\nresults: {path}")
    return 0


def report(r: dict[str, Any]) -> None:
    print(f"== The article page with {r['approved_comments']} comments ==")
    print(f"page: {r['page']}")
    print(
        f"comments in the HTML: {r['comments_in_html']} of {r['approved_comments']}"
        f" ({'all, with their text' if r['all_comments_in_html'] else 'NOT ALL'})"
    )
    for s in r["scripts"]:
        how = "defer" if s["defer"] else "async" if s["async"] else "BLOCKING"
        print(f"script: {s['src'] or '(inline)'} ({how})")
    print(f"JavaScript loaded: {r['js_bytes']:,} bytes, not needed to read")
    print(f"forms (post without JavaScript): {', '.join(r['forms'])}")
    verdict = "met" if r["no_js_needed"] else "MISSED"
    print(f"no JavaScript needed for the comments: {verdict}")
    for name in ("html", "css"):
        s = r[name]
        print(
            f"{name.upper():<5} {s['bytes']:>7,} bytes, gzip -5 {s['gzip5_bytes']:>6,},"
            f" gzip -9 {s['gzip9_bytes']:>6,}"
        )
    both = r["html_plus_css"]
    verdict = "met" if r["under_goal"] else "MISSED"
    print(
        f"HTML + CSS: {both['bytes']:,} bytes before compression (goal < "
        f"{GOAL_BYTES:,}: {verdict}), {both['gzip5_bytes']:,} gzipped (-5)"
    )


if __name__ == "__main__":
    sys.exit(main())
