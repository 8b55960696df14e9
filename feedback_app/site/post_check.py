"""Checking a desk post: its file read back by Pelican's own Markdown reader
with the site's settings, in a separate process stopped after
``RENDER_TIMEOUT`` seconds, and refused unless Pelican reads exactly the
metadata written and the HTML passes ``post_markup.clean`` unchanged; and
the preview, which is that same cleaned HTML.

Run as ``python -m feedback_app.site.post_check`` (by ``check``), it checks the
post given as JSON on stdin and answers JSON on stdout.
"""

from __future__ import annotations

import json
import os
import re
import subprocess  # nosec B404
import sys
import tempfile
import threading
from dataclasses import asdict
from pathlib import Path
from typing import Any

from ..core.translations import gettext as _
from ..core.translations import number
from . import post_markup
from .index import Site
from .post_fields import (
    DATE_FORM,
    DATE_FORMAT,
    SLUG_FORM,
    STATUSES,
    DraftError,
    Post,
    PostFields,
    compose,
)

_settings_lock = threading.Lock()


_settings_cache: dict[tuple[str, float, str], dict[str, Any]] = {}


def pelican_settings(config: Any) -> dict[str, Any]:
    """Return the site's Pelican settings (``PELICAN_SETTINGS``), read once
    per change of the file."""
    from pelican.settings import read_settings  # only the desk's posts need it

    path = config["PELICAN_SETTINGS"]
    # The content folder the app builds (``publishing.py`` names it too).
    extra = {"PATH": config.get("CONTENT_PATH") or "content"}
    extra.update(config.get("PELICAN_EXTRA_SETTINGS") or {})
    os.makedirs(extra["PATH"], exist_ok=True)  # the desk writes posts there
    key = (path, os.stat(path).st_mtime, repr(sorted(extra.items())))
    with _settings_lock:
        if key not in _settings_cache:
            _settings_cache.clear()
            _settings_cache[key] = read_settings(path, override=extra)
        return _settings_cache[key]


def read_as_pelican(config: Any, text: str) -> tuple[str, dict[str, Any]]:
    """Return (HTML, metadata) of ``text`` read by Pelican's Markdown reader
    with the site's settings, from a file, as a build reads it."""
    from pelican.readers import MarkdownReader

    settings = pelican_settings(config)
    with tempfile.TemporaryDirectory(prefix="desk-post-") as folder:
        path = Path(folder, "post.md")
        path.write_text(text, encoding="utf-8")
        return MarkdownReader(settings).read(str(path))


#: Seconds Pelican may take to render a desk post. Markdown and some of
#: Pygments' lexers take time in the square (or worse) of hostile input;
#: a post that takes longer is refused, so no build ever waits for it.
RENDER_TIMEOUT = 10


_checked: dict[str, tuple[str, str]] = {}


_checked_lock = threading.Lock()


def check(config: Any, fields: PostFields, *, answered: str | None = None) -> Post:
    """:func:`check_now` in a separate Python process, stopped after
    ``RENDER_TIMEOUT`` seconds; the latest results are remembered.

    :raise DraftError: as :func:`check_now`, or if it takes too long.
    """
    request = json.dumps(
        {
            "config": {
                "PELICAN_SETTINGS": config["PELICAN_SETTINGS"],
                "CONTENT_PATH": config.get("CONTENT_PATH"),
                "PELICAN_EXTRA_SETTINGS": config.get("PELICAN_EXTRA_SETTINGS") or {},
            },
            "fields": asdict(fields),
            "answered": answered,
        },
        sort_keys=True,
    )
    with _checked_lock:
        done = _checked.get(request)
    if done is None:
        done = _check_elsewhere(request, config["PELICAN_SETTINGS"])
        with _checked_lock:
            if len(_checked) >= 64:
                _checked.pop(next(iter(_checked)))
            _checked[request] = done
    return Post("", fields, *done)


def _check_elsewhere(request: str, settings_path: str) -> tuple[str, str]:
    # The program is this Python and this module; the input goes on stdin.
    try:
        result = subprocess.run(  # nosec B603
            [sys.executable, "-m", "feedback_app.site.post_check"],
            input=request,
            capture_output=True,
            text=True,
            timeout=RENDER_TIMEOUT,
            cwd=Path(settings_path).parent,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise DraftError(
            _(
                "Pelican takes longer than {seconds} seconds to render this "
                "post; please simplify its code blocks and brackets."
            ).format(seconds=RENDER_TIMEOUT),
            "body",
        ) from None
    try:
        answer = json.loads(result.stdout)
    except ValueError:
        raise RuntimeError(f"checking a post failed: {result.stderr[-2000:]}") from None
    if "error" in answer:
        raise DraftError(answer["error"], answer.get("field"))
    return answer["html"], answer["summary_html"]


def _main() -> None:
    """Check the post given as JSON on stdin; answer JSON on stdout."""
    request = json.load(sys.stdin)
    try:
        post = check_now(
            request["config"],
            PostFields(
                **{**request["fields"], "tags": tuple(request["fields"]["tags"])}
            ),
            answered=request["answered"],
        )
    except DraftError as exc:
        json.dump({"error": str(exc), "field": exc.field}, sys.stdout)
    else:
        json.dump({"html": post.html, "summary_html": post.summary_html}, sys.stdout)


def check_now(config: Any, fields: PostFields, *, answered: str | None = None) -> Post:
    """Compose ``fields``, read them as Pelican will, and refuse what the
    desk may not publish.

    ``answered`` is the content file of the answered article: the one
    ``{filename}`` link allowed.

    :raise DraftError: saying what is refused (and in which field).
    """
    if not SLUG_FORM.fullmatch(fields.slug):
        raise DraftError(_("The post has no valid slug."))
    if fields.status not in STATUSES:
        raise DraftError(
            _("The status must be one of {statuses}.").format(
                statuses=", ".join(STATUSES)
            )
        )
    if not DATE_FORM.fullmatch(fields.date):
        raise DraftError(_("The post has no valid date."))
    if not fields.title:
        raise DraftError(_("A post needs a title."), "title")
    if not fields.category:
        # Without one, Pelican would file the post under its folder's name.
        raise DraftError(_("A post needs a category."), "category")
    settings = pelican_settings(config)
    _check_names(fields, settings)
    text = compose(fields)
    try:
        content, meta = read_as_pelican(config, text)
    except Exception as exc:  # Markdown's or Pygments' error on this text
        raise DraftError(
            _(
                "Pelican cannot render this post ({error}); please check its "
                "code blocks and links."
            ).format(error=f"{type(exc).__name__}: {exc}"),
            "body",
        ) from None
    _check_metadata(fields, meta)
    summary = str(meta.get("summary", ""))
    pattern = settings["INTRASITE_LINK_REGEX"]
    allowed = {("filename", f"/{answered}")} if answered else set()
    for field, rendered in (("body", content), ("summary", summary)):
        if post_markup.longest_tag(rendered) > post_markup.MAX_TAG:
            raise DraftError(
                _(
                    "A tag in this post is longer than {limit} characters; "
                    "please shorten its attributes."
                ).format(limit=number(post_markup.MAX_TAG)),
                field,
            )
        refused = post_markup.refusals(rendered)
        # Pelican rewrites links in the cleaned HTML: look there too, where
        # entities and unquoted values no longer hide them.
        links = post_markup.intrasite_links(rendered, pattern)
        links += post_markup.intrasite_links(post_markup.clean(rendered), pattern)
        refused += [
            f"the link “{{{what}}}{value}”"
            for what, value in dict.fromkeys(links)
            if (what, value) not in allowed
        ]
        if refused:
            raise DraftError(
                _(
                    "The desk does not publish {what}: a post may use Markdown, "
                    "and HTML for headings, lists, tables, code, quotes, links, "
                    "and images over https; no script, styles, forms, frames or "
                    "links into the site's files."
                ).format(what=", ".join(refused[:3])),
                field,
            )
    return Post("", fields, post_markup.clean(content), post_markup.clean(summary))


def _check_names(fields: PostFields, settings: dict[str, Any]) -> None:
    """Refuse a category or tag with no letter or digit: Pelican's slug for
    it would be empty, and its page would take the index's address."""
    from pelican.urlwrappers import Category, Tag

    if fields.category and not Category(fields.category, settings).slug:
        raise DraftError(_("A category needs a letter or a digit."), "category")
    for tag in fields.tags:
        if not Tag(tag, settings).slug:
            raise DraftError(
                _("The tag {tag} needs a letter or a digit.").format(tag=f"“{tag}”"),
                "tags",
            )


def _check_metadata(fields: PostFields, meta: dict[str, Any]) -> None:
    """Make sure Pelican read exactly the metadata the desk wrote."""
    expected = {
        "title": fields.title,
        "date": fields.date,
        "author": fields.author,
        "category": fields.category,
        "tags": list(fields.tags),
        "slug": fields.slug,
        "status": fields.status,
    }
    expected = {k: v for k, v in expected.items() if v}
    if fields.summary:
        expected["summary"] = ...
    read: dict[str, Any] = {}
    for key, value in meta.items():
        if key == "date":
            read[key] = value.strftime(DATE_FORMAT)
        elif key in ("author", "category"):
            read[key] = value.name
        elif key == "tags":
            read[key] = [tag.name for tag in value]
        elif key == "summary":
            read[key] = ...
        else:
            read[key] = value
    if read != expected:
        raise DraftError(
            _(
                "Pelican would read this post's metadata differently from what "
                "the desk wrote; please simplify the title, category or tags."
            )
        )


def preview_html(post: Post, site: Site, settings: dict[str, Any]) -> str:
    """Return the post's body as the site will show it: the cleaned HTML,
    with the answered article's ``{filename}`` link made a URL as Pelican
    makes it."""
    sources = {a.source: a.url for a in site.articles.values() if a.source}
    pattern = settings["INTRASITE_LINK_REGEX"]

    def link(match: re.Match[str]) -> str:
        url = sources.get(match.group("value").lstrip("/"))
        if match.group("what") != "filename" or url is None:
            return match.group(0)
        return (
            f"{match.group('markup')}{match.group('quote')}{url}{match.group('quote')}"
        )

    regex = re.compile(
        rf"""(?P<markup><[^\>]+(?:href|src)\s*=\s*)(?P<quote>["\'])"""
        rf"""(?P<path>{pattern}(?P<value>.*?))(?P=quote)"""
    )
    return regex.sub(link, post.html)


if __name__ == "__main__":
    _main()
