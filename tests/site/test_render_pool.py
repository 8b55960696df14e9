"""Many threads rendered by forked workers while the build goes on, exactly
as one by one.

The renderer is the one a real Pelican build of the project's content
recorded; the threads are real threads of comment rows.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any

import pytest

from feedback_app.site import render_pool
from feedback_app.site.index import SiteIndex
from feedback_app.site.publishing import write_comment_file
from feedback_app.site.render_pool import Job, Renders
from feedback_app.site.thread_cache import encode
from feedback_app.site.thread_render import ThreadRenderer

from ..conftest import build_site


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[ThreadRenderer, Any]:
    index = SiteIndex(str(build_site(tmp_path_factory.mktemp("pool"))))
    renderer = index.renderer()
    assert renderer is not None
    article = next(iter(index.current().articles.values()))
    return renderer, article.thread


def thread_rows(n: int, most: int = 10) -> list[dict[str, Any]]:
    """Thread ``n``'s comments: ``n % most`` of them, replies among them."""
    return [
        {
            "id": n * 10 + k + 1,
            "parent": n * 10 + k if k % 3 == 2 else None,
            "name": f"Reader <{n}-{k}>",
            "website": None,
            "date": f"2026-11-{k + 1:02d}T10:00:00+00:00",
            "author": k == 4,
            "html": f"<p>Comment {k} of thread {n}.</p>",
        }
        for k in range(n % most)
    ]


def jobs(record: Any, count: int) -> list[Job]:
    """``count`` threads of 0 to 9 comments."""
    return [(record, thread_rows(n)) for n in range(count)]


def render_all(renderer: ThreadRenderer, work: list[Job]) -> list[Any]:
    """Every job's rendered thread and cache entry, asked for in order."""
    renders = Renders(renderer, work, encode)
    try:
        return [renders.get(i) for i in range(len(work))]
    finally:
        renders.close()


def one_by_one(renderer: ThreadRenderer, work: list[Job]) -> list[Any]:
    return [
        (rendered, encode(rendered))
        for rendered in (renderer.render(r, rows) for r, rows in work)
    ]


def children_cpu() -> float:
    times = os.times()
    return times.children_user + times.children_system


@pytest.mark.skipif(render_pool.cores() < 2, reason="one core: nothing to share")
def test_many_threads_render_on_every_core_as_one_by_one(built: Any) -> None:
    renderer, record = built
    work = jobs(record, render_pool.PARALLEL_FROM)  # at the limit
    before = children_cpu()
    together = render_all(renderer, work)
    assert children_cpu() > before  # a forked worker rendered a share
    assert together == one_by_one(renderer, work)
    assert "Reader &lt;7-3&gt;" in together[7][0].regions[record.views[0].save_as]


def test_few_threads_or_another_thread_running_render_here(built: Any) -> None:
    renderer, record = built
    for work, busy in (
        (jobs(record, render_pool.PARALLEL_FROM - 1), False),  # one short of it
        (jobs(record, render_pool.PARALLEL_FROM * 2), True),
    ):
        stop = threading.Event()
        other = threading.Thread(target=stop.wait)  # not a daemon
        if busy:
            other.start()
        try:
            before = children_cpu()
            together = render_all(renderer, work)
            assert children_cpu() == before  # no worker
        finally:
            stop.set()
            if busy:
                other.join()
        assert together == one_by_one(renderer, work)


@pytest.mark.skipif(render_pool.cores() < 2, reason="one core: nothing to share")
def test_threads_are_rendered_while_this_process_goes_on(built: Any) -> None:
    """The workers start at once: a thread asked for later is there without
    waiting, and asking out of order gives each its own."""
    renderer, record = built
    work = jobs(record, render_pool.PARALLEL_FROM * 2)
    renders = Renders(renderer, work, None)
    try:
        last = len(work) - 1
        assert renders.get(last)[0] == renderer.render(*work[last])
        assert renders.get(3) == (renderer.render(*work[3]), None)
    finally:
        renders.close()


@pytest.mark.skipif(render_pool.cores() < 2, reason="one core: nothing to share")
def test_the_chunks_of_a_worker_that_died_are_rendered_here(
    built: Any, tmp_path: Path
) -> None:
    renderer, record = built
    work = jobs(record, render_pool.PARALLEL_FROM)
    here = os.getpid()

    class DiesInAWorker:
        def render(self, *job: Any) -> Any:
            if os.getpid() != here:
                (tmp_path / "died").write_text(str(os.getpid()))
                os._exit(1)  # the worker process ends, as if killed
            return renderer.render(*job)

    together = render_all(DiesInAWorker(), work)  # type: ignore[arg-type]
    assert int((tmp_path / "died").read_text()) != here  # a worker was there
    assert together == one_by_one(renderer, work)


def many_threads(root: Path, count: int) -> tuple[Path, Path]:
    """Write ``count`` articles (every 50th translated into French) and a
    comment file of a few comments for each; return the content and the
    comments folders."""
    content, comments = root / "content", root / "comments"
    content.mkdir()
    comments.mkdir()
    for n in range(count):
        slug, day = f"article-{n:04d}", f"2025-{n % 12 + 1:02d}-{n % 28 + 1:02d}"
        head = f"Date: {day} 10:00\nSlug: {slug}\nAuthor: Maya Lindqvist\n"
        (content / f"{slug}.md").write_text(f"Title: Article {n}\n{head}\nText {n}.\n")
        if n % 50 == 0:
            (content / f"{slug}-fr.md").write_text(
                f"Title: Article {n} en français\n{head}Lang: fr\n\nTexte {n}.\n"
            )
        rows = thread_rows(n, most=6)
        if rows:
            write_comment_file(comments, f"{day[:4]}/{slug}/", rows)
    return content, comments


def files_of(folder: Path) -> dict[str, bytes]:
    return {
        str(path.relative_to(folder)): path.read_bytes()
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


@pytest.mark.skipif(render_pool.cores() < 2, reason="one core: nothing to share")
def test_a_cold_build_of_many_threads_writes_what_one_core_writes(
    tmp_path: Path,
) -> None:
    """Enough threads for the workers (a fresh Pelican process, nothing in
    its cache, more than one core): every file of the output, article
    pages, translations, feeds and ``.gz`` twins, is the one a build on one
    core (every thread rendered in the process, in order) writes."""
    content, comments = many_threads(tmp_path, render_pool.PARALLEL_FROM + 20)
    extra = {"FEEDBACK_COMMENTS_PATH": str(comments)}
    built = {}
    for name, cpus in (("many", None), ("one", {min(os.sched_getaffinity(0))})):
        build_site(tmp_path / name, content=content, extra=extra, cpus=cpus)
        built[name] = files_of(tmp_path / name / "output")
    assert built["many"] == built["one"]
    page = built["many"]["2025/article-0010/index.html"].decode()
    assert "Reader &lt;10-3&gt;" in page and "Comment 3 of thread 10." in page
    french = built["many"]["fr/2025/article-0050/index.html"].decode()
    assert "Reader &lt;50-1&gt;" in french
