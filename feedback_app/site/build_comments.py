"""The comments in the build, for the Pelican plugin: each article's thread,
read from its comment file (``contract.py``) and rendered (or taken from
the rendered threads of the last build, ``thread_cache.py``) into its pages,
its translations, its comment pages and its feed (``thread_render.py``, as
the app renders them after a change); the writer that writes only the pages
the app asked for when a page cannot be updated without Pelican.

Imports without Flask (Pelican loads it on every build).
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

from markupsafe import Markup
from pelican.generators import ArticlesGenerator
from pelican.writers import Writer

from .render_pool import render_all
from .thread_cache import ThreadCache
from .thread_files import write_thread
from .thread_model import (
    ThreadRecord,
    ThreadView,
    comment_file,
    comment_rows,
    render_settings,
)
from .thread_render import RenderedThread, ThreadRenderer


def translations_of(article: Any) -> list[Any]:
    """Return the published translations of an original article.

    Pelican groups by slug: two originals sharing a slug (different years)
    are in each other's ``translations`` too, but are no translation, so
    only a version in another language counts.
    """
    return [
        t
        for t in getattr(article, "translations", ())
        if t.lang != article.lang and t.status == "published"
    ]


def thread_record(article: Any) -> ThreadRecord:
    """Return the thread of an original article: shown on its page and on
    each of its published translations'."""
    views = [article, *translations_of(article)]
    updated = getattr(article, "modified", None) or article.date
    return ThreadRecord(
        page_url=article.url,
        views=tuple(
            ThreadView(save_as=a.save_as, url=a.url, title=a.title, lang=a.lang)
            for a in views
        ),
        updated=updated.isoformat(),
    )


def menu_pages(pages: Any) -> list[dict[str, str]]:
    """Return the menu's pages as the site index records them."""
    return [{"title": p.title, "url": p.url} for p in pages]


def attach_comments(generator: ArticlesGenerator) -> None:
    """Render every article's thread into it (``article.thread_html``), and
    give every page that shows one its key and its feed's URL.

    Runs after the generator has its articles, so articles restored from the
    content cache get fresh comments too.
    """
    settings = generator.settings
    folder = settings["FEEDBACK_COMMENTS_PATH"]
    # What the app renders from: the same JSON copy (site index's "render"),
    # with the menu's pages known only once the pages are read.
    render = render_settings(settings)
    renderer = ThreadRenderer(render)
    cache = ThreadCache.for_build(settings, render)
    # The app's rebuild of a page it could not update itself writes only
    # these articles' pages: the others' comments are not read.
    only = set(settings.get("FEEDBACK_SELECTED_URLS") or ())
    per_slug = Counter(article.slug for article in generator.articles)
    # Each article's record, its rows (read only if it is rendered) and its
    # rendered thread: from the cache, or rendered below, all at once.
    found: list[tuple[Any, ThreadRecord, list[dict[str, Any]] | None, str]] = []
    rendered_of: dict[int, RenderedThread] = {}
    for article in [*generator.articles, *generator.translations, *generator.drafts]:
        # What the forms send back to name the article (the app's key);
        # a translation's is its original's (see below).
        article.page_url = article.url
        article.comment_count = 0
        article.comment_feed_url = ""
    for article in generator.articles:
        record = thread_record(article)
        article.feedback_thread = record  # for the site index
        for view, shown in zip(
            [article, *translations_of(article)], record.views, strict=True
        ):
            view.page_url = record.page_url
            view.comment_feed_url = record.feed_url
            view.article_url = shown.url  # the form's "page": back to it
        if only and record.page_url not in only:
            continue
        legacy = article.slug if per_slug[article.slug] <= 1 else None
        data = comment_file(folder, record.page_url, legacy)
        key = cache.key(record, data)
        rows: list[dict[str, Any]] | None = None
        kept = cache.get(key)
        if kept is None:
            rows = comment_rows(data, record.page_url)
        else:
            rendered_of[len(found)] = kept
        found.append((article, record, rows, key))
    missing = [i for i in range(len(found)) if i not in rendered_of]
    jobs = [(found[i][1], found[i][2] or []) for i in missing]
    for i, rendered in zip(missing, render_all(renderer, jobs), strict=True):
        rendered_of[i] = rendered
        cache.put(found[i][3], rendered)
    threads: list[tuple[ThreadRecord, list[dict[str, Any]] | None, RenderedThread]]
    threads = []
    for i, (article, record, rows, _) in enumerate(found):
        rendered = rendered_of[i]
        for view in [article, *translations_of(article)]:
            if view.save_as in rendered.regions:
                region = rendered.regions[view.save_as]  # rendered, escaped
                view.thread_html = Markup(region)  # noqa: S704  # nosec B704
                view.comment_count = rendered.comment_count
        threads.append((record, rows, rendered))
    cache.close(prune=not only)
    generator.feedback_threads = threads  # for write_comment_files


def write_comment_files(generator: ArticlesGenerator, writer: Writer) -> None:
    """Write each thread's feed and comment pages (the article pages are
    Pelican's), each with its compressed twin; remove pages a shorter
    thread no longer has."""
    settings = generator.settings
    pages = menu_pages(generator.context.get("pages", ()))
    renderer = ThreadRenderer(render_settings(settings), pages)
    # A full build compresses every file at its end (plugin.compress_output);
    # a selective one only the files it was asked for.
    twins = bool(settings.get("FEEDBACK_GZIP", True)) and bool(
        settings.get("FEEDBACK_WRITE_SELECTED")
    )
    output = Path(writer.output_path)
    for record, rows, rendered in getattr(generator, "feedback_threads", ()):
        if rendered.files:  # comment pages show the menu: render them with it
            assert rows is not None  # nosec B101 - never cached with pages
            rendered = renderer.render(record, rows)
        write_thread(output, record, rendered, twins=twins)


class SelectiveWriter(Writer):
    """A writer that writes only the output paths it was asked for.

    Pelican 4.9 removed ``--write-selected``; the app's rebuild after a
    comment changes needs just the article's pages.
    """

    def __init__(self, output_path: str, settings: dict[str, Any] | None = None):
        super().__init__(output_path, settings=settings)
        self.selected = set((settings or {}).get("FEEDBACK_WRITE_SELECTED") or ())

    def write_file(self, name: str, *args: Any, **kwargs: Any) -> Any:
        if name in self.selected:
            return super().write_file(name, *args, **kwargs)
        return None

    def write_feed(self, elements: Any, context: Any, path: Any = None, *args, **kw):  # type: ignore[no-untyped-def]
        if path in self.selected:
            return super().write_feed(elements, context, path, *args, **kw)
        return None
