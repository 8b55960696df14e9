"""What a WordPress import will write, worked out before anything is:
each post and page converted (``wp_content``), its header composed from
the export's checked values, its file and slug chosen (``posts.place``:
never another post's file, never a slug the site uses), and what it
leaves out, in the report.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from flask import Flask
from pelican.settings import read_settings
from pelican.utils import slugify

from ..site.index import site_index
from ..site.post_fields import DraftError
from .posts import PostFile, compose, place
from .report import Report
from .wordpress import Export, Item
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


def settings_of(app: Flask) -> dict[str, Any]:
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


def _taken(app: Flask, settings: dict[str, Any]) -> set[tuple[str, str]]:
    """Return the slugs an imported post or page may not have: those of
    the site's articles, and the folders at the top of the site (its pages,
    and what Pelican and the theme write there: archives/, tags/, theme/…)
    for pages."""
    site = site_index(app).current()
    taken = {("", site.articles[k].slug) for k in site.articles}
    output = Path(app.config["OUTPUT_PATH"])
    names = {p.name for p in output.iterdir()} if output.is_dir() else set()
    for key, value in settings.items():
        if key.endswith("_SAVE_AS") and isinstance(value, str) and "/" in value:
            first = value.split("/", 1)[0]
            if "{" not in first:
                names.add(first)
    names |= {"app", "theme", "feeds", "drafts", "comments", "images", "pages"}
    return taken | {("pages", name) for name in names}


def plan(app: Flask, export: Export, uploads: Path | None, report: Report) -> Plan:
    """Convert every post and page of ``export``; write nothing."""
    settings = settings_of(app)
    tz = ZoneInfo(settings.get("TIMEZONE") or "UTC")
    content = Path(app.config["CONTENT_PATH"])
    uploads_url = export.base_site_url.rstrip("/") + "/wp-content/uploads"
    result = Plan(export)
    slugs: set[tuple[str, str]] = set()
    taken = _taken(app, settings)
    attachments = export.attachments
    children: dict[str, list[str]] = {}
    for item in export.items:
        if item.post_type == "attachment" and item.parent not in ("", "0"):
            children.setdefault(item.parent, []).append(item.post_id)
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
            attachments=attachments,
            children=children.get(item.post_id, ()),
        )
        for line in converted.notes:
            report.note(f"{what}: {line}")
        suffix = "html" if converted.format == "html" else "md"
        origin = item.link or item.guid
        try:
            path, exists = place(content, folder, slug, suffix, origin, item.post_id)
            if not exists and ((folder, slug) in slugs or (folder, slug) in taken):
                # Another post of the site, or a page Pelican writes itself
                # (archives/, tags/…): the old address redirects here.
                slug = f"{slug}-{item.post_id}"
                path, exists = place(
                    content, folder, slug, suffix, origin, item.post_id
                )
            slug = Path(path).stem
            text = compose(_header(item, export, slug, tz), converted.text, suffix)
        except DraftError as exc:
            report.skip(what, f"its {exc.field or 'file'}: {exc}")
            continue
        slugs.add((folder, slug))
        result.posts.append(
            Planned(item, PostFile(path, text, origin, slug), exists, converted.images)
        )
    return result
