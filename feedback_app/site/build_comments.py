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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from markupsafe import Markup
from pelican.generators import ArticlesGenerator
from pelican.writers import Writer

from .render_pool import Renders
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
    """Give every article its thread (``article.thread_html``), and every
    page that shows one its key and its feed's URL.

    Runs after the generator has its articles, so articles restored from the
    content cache get fresh comments too. A thread not in the cache is
    rendered meanwhile (``render_pool.py``) and attached when Pelican is
    about to write its page (``attach_rendered``).
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
    build = BuildThreads(cache)
    for article in [*generator.articles, *generator.translations, *generator.drafts]:
        # What the forms send back to name the article (the app's key);
        # a translation's is its original's (see below).
        article.page_url = article.url
        article.comment_count = 0
        article.comment_feed_url = ""
    missing: list[int] = []
    for article in generator.articles:
        record = thread_record(article)
        article.feedback_thread = record  # for the site index
        views = [article, *translations_of(article)]
        for view, shown in zip(views, record.views, strict=True):
            view.page_url = record.page_url
            view.comment_feed_url = record.feed_url
            view.article_url = shown.url  # the form's "page": back to it
        if only and record.page_url not in only:
            continue
        legacy = article.slug if per_slug[article.slug] <= 1 else None
        data = comment_file(folder, record.page_url, legacy)
        key = cache.key(record, data)
        kept = cache.get(key)
        rows = comment_rows(data, record.page_url) if kept is None else None
        build.threads.append(Thread(views, record, rows, key, kept))
        if kept is None:
            missing.append(len(build.threads) - 1)
    # Rendered in the order Pelican writes the pages: translations first.
    missing.sort(key=lambda i: len(build.threads[i].views) == 1)
    build.renders = Renders(
        renderer,
        [(build.threads[i].record, build.threads[i].rows or []) for i in missing],
        cache.encoder(),
    )
    for job, i in enumerate(missing):
        build.threads[i].job = job
    for thread in build.threads:
        for view in thread.views:
            build.by_view[id(view)] = thread
        if thread.rendered is not None:
            thread.attach()
    generator.feedback_build = build  # for attach_rendered, write_comment_files


@dataclass
class Thread:
    """One article's thread in the build: the pages that show it, its rows
    (read only if it is rendered), its cache key, and its rendering."""

    views: list[Any]  # the article and its translations
    record: ThreadRecord
    rows: list[dict[str, Any]] | None
    key: str
    rendered: RenderedThread | None
    job: int = -1  # its index in the renders, if rendered in this build

    def attach(self) -> None:
        """Put the rendered thread into each of its pages."""
        assert self.rendered is not None  # nosec B101 - rendered or kept
        for view in self.views:
            if view.save_as in self.rendered.regions:
                region = self.rendered.regions[view.save_as]  # rendered, escaped
                view.thread_html = Markup(region)  # noqa: S704  # nosec B704
                view.comment_count = self.rendered.comment_count


@dataclass
class BuildThreads:
    """The threads of a build, and the renders of those not in its cache."""

    cache: ThreadCache
    threads: list[Thread] = field(default_factory=list)
    by_view: dict[int, Thread] = field(default_factory=dict)
    renders: Renders | None = None

    def resolve(self, thread: Thread) -> None:
        """Attach ``thread`` once its rendering is there, and keep it."""
        if thread.rendered is not None or self.renders is None:
            return
        thread.rendered, entry = self.renders.get(thread.job)
        thread.attach()
        self.cache.put(thread.key, thread.rendered, entry)

    def finish(self, *, prune: bool) -> None:
        """Resolve every thread, write the cache and stop the workers."""
        try:
            for thread in self.threads:
                self.resolve(thread)
        finally:
            if self.renders is not None:
                self.renders.close()
        self.cache.close(prune=prune)


def attach_rendered(generator: ArticlesGenerator, content: Any) -> None:
    """Attach ``content``'s thread just before Pelican writes its page
    (``article_generator_write_article``)."""
    build: BuildThreads | None = getattr(generator, "feedback_build", None)
    if build is not None and id(content) in build.by_view:
        build.resolve(build.by_view[id(content)])


def write_comment_files(generator: ArticlesGenerator, writer: Writer) -> None:
    """Write each thread's feed and comment pages (the article pages are
    Pelican's), each with its compressed twin; remove pages a shorter
    thread no longer has."""
    settings = generator.settings
    build: BuildThreads | None = getattr(generator, "feedback_build", None)
    if build is None:
        return
    only = bool(settings.get("FEEDBACK_SELECTED_URLS"))
    build.finish(prune=not only)
    pages = menu_pages(generator.context.get("pages", ()))
    renderer = ThreadRenderer(render_settings(settings), pages)
    # A full build compresses every file at its end (plugin.compress_output);
    # a selective one only the files it was asked for.
    twins = bool(settings.get("FEEDBACK_GZIP", True)) and bool(
        settings.get("FEEDBACK_WRITE_SELECTED")
    )
    output = Path(writer.output_path)
    for thread in build.threads:
        rendered = thread.rendered
        assert rendered is not None  # nosec B101 - finish() resolved them
        if rendered.files:  # comment pages show the menu: render them with it
            assert thread.rows is not None  # nosec B101 - never cached with pages
            rendered = renderer.render(thread.record, thread.rows)
        write_thread(output, thread.record, rendered, twins=twins)


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
