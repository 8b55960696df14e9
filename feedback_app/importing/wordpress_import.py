"""Importing a WordPress site from its export: posts and pages into
``content/``, images from a copy of its uploads, authors as desk accounts,
comment threads into the database and the comment files, and a redirect
from every old address to the new one.

The order keeps a failure from leaving half an import: the export is read
and every post converted first (``plan``), then files are written, the site
is built (Pelican names each new article's address, ``site.json``), the
comments are stored in one transaction, their files written, the redirect
map merged, and the site built again to show them. Importing the same
export again writes nothing and says so; a newer one adds what is new.
"""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from flask import Flask
from pelican.settings import read_settings
from pelican.urlwrappers import Author as PelicanAuthor
from pelican.urlwrappers import Category, Tag
from pelican.utils import slugify
from sqlalchemy import select

from ..core.db import get_db
from ..core.models import Author
from ..site.files import write_atomically
from ..site.index import Article, site_index
from ..site.post_fields import DraftError
from ..site.publishing import build_site, write_comment_file
from ..site.redirects import merge_redirects, normal_new, normal_old
from ..site.threads import published_comments
from .comments import store_threads
from .posts import PostFile, compose, place
from .records import ImportedThread
from .report import Report
from .wordpress import Export, Item, read_wxr
from .wp_content import Converted, convert_comment, convert_post, split_more

#: Where copied images go, under the content folder (a ``STATIC_PATHS``
#: folder Pelican copies).
IMAGE_FOLDER = "images/wordpress"
_STATUS = {"publish": "published", "draft": "draft", "pending": "draft"}
_LIST_MARKER = re.compile(r"^\s*(?:[-*+]|\d+[.)])\s+")
_SKIPPED_STATUS = {
    "private": "private: WordPress showed it only to signed-in users",
    "trash": "in WordPress's trash",
    "auto-draft": "an automatic draft",
    "inherit": "a revision",
}


@dataclass
class Planned:
    """A post or page to write, and what it brings along."""

    item: Item
    file: PostFile
    exists: bool
    images: tuple[tuple[Path, str], ...] = ()


@dataclass
class Plan:
    """Everything an import will write, worked out before writing."""

    export: Export
    posts: list[Planned] = field(default_factory=list)


def _settings(app: Flask) -> dict[str, Any]:
    return read_settings(app.config["PELICAN_SETTINGS"])


def _slug(item: Item, settings: dict[str, Any]) -> str:
    """Return the post's slug: WordPress's, as a slug Pelican would make
    (no ``/``, no dots: it becomes a folder of the output)."""
    subs = settings.get("SLUG_REGEX_SUBSTITUTIONS", ())
    for candidate in (item.slug, item.title, f"post-{item.post_id}"):
        slug = slugify(candidate, regex_subs=subs, use_unicode=True)[:100].strip("-")
        if slug:
            return slug
    return f"post-{item.post_id}"  # pragma: no cover - the last always is


def _local(when: datetime | None, tz: ZoneInfo) -> str:
    if when is None:
        return ""
    return (
        when.replace(tzinfo=ZoneInfo("UTC")).astimezone(tz).strftime("%Y-%m-%d %H:%M")
    )


def _summary(item: Item) -> str:
    """Return the post's summary as one line of Markdown: its excerpt, or
    what comes before ``<!--more-->``."""
    source = item.excerpt.strip()
    if not source:
        _, before = split_more(item.content)
        source = before or ""
    if not source.strip():
        return ""
    # One line: paragraphs and list items run on, without their markers.
    lines = convert_comment(source).splitlines()
    return " ".join(_LIST_MARKER.sub("", line).strip() for line in lines).strip()


def _header(item: Item, export: Export, slug: str, tz: ZoneInfo) -> dict[str, str]:
    author = export.authors.get(item.creator) or next(
        (a for a in export.authors.values() if a.login.lower() == item.creator.lower()),
        None,
    )
    date = _local(item.date_gmt, tz) or (
        item.date_local.strftime("%Y-%m-%d %H:%M") if item.date_local else ""
    )
    modified = _local(item.modified_gmt, tz)
    categories = [t.name for t in item.categories]
    tags = [t.name.replace(",", " ") for t in item.tags]
    # Pelican has one category an article: the others become tags.
    tags += [name.replace(",", " ") for name in categories[1:] if name not in tags]
    return {
        "Title": item.title or slug,
        "Date": date,
        "Modified": modified if modified and modified > date else "",
        "Author": author.display_name if author else item.creator,
        "Category": categories[0] if categories else "",
        "Tags": ", ".join(dict.fromkeys(tags)),
        "Slug": slug,
        "Summary": _summary(item) if item.post_type == "post" else "",
        "Status": _STATUS.get(item.status, "draft"),
        "Imported_from": item.link or item.guid,
    }


def plan(app: Flask, export: Export, uploads: Path | None, report: Report) -> Plan:
    """Convert every post and page of ``export``; write nothing."""
    settings = _settings(app)
    tz = ZoneInfo(settings.get("TIMEZONE") or "UTC")
    content = Path(app.config["CONTENT_PATH"])
    uploads_url = export.base_site_url.rstrip("/") + "/wp-content/uploads"
    result = Plan(export)
    slugs: set[tuple[str, str]] = set()
    for item in export.items:
        what = f"{item.post_type} {item.post_id} “{item.title}”"
        if item.post_type not in ("post", "page"):
            if item.post_type not in ("attachment", "nav_menu_item", "revision"):
                report.skip(what, f"WordPress type {item.post_type!r}")
            continue
        if item.status in _SKIPPED_STATUS or item.password:
            why = _SKIPPED_STATUS.get(item.status, "protected by a password")
            report.skip(what, why)
            report.count("comments on posts not imported", len(item.comments))
            continue
        slug = _slug(item, settings)
        folder = "pages" if item.post_type == "page" else ""
        converted: Converted = convert_post(
            item.content,
            uploads_url=uploads_url,
            uploads_dir=uploads,
            image_folder=IMAGE_FOLDER,
        )
        for line in converted.notes:
            report.note(f"{what}: {line}")
        suffix = "html" if converted.format == "html" else "md"
        origin = item.link or item.guid
        try:
            if (folder, slug) in slugs:
                slug = f"{slug}-{item.post_id}"
            path, exists = place(content, folder, slug, suffix, origin, item.post_id)
            slug = Path(path).stem
            text = compose(_header(item, export, slug, tz), converted.text, suffix)
        except DraftError as exc:
            report.skip(what, str(exc))
            continue
        slugs.add((folder, slug))
        result.posts.append(
            Planned(item, PostFile(path, text, origin, slug), exists, converted.images)
        )
    return result


def _write_posts(app: Flask, plan: Plan, report: Report) -> bool:
    """Write the planned files that are not there; return whether any was."""
    content = Path(app.config["CONTENT_PATH"])
    wrote = False
    for p in plan.posts:
        kind = "pages" if p.item.post_type == "page" else "posts"
        for source, target in p.images:
            dest = content / target
            if dest.exists():
                report.count("images already there")
                continue
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, dest)
            report.count("images copied", wrote=True)
        path = content / p.file.path
        if p.exists:
            if path.read_text(encoding="utf-8") == p.file.text:
                report.count(f"{kind} unchanged")
            else:
                report.count(f"{kind} kept as you edited them")
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomically(path, p.file.text)
        report.count(f"{kind} written", wrote=True)
        wrote = True
    return wrote


def _add_authors(app: Flask, export: Export, report: Report) -> None:
    """Make a desk account (no password) for each author with a post."""
    writing = {p.lower() for i in export.items for p in (i.creator,) if p}
    with get_db(app).write() as session:
        names = set(session.scalars(select(Author.name)))
        for author in export.authors.values():
            if author.login.lower() not in writing:
                continue
            name = author.display_name
            if name in names:
                report.count("authors already there")
                continue
            if "@" not in author.email:
                report.skip(
                    f"author {name}",
                    "no address in the export: add them with "
                    "`flask --app feedback_app authors add`",
                )
                continue
            session.add(Author(name=name, email=author.email, role="author"))
            names.add(name)
            report.count("authors added (desk accounts, no password yet)", wrote=True)


def _articles_by_source(app: Flask) -> dict[str, Article]:
    site = site_index(app).current()
    return {a.source: a for a in (site.articles[k] for k in site.articles)}


def _redirects(
    app: Flask, plan: Plan, articles: dict[str, Article], report: Report
) -> None:
    """Merge a redirect from every old address of the export into the map."""
    settings = _settings(app)
    export = plan.export
    base = urlsplit(export.base_blog_url).path.rstrip("/")
    pairs: list[tuple[str, str]] = []
    for p in plan.posts:
        item = p.item
        if item.post_type == "page":
            new = "/" + settings["PAGE_URL"].format(slug=p.file.slug)
        else:
            article = articles.get(p.file.path)
            if article is None:
                continue  # a draft: no address yet
            new = "/" + article.page_url
            if article.thread is not None:
                old_feed = item.link.rstrip("/") + "/feed/"
                if "?" not in item.link:
                    pairs.append((old_feed, "/" + article.thread.feed))
        ids = "page_id" if item.post_type == "page" else "p"
        for old in {item.link, item.guid, f"{base}/?{ids}={item.post_id}"}:
            if old and (old.startswith("/") or "://" in old):
                pairs.append((old, new))
    # Archives of what the imported articles use, where the build made one:
    # a WordPress category that became a tag here leads to the tag's page.
    shown = [articles[p.file.path] for p in plan.posts if p.file.path in articles]
    categories = {a.category for a in shown}
    tags = {t for a in shown for t in a.tags}
    writers = {name for a in shown for name in a.authors}
    for term in export.categories.values():
        path = [term.slug]
        parent = export.categories.get(term.parent)
        while parent is not None and len(path) < 10:
            path.insert(0, parent.slug)
            parent = export.categories.get(parent.parent)
        if term.name in categories:
            new = "/" + Category(term.name, settings).url
        elif term.name in tags:
            new = "/" + Tag(term.name, settings).url
        else:
            continue
        pairs.append((f"{base}/category/{'/'.join(path)}/", new))
    for term in export.tags.values():
        if term.name in tags:
            new = "/" + Tag(term.name, settings).url
            pairs.append((f"{base}/tag/{term.slug}/", new))
    for author in export.authors.values():
        if author.display_name in writers:
            login = slugify(author.login, use_unicode=True)
            new = "/" + PelicanAuthor(author.display_name, settings).url
            pairs.append((f"{base}/author/{login}/", new))
    feed = settings.get("FEED_ALL_ATOM")
    pairs.append((f"{base}/feed/", "/" + feed if feed else "/"))
    checked = []
    for old, new in dict.fromkeys(pairs):
        try:
            normal_old(old, export.base_blog_url)
            normal_new(new)
        except ValueError as exc:
            report.note(f"no redirect from {old}: {exc}")
            continue
        checked.append((old, new))
    path = Path(app.config["REDIRECTS_PATH"])
    added, already, conflicts = merge_redirects(path, checked, export.base_blog_url)
    report.count("redirects added", added, wrote=True)
    report.count("redirects already there", already)
    for old in conflicts:
        report.note(f"{old} already redirects elsewhere; left as it was")


def threads_of(
    plan: Plan, articles: dict[str, Article]
) -> list[tuple[Article, ImportedThread]]:
    """Return each imported post's comments with the article they go on."""
    attached = []
    for p in plan.posts:
        if not p.item.comments:
            continue
        article = articles.get(p.file.path)
        if article is None:
            continue
        attached.append(
            (article, ImportedThread(p.item.link, p.item.title, p.item.comments))
        )
    return attached


def import_wordpress(
    app: Flask, export_path: Path, *, uploads: Path | None = None, dry_run: bool = False
) -> Report:
    """Import the WordPress export at ``export_path``; return the report.

    :raise SourceError: if the export cannot be read (nothing is written).
    :raise PublishError: if the site does not build.
    """
    report = Report(str(export_path), dry_run=dry_run)
    export = read_wxr(export_path)
    the_plan = plan(app, export, uploads, report)
    if dry_run:
        for p in the_plan.posts:
            kind = "pages" if p.item.post_type == "page" else "posts"
            if p.exists:
                report.count(f"{kind} already there")
            else:
                report.count(f"{kind} to write", wrote=True)
            report.count("comments in them", len(p.item.comments))
        return report
    wrote = _write_posts(app, the_plan, report)
    _add_authors(app, export, report)
    articles = _articles_by_source(app)
    if wrote or any(p.file.path not in articles for p in the_plan.posts):
        build_site(app)
        articles = _articles_by_source(app)
    for p in the_plan.posts:
        if p.item.comments and p.item.post_type == "page":
            report.skip(
                f"{len(p.item.comments)} comments on the page “{p.item.title}”",
                "pages have no comments here",
            )
        elif p.item.comments and p.file.path not in articles:
            report.skip(
                f"{len(p.item.comments)} comments on “{p.item.title}”",
                "it is a draft here: import again once it is published",
            )
    attached = threads_of(the_plan, articles)
    origin = f"wordpress {export.base_blog_url}"
    with get_db(app).write() as session:
        stored = store_threads(
            session,
            attached,
            origin=origin,
            source_name=export.base_blog_url,
            keep_ids=True,
        )
        rows = {url: published_comments(session, url) for url in stored.page_urls}
    for state, n in stored.added.items():
        report.count(f"comments imported: {state}", n, wrote=True)
    report.count("comments already imported", stored.already)
    report.count("pingbacks and trackbacks skipped", stored.link_notices)
    for anchor in stored.anchors_lost:
        report.note(f"{anchor}: another comment of the article has that anchor")
    folder = Path(app.config["COMMENTS_PATH"])
    folder.mkdir(parents=True, exist_ok=True)
    for url, comments in rows.items():
        write_comment_file(folder, url, comments)
    _redirects(app, the_plan, articles, report)
    if rows:
        build_site(app)
    return report
