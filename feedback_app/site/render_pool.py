"""Rendering many threads while Pelican goes on with the build.

A build that starts without its kept threads (``thread_cache.py``) renders
every thread of the site: at 10,000 articles of 10 comments, about four
seconds of one core, most of what comments added to a cold build
(bench/README.md, issue 21), while Pelican, which works on one core, left
the others idle. Here forked workers render the threads in the order
Pelican writes their pages, in chunks, and encode each for the cache,
while this process goes on with the build (the other pages, the site
index, the feeds); a page waits only for its own chunk, which is done
long before Pelican gets to it. A fork inherits the renderer and the
threads, so only the results cross a pipe.

Rendered here instead, at once and with the same results, when forking is
not safe or not worth it: few threads (a warm or a selective build), one
core, another thread running in this process (the app's), or no ``fork``
on this system. A chunk whose worker fails is rendered here, which raises
the error again if rendering itself failed.

Imports without Flask or Pelican.
"""

from __future__ import annotations

import multiprocessing
import os
import threading
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from typing import Any

from .thread_model import ThreadRecord
from .thread_render import RenderedThread, ThreadRenderer

#: Below this many threads a fork costs more than it saves.
PARALLEL_FROM = 500

#: Threads a worker renders at a time: the first page waits for one chunk.
CHUNK = 100

Job = tuple[ThreadRecord, Sequence[Mapping[str, Any]]]
#: What the cache keeps of a rendered thread (``thread_cache.encode``).
Encode = Callable[[RenderedThread], bytes | None]
Result = tuple[RenderedThread, bytes | None]

# What the forked workers render: set before they fork, read by them.
_renderer: ThreadRenderer | None = None
_jobs: Sequence[Job] = ()
_encode: Encode | None = None


def cores() -> int:
    """Return how many cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


class Renders:
    """Each job's rendered thread and its cache entry, by the job's index:
    rendered by forked workers from the start, or here at once."""

    def __init__(
        self,
        renderer: ThreadRenderer,
        jobs: Sequence[Job],
        encode: Encode | None = None,
    ) -> None:
        """Start rendering ``jobs`` (in the order they will be asked for);
        ``encode`` makes each one's cache entry (None: no entries)."""
        global _renderer, _jobs, _encode
        self._renderer, self._jobs, self._encode = renderer, jobs, encode
        self._done: dict[int, Result] = {}
        self._chunks: list[Future[list[Result]]] = []
        self._pool: ProcessPoolExecutor | None = None
        if (
            len(jobs) < PARALLEL_FROM
            or cores() < 2
            or not _only_daemons()
            or "fork" not in multiprocessing.get_all_start_methods()
        ):
            self._done = dict(enumerate(_render(renderer, jobs, encode)))
            return
        _renderer, _jobs, _encode = renderer, jobs, encode
        try:
            # This process has Pelican's build to go on with: the workers
            # take the other cores. With fork, the pool starts all its
            # workers at the first submit, so they see the jobs set above.
            self._pool = ProcessPoolExecutor(
                max_workers=max(1, cores() - 1),
                mp_context=multiprocessing.get_context("fork"),
            )
            self._chunks = [
                self._pool.submit(_render_chunk, start, min(start + CHUNK, len(jobs)))
                for start in range(0, len(jobs), CHUNK)
            ]
        finally:
            _renderer, _jobs, _encode = None, (), None

    def get(self, index: int) -> Result:
        """Return job ``index``'s rendered thread and cache entry, waiting
        for its chunk if a worker has not finished it yet."""
        found = self._done.get(index)
        if found is not None:
            return found
        number = index // CHUNK
        start, end = number * CHUNK, min((number + 1) * CHUNK, len(self._jobs))
        try:
            results = self._chunks[number].result()
        except Exception:  # a worker died: its chunk is rendered here
            results = _render(self._renderer, self._jobs[start:end], self._encode)
        self._done.update(zip(range(start, end), results, strict=True))
        return self._done[index]

    def close(self) -> None:
        """Stop the workers; a chunk none has started yet is dropped."""
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None


def _render(
    renderer: ThreadRenderer, jobs: Sequence[Job], encode: Encode | None
) -> list[Result]:
    results = []
    for record, rows in jobs:
        rendered = renderer.render(record, rows)
        results.append((rendered, encode(rendered) if encode else None))
    return results


def _only_daemons() -> bool:
    """Tell whether this is the main thread and every other one a daemon
    (Pelican's progress display), which a forked worker never waits for."""
    main = threading.main_thread()
    return threading.current_thread() is main and all(
        t.daemon for t in threading.enumerate() if t is not main
    )


def _render_chunk(start: int, end: int) -> list[Result]:
    assert _renderer is not None  # nosec B101 - set before the fork
    return _render(_renderer, _jobs[start:end], _encode)
