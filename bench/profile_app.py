"""The app with each gunicorn worker profiling its requests (cProfile, wall clock).

    .venv/bin/python bench/post_load.py --only ours --app 'profile_app:create_app()'
    .venv/bin/python bench/profile_app.py [--top 40]     # then: the summary

Every worker writes its profile to ``bench/results/profile/worker-<pid>.prof``
after every 200 requests (and so holds at most the last few unwritten);
``main`` merges the files there and prints the functions with the most
cumulative and own time. cProfile's clock is the wall clock, so time a
request spends waiting (for the write lock, for the database) shows up in
the function that waited. Profiling slows the worker down several fold: use
it for where the time goes, never for throughput.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import sys
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

FOLDER = Path(__file__).resolve().parent / "results" / "profile"
EVERY = 200


def create_app() -> Any:
    """``feedback_app.create_app()`` with the WSGI app profiled per worker."""
    from feedback_app import create_app as make

    app = make()
    inner = app.wsgi_app
    profile = cProfile.Profile()
    count = 0
    FOLDER.mkdir(parents=True, exist_ok=True)

    def wsgi(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable:
        nonlocal count
        profile.enable()
        try:
            return list(inner(environ, start_response))
        finally:
            profile.disable()
            count += 1
            if count % EVERY == 0:
                profile.dump_stats(FOLDER / f"worker-{os.getpid()}.prof")

    app.wsgi_app = wsgi
    return app


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--top", type=int, default=40)
    args = parser.parse_args(argv)
    files = sorted(FOLDER.glob("worker-*.prof"))
    if not files:
        print(f"no profiles in {FOLDER}")
        return 1
    stats = pstats.Stats(*map(str, files))
    stats.strip_dirs()
    print(f"{len(files)} worker profiles")
    stats.sort_stats("cumulative").print_stats(args.top)
    stats.sort_stats("tottime").print_stats(args.top // 2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
