"""Shared helpers of the benchmarks: the bench site's layout, builds, the app.

Not a test module (pytest collects only tests/). Every benchmark runs Pelican
as a fresh process exactly as the app does (``python -m pelican -s
pelicanconf.py ... -e KEY=JSON ...``, one ``-e`` with every pair: Pelican
keeps only the last ``-e`` it is given).
"""

from __future__ import annotations

import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
PELICANCONF = ROOT / "pelicanconf.py"
DEFAULT_SITE = BENCH / ".site"
SITES = BENCH / "sites"


@dataclass(frozen=True)
class SiteLayout:
    """Where one bench site keeps its parts (all under ``root``)."""

    root: Path

    @property
    def content(self) -> Path:
        return self.root / "content"

    @property
    def comments(self) -> Path:
        """The published comments: one JSON file per article, named by its URL."""
        return self.content / "comments"

    @property
    def no_comments(self) -> Path:
        """An empty folder: the same site built as if nobody had commented."""
        return self.root / "no-comments"

    @property
    def output(self) -> Path:
        return self.root / "output"

    @property
    def cache(self) -> Path:
        return self.root / "cache"

    @property
    def site_index(self) -> Path:
        return self.root / "site.json"

    @property
    def database(self) -> Path:
        return self.root / "comments.sqlite3"

    @property
    def instance(self) -> Path:
        return self.root / "instance"

    @property
    def params(self) -> Path:
        return self.root / "params.json"


def site_folder(articles: int, comments: int = 10) -> Path:
    """Return the folder of the bench site of ``articles`` articles with
    ``comments`` comments each: ``sites/a<articles>`` (``-c<comments>``
    appended unless 10), one per size, so that each is made once and kept."""
    name = f"a{articles}" if comments == 10 else f"a{articles}-c{comments}"
    return SITES / name


def pelican_overrides(
    site: SiteLayout, *, comments: Path | None = None
) -> dict[str, Any]:
    """Return the ``-e`` settings that point pelicanconf.py at ``site``."""
    return {
        "PATH": str(site.content),
        "CACHE_PATH": str(site.cache),
        "FEEDBACK_SITE_INDEX": str(site.site_index),
        "FEEDBACK_COMMENTS_PATH": str(comments or site.comments),
    }


def pelican_command(
    site: SiteLayout, overrides: dict[str, Any], output: Path | None = None
) -> list[str]:
    """Return the command of a full Pelican build of ``site`` (into
    ``output``, default its own)."""
    cmd = [sys.executable, "-m", "pelican", "-s", str(PELICANCONF)]
    cmd += ["-o", str(output or site.output), "-q"]
    cmd += ["-e", *(f"{key}={json.dumps(value)}" for key, value in overrides.items())]
    return cmd


def full_build(
    site: SiteLayout,
    *,
    comments: Path | None = None,
    cold: bool = False,
    timeout: float = 300.0,
    output: Path | None = None,
) -> float:
    """Run one full build as a fresh ``pelican`` process; return its seconds.

    ``cold`` deletes the content cache first (the build then writes it anew);
    ``output`` is where it writes (default: the site's own).
    """
    if cold:
        shutil.rmtree(site.cache, ignore_errors=True)
    cmd = pelican_command(site, pelican_overrides(site, comments=comments), output)
    started = time.perf_counter()
    result = subprocess.run(
        cmd, cwd=ROOT, capture_output=True, text=True, timeout=timeout, check=False
    )
    elapsed = time.perf_counter() - started
    if result.returncode != 0:
        raise RuntimeError(f"Pelican failed:\n{result.stdout}\n{result.stderr}")
    return elapsed


def app_config(site: SiteLayout, **more: Any) -> dict[str, Any]:
    """Return the config of an app that publishes to ``site``."""
    config: dict[str, Any] = {
        "SECRET_KEY": "bench secret",
        "DATABASE_URL": f"sqlite:///{site.database}",
        "SITE_INDEX_PATH": str(site.site_index),
        "OUTPUT_PATH": str(site.output),
        "COMMENTS_PATH": str(site.comments),
        "CONTENT_PATH": str(site.content),
        "PELICAN_SETTINGS": str(PELICANCONF),
        "PELICAN_EXTRA_SETTINGS": {
            "PATH": str(site.content),
            "CACHE_PATH": str(site.cache),
        },
        "SITE_URL": "http://127.0.0.1:8000",
        # The load comes from one address at thousands of posts a second.
        "POST_LIMIT_PER_ADDRESS": 0,
        "POST_LIMIT_PER_ARTICLE": 0,
    }
    config.update(more)
    return config


def app_env(site: SiteLayout, config: dict[str, Any]) -> dict[str, str]:
    """Return the environment that gives a separate process (CLI, gunicorn)
    the same settings as ``config``: ``FEEDBACK_*`` variables, JSON-encoded."""
    env = dict(os.environ)
    for key, value in config.items():
        env[f"FEEDBACK_{key}"] = value if isinstance(value, str) else json.dumps(value)
    env["FEEDBACK_INSTANCE_PATH"] = str(site.instance)
    return env


def make_app(site: SiteLayout, **more: Any) -> Any:
    """Create the app for ``site`` (instance folder inside the site)."""
    os.environ["FEEDBACK_INSTANCE_PATH"] = str(site.instance)
    site.instance.mkdir(parents=True, exist_ok=True)
    from feedback_app import create_app

    app = create_app(app_config(site, **more))
    app.instance_path = str(site.instance)
    return app


def percentile(values: list[float], pct: float) -> float:
    """Return the ``pct`` percentile of ``values`` (nearest rank)."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(1, round(pct / 100 * len(ordered) + 0.5 - 1e-9))
    return ordered[min(rank, len(ordered)) - 1]


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def machine() -> dict[str, Any]:
    """Describe where the figures were measured."""
    return {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        **_revision(),
    }


def _revision() -> dict[str, Any]:
    """The commit the app's code was at, and the files changed since."""

    def git(*args: str) -> str:
        return subprocess.run(
            ["git", *args],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout

    try:
        head = git("rev-parse", "--short", "HEAD").strip()
        changed = git("status", "--porcelain", "--untracked-files=no").splitlines()
    except (OSError, subprocess.SubprocessError):
        return {}
    return {"commit": head, "changed_files": [line[3:] for line in changed]}


def save_results(name: str, results: dict[str, Any]) -> Path:
    """Write ``results`` to ``bench/results/<name>.json``; return the path."""
    folder = BENCH / "results"
    folder.mkdir(exist_ok=True)
    path = folder / f"{name}.json"
    path.write_text(json.dumps(results, indent=1) + "\n", encoding="utf-8")
    return path


def cpu_times() -> tuple[int, int]:
    """Return the machine's (busy, total) CPU jiffies from /proc/stat."""
    with open("/proc/stat", encoding="ascii") as fh:
        fields = [int(x) for x in fh.readline().split()[1:]]
    idle = fields[3] + fields[4]  # idle + iowait
    return sum(fields) - idle, sum(fields)


class CpuMeter:
    """How busy the whole machine was between start() and stop(), 0..1."""

    def __init__(self) -> None:
        self._start = cpu_times()

    def busy(self) -> float:
        busy, total = cpu_times()
        spent = total - self._start[1]
        return (busy - self._start[0]) / spent if spent else 0.0


def wait_quiet(threshold: float = 0.15, max_wait: float = 120.0) -> float:
    """Wait (at most ``max_wait`` s) until the machine is nearly idle.

    Other work on the same 2 cores (a test suite, a build) skews every
    figure here. Samples one second at a time; returns the last busy share.
    """
    deadline = time.monotonic() + max_wait
    while True:
        meter = CpuMeter()
        time.sleep(1.0)
        busy = meter.busy()
        if busy <= threshold or time.monotonic() >= deadline:
            if busy > threshold:
                print(f"  (machine still {busy:.0%} busy after {max_wait:.0f} s)")
            return busy


def _processes() -> dict[int, tuple[int, str, int]]:
    """Return every process: pid -> (parent pid, name, CPU jiffies used)."""
    table = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue  # gone meanwhile
        name = text[text.index("(") + 1 : text.rindex(")")]
        fields = text[text.rindex(")") + 2 :].split()
        # fields[1] is the parent; fields[11:13] are utime and stime
        table[int(stat.parent.name)] = (
            int(fields[1]),
            name,
            int(fields[11]) + int(fields[12]),
        )
    return table


def _reaped_jiffies() -> int:
    """CPU jiffies of this process's children that ended and were waited for."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return round((usage.ru_utime + usage.ru_stime) * os.sysconf("SC_CLK_TCK"))


class OthersMeter:
    """How much of the machine processes other than the benchmark's used
    between start and ``share()``, 0..1 of all cores.

    The benchmark's are this process and its descendants (servers, their
    workers, wrk) and the PostgreSQL server's processes (the database under
    test). Whatever else ran (another engineer's test suite) skews the
    figures: this says by how much, run by run.
    """

    def __init__(self, also: tuple[str, ...] = ("postgres",)) -> None:
        self.also = also
        self._start = _processes()
        self._cpu = cpu_times()
        self._reaped = _reaped_jiffies()

    def _ours(self, table: dict[int, tuple[int, str, int]]) -> set[int]:
        children: dict[int, list[int]] = {}
        for pid, (parent, _, _) in table.items():
            children.setdefault(parent, []).append(pid)
        ours, todo = set(), [os.getpid()]
        while todo:
            pid = todo.pop()
            if pid not in ours:
                ours.add(pid)
                todo += children.get(pid, [])
        return ours | {pid for pid, (_, name, _) in table.items() if name in self.also}

    def share(self) -> float:
        table = _processes()
        busy, total = cpu_times()
        ours = self._ours(table) | self._ours(self._start)
        used = sum(
            table[pid][2] - self._start.get(pid, (0, "", 0))[2]
            for pid in ours
            if pid in table
        )
        used += _reaped_jiffies() - self._reaped  # children that ended (wrk)
        spent = total - self._cpu[1]
        others = (busy - self._cpu[0]) - used
        return max(others, 0) / spent if spent else 0.0
