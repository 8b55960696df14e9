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

import shutil
from pathlib import Path
from urllib.parse import urlsplit

from flask import Flask
from pelican.urlwrappers import Author as PelicanAuthor
from pelican.urlwrappers import Category, Tag
from pelican.utils import slugify
from sqlalchemy import select

from ..core.addresses import HeaderError, checked_address
from ..core.db import get_db
from ..core.models import Author
from ..site.files import write_atomically
from ..site.index import Article, site_index
from ..site.lock import PublishError
from ..site.publishing import build_site
from ..site.redirects import merge_redirects, normal_new, normal_old
from .comments import new_comments, store_and_publish_files
from .records import ImportedThread
from .report import Report
from .wordpress import Export, read_wxr
from .wordpress_plan import Plan, plan, settings_of


def _write_posts(app: Flask, plan: Plan, report: Report) -> list[Path]:
    """Write the planned files that are not there; return those written."""
    content = Path(app.config["CONTENT_PATH"])
    wrote: list[Path] = []
    for p in plan.posts:
        kind = "pages" if p.item.post_type == "page" else "posts"
        for source, target in p.images:
            dest = content / target
            if dest in wrote:
                continue  # shown by two posts, or twice in one
            if dest.exists():
                report.count("images already there")
                continue
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, dest)
            wrote.append(dest)
            report.count("images copied", wrote=True)
        path = content / p.file.path
        if p.exists:
            if path.read_text(encoding="utf-8") == p.file.text:
                report.count(f"{kind} unchanged")
            else:
                report.count(
                    f"{kind} already there, kept as they are (the export differs)"
                )
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomically(path, p.file.text)
        wrote.append(path)
        report.count(f"{kind} written", wrote=True)
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
            if len(name) > 200 or len(author.email) > 254:
                report.skip(f"author {name[:60]}", "a name or address too long")
                continue
            if name in names:
                report.count("authors already there")
                continue
            try:
                email = checked_address(author.email)
            except HeaderError:
                report.skip(
                    f"author {name}",
                    "no usable address in the export: add them with "
                    "`flask --app feedback_app authors add`",
                )
                continue
            session.add(Author(name=name, email=email, role="author"))
            names.add(name)
            report.count("authors added (desk accounts, no password yet)", wrote=True)


def _articles_by_source(app: Flask) -> dict[str, Article]:
    site = site_index(app).current()
    return {a.source: a for a in (site.articles[k] for k in site.articles)}


def _redirects(
    app: Flask, plan: Plan, articles: dict[str, Article], report: Report
) -> None:
    """Merge a redirect from every old address of the export into the map."""
    settings = settings_of(app)
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
            permalink = urlsplit(item.link)
            pretty = permalink.path.strip("/") and not permalink.query
            if article.thread is not None and pretty:
                old_feed = item.link.rstrip("/") + "/feed/"
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
    own = _own_addresses(Path(app.config["OUTPUT_PATH"]))
    for old, new in dict.fromkeys(pairs):
        try:
            key = normal_old(old, export.base_blog_url)
            normal_new(new)
        except ValueError as exc:
            report.note(f"no redirect from {old}: {exc}")
            continue
        if key != _key_of(new) and key.lower() in own:
            # Never send a reader away from a page, feed or file of this
            # site, whatever address the export gives a post.
            report.note(f"no redirect from {old}: it is an address of this site")
            continue
        checked.append((old, new))
    path = Path(app.config["REDIRECTS_PATH"])
    added, already, conflicts = merge_redirects(path, checked, export.base_blog_url)
    report.count("redirects added", added, wrote=True)
    report.count("redirects already there", already)
    for old in conflicts:
        report.note(f"{old} already redirects elsewhere; left as it was")


def _key_of(new: str) -> str | None:
    """Return the key a new address would have as an old one (None for
    the front page, which is never a key)."""
    try:
        return normal_old(new)
    except ValueError:
        return None


def _own_addresses(output: Path) -> set[str]:
    """Return the keys (``redirects.normal_old``, lower-cased as nginx's
    map compares them) of every file and folder the built site serves."""
    own = set()
    for path in output.rglob("*"):
        relative = path.relative_to(output).as_posix()
        own.add("/" + relative.lower())
        if path.name == "index.html":
            own.add("/" + path.parent.relative_to(output).as_posix().lower())
    own.discard("/.")
    return own


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
        with get_db(app).read() as session:
            new = new_comments(
                session,
                (
                    ImportedThread(p.item.link, p.item.title, p.item.comments)
                    for p in the_plan.posts
                    if p.item.post_type == "post"
                ),
                f"wordpress {export.base_blog_url}"[:200],
            )
        report.count("comments to import", new, wrote=True)
        return report
    wrote = _write_posts(app, the_plan, report)
    articles = _articles_by_source(app)
    published = [
        p
        for p in the_plan.posts
        if p.item.post_type == "post" and p.item.status == "publish"
    ]
    if wrote or any(p.file.path not in articles for p in published):
        try:
            build_site(app)
        except PublishError as exc:
            # What this import wrote goes: a file that stops the build
            # would stop every later one too.
            for path in wrote:
                path.unlink(missing_ok=True)
            raise PublishError(
                f"{exc}\nThe files this import wrote were removed again; "
                "nothing else was changed."
            ) from exc
        articles = _articles_by_source(app)
    _add_authors(app, export, report)
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
    origin = f"wordpress {export.base_blog_url}"[:200]
    shown = store_and_publish_files(
        app,
        attached,
        report,
        origin=origin,
        source_name=urlsplit(export.base_blog_url).netloc[:100] or "WordPress",
        keep_ids=True,
    )
    _redirects(app, the_plan, articles, report)
    if shown:
        build_site(app)
    return report
