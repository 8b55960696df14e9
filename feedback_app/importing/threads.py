"""Importing the threads of a comment system (Disqus, Isso): each thread is
attached to an article of the site by its old address, then its comments
are stored, their files written and the site built once.

A thread's address matches an article when its path is the article's own
address, or when the redirect map (a WordPress import's) leads there, or
when its last segment is the slug of exactly one article. A thread that
matches nothing is listed in the report, never guessed.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import unquote, urlsplit

from flask import Flask

from ..core.db import get_db
from ..site.index import Article, Site, site_index
from ..site.publishing import build_site
from ..site.redirects import read_redirects, redirect_for
from .comments import new_comments, store_and_publish_files
from .records import ImportedThread
from .report import Report


def _path(url: str) -> str:
    """Return a URL's path without the site's folder, decoded, without its
    slashes at either end ("2019/hello")."""
    return unquote(urlsplit(url).path).strip("/")


def attach(
    site: Site, redirects: dict[str, str], threads: list[ImportedThread]
) -> tuple[list[tuple[Article, ImportedThread]], list[ImportedThread]]:
    """Return the threads matched to articles, and those that match none."""
    base = _path(site.url)
    by_path: dict[str, Article] = {}
    by_slug: dict[str, list[Article]] = {}
    for key in site.articles:
        article = site.articles[key]
        by_path[unquote(article.page_url).strip("/")] = article
        by_slug.setdefault(article.slug, []).append(article)
    matched, unmatched = [], []
    for t in threads:
        path = _path(t.url)
        if base and path.startswith(base + "/"):
            path = path[len(base) + 1 :]
        article = by_path.get(path)
        if article is None:
            parts = urlsplit(t.url)
            target = redirect_for(redirects, unquote(parts.path) or "/", parts.query)
            if target:
                article = by_path.get(unquote(urlsplit(target).path).strip("/"))
        if article is None:
            for candidate in (path.rsplit("/", 1)[-1], *t.identifiers):
                found = by_slug.get(candidate, [])
                if len(found) == 1:
                    article = found[0]
                    break
        if article is None:
            unmatched.append(t)
        else:
            matched.append((article, t))
    return matched, unmatched


def import_threads(
    app: Flask,
    threads: list[ImportedThread],
    *,
    origin: str,
    source_name: str,
    report: Report,
    dry_run: bool = False,
) -> Report:
    """Attach ``threads`` to the site's articles and store their comments."""
    site = site_index(app).current()
    if not site.articles:
        build_site(app)
        site = site_index(app).current()
    redirects = read_redirects(Path(app.config["REDIRECTS_PATH"]))
    matched, unmatched = attach(site, redirects, threads)
    for t in unmatched:
        what = ", ".join(x for x in (t.url, t.title) if x)
        report.unmatched.append(f"{what} ({len(t.comments)} comments)")
    report.count("threads matched to articles", len(matched))
    if dry_run:
        with get_db(app).read() as session:
            new = new_comments(session, (t for _, t in matched), origin)
        report.count("comments to import", new, wrote=True)
        return report
    if store_and_publish_files(
        app, matched, report, origin=origin, source_name=source_name
    ):
        build_site(app)
    return report
