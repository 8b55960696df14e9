"""Rendering many threads at once, on every core the build may use.

A build that starts without its kept threads (``thread_cache.py``) renders
every thread of the site: at 10,000 articles of 10 comments, eight seconds
of one core, most of what comments added to a cold build (bench/README.md,
issue 21), while Pelican left the machine's other cores idle. Here the
threads are split in as many slices as there are cores: forked workers
render all but the first, which this process renders meanwhile. A fork
inherits the renderer and the threads, so only the results cross a pipe.

Serial instead, with the same results, when forking is not safe or not
worth it: few threads (a warm or a selective build), one core, another
thread running in this process (the app's), or no ``fork`` on this system.
A worker that fails leaves its slice to this process.

Imports without Flask or Pelican.
"""

from __future__ import annotations

import itertools
import multiprocessing
import os
import threading
from collections.abc import Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from typing import Any

from .thread_model import ThreadRecord
from .thread_render import RenderedThread, ThreadRenderer

#: Below this many threads a fork costs more than it saves.
PARALLEL_FROM = 500

Job = tuple[ThreadRecord, Sequence[Mapping[str, Any]]]

# What the forked workers render: set before they fork, read by them.
_renderer: ThreadRenderer | None = None
_jobs: Sequence[Job] = ()


def cores() -> int:
    """Return how many cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def render_all(renderer: ThreadRenderer, jobs: Sequence[Job]) -> list[RenderedThread]:
    """Return ``renderer.render(record, rows)`` of each job, in order."""
    slices = min(cores(), len(jobs) // (PARALLEL_FROM // 2) or 1)
    if (
        len(jobs) < PARALLEL_FROM
        or slices < 2
        or not _only_daemons()
        or "fork" not in multiprocessing.get_all_start_methods()
    ):
        return [renderer.render(record, rows) for record, rows in jobs]
    global _renderer, _jobs
    _renderer, _jobs = renderer, jobs
    bounds = [len(jobs) * i // slices for i in range(slices + 1)]
    spans = list(itertools.pairwise(bounds))
    try:
        with ProcessPoolExecutor(
            max_workers=slices - 1, mp_context=multiprocessing.get_context("fork")
        ) as pool:
            futures = [pool.submit(_render_span, *span) for span in spans[1:]]
            results = _render_span(*spans[0])
            for future, span in zip(futures, spans[1:], strict=True):
                try:
                    results += future.result()
                except Exception:  # a worker died: its slice is rendered here,
                    # which raises the error again if rendering itself failed
                    results += _render_span(*span)
    finally:
        _renderer, _jobs = None, ()
    return results


def _only_daemons() -> bool:
    """Tell whether this is the main thread and every other one a daemon
    (Pelican's progress display), which a forked worker never waits for."""
    main = threading.main_thread()
    return threading.current_thread() is main and all(
        t.daemon for t in threading.enumerate() if t is not main
    )


def _render_span(start: int, end: int) -> list[RenderedThread]:
    assert _renderer is not None  # nosec B101 - set before the fork
    return [_renderer.render(record, rows) for record, rows in _jobs[start:end]]
