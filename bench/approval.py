"""Issue 21's goals over a list of site sizes: a moderation action to live,
``comments approve`` as a command, what comments cost a full build, and a
long thread.

    .venv/bin/python bench/approval.py [--sizes 100,1000,10000] [--trials 15]
        [--process-trials 5] [--warm-runs 5] [--cold-runs 3]
        [--no-long-thread] [--coalescing] [--seed 7] [--timeout 60]
        [--max-wait 120]

Each size N is a bench site of its own, ``bench/sites/a<N>`` (``make_site.py``:
N articles, 10 approved comments each), made on first use and kept. Part
1 runs size after size; parts 2 and 3 run on every size in turn, trial by
trial, so that what the machine does meanwhile (its speed drifts by half
on a shared host) weighs on every size alike: the flatness goal compares
their medians. Each part starts after a wait for a quiet machine:

1. Build overhead: full builds, each a fresh ``python -m pelican`` process
   with the project's pelicanconf.py, without comments
   (``FEEDBACK_COMMENTS_PATH`` = an empty folder) and with them, cold (the
   content cache deleted first) and warm (cache kept), the two variants
   interleaved and alternating which goes first. Medians; overhead = with /
   without - 1. The warm build with comments is the "warm full build".
2. Action to live, for approve, unapprove, delete, edit and erase: each
   trial takes a random article and a new comment of a reader of its own
   (unique name, address and text), stored held. For every action but
   approve the comment is first approved and seen on the page, untimed.
   Then the clock starts and the action is issued as the desk's view issues
   it, in an app context, through the same service function, which makes
   the change in a write transaction and then calls
   ``publisher(app).publish({page_url})`` (returns at once; the publisher's
   thread writes the JSON file and rebuilds the page):

   * approve: ``moderation.moderate([id], "approved")``; live when
     ``id="comment-<id>"`` is on the page;
   * unapprove: ``moderation.moderate([id], "pending")`` (back to held);
     live when it is gone;
   * delete: ``moderation.moderate([id], None)`` (the desk's "delete for
     good"; "trash" is the same call with ``"trash"``); live when gone;
   * edit: ``moderation.edit(id, name=..., website=None, body=<new text>)``;
     live when the new text is on the page;
   * erase: ``reader_data.erase_reader(<the reader's address>)``, the desk's
     erasure of a reader's data: a published comment stays, its name
     becomes "Anonymous"; live when the comment is on the page without the
     reader's name.

   The clock stops when the article's page on disk shows the change, polled
   every 2 ms (``--timeout`` s at most). Only whole pages count (each ends
   with ``</html>``), so a page caught half-written never passes for a
   removal; if the thread is split into comment pages (HTML files named, or
   in folders named, ``comment-page-*`` beside the page), the page and all
   of them are read together. One untimed trial first, then ``--trials``;
   median, p90 (nearest rank), min-max. Recorded besides, not part of the
   goal: when the page's ``.gz`` twin (what nginx sends browsers that ask
   for gzip) shows it too, and how many Pelican runs the trials made.
3. ``comments approve ID``: through Flask's CLI runner in this process
   (``--trials``), and as the real ``flask --app feedback_app comments
   approve ID``, a new process (``--process-trials``); both wait for the
   rebuild. From the call until the page shows the comment; median.
4. With ``--coalescing``: 10 comments on 10 articles approved in a burst,
   each as its own request, 3 times: how many Pelican runs the publisher
   made, and the time until all 10 are live.

With ``--long-thread`` (the default) the 20-article site of 2,000 comments
an article, ``bench/sites/a20-c2000``, after one warm full build: the bytes
of the largest article page and of its comment feed, how many
``comment-page-*`` files its folder holds if any, and approve to live on
that article as in 2.

The comments added are deleted again at the end of each site's part and
their articles republished (JSON files and pages); the script checks that
the database holds as many comments and mails as before. It prints a
Markdown table, one row per size, and a verdict per goal; the raw figures
go to ``bench/results/approval.json``.
"""

from __future__ import annotations

import argparse
import gzip
import random
import subprocess
import sys
import time
import uuid
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from common import (
    ROOT,
    OthersMeter,
    SiteLayout,
    app_config,
    app_env,
    full_build,
    machine,
    make_app,
    median,
    percentile,
    save_results,
    site_folder,
    wait_quiet,
)
from make_site import make_site

ACTIONS = ("approve", "unapprove", "delete", "edit", "erase")
POLL_INTERVAL = 0.002
LONG_THREAD = (20, 2000)  # articles, comments per article

# The goals of issue 21.
LIVE_MEDIAN_S = 0.100
LIVE_P90_S = 0.200
FLAT_RATIO = 1.5
PROCESS_S = 0.5
OVERHEAD_PCT = 10.0
THREAD_PAGE_BYTES = 150_000
GOAL_SIZE = 10_000
FLAT_SIZES = (100, 1000, 10_000)


def build_overhead(site: SiteLayout, cold_runs: int, warm_runs: int) -> dict[str, Any]:
    """Time full builds with and without comments, cold and warm."""
    times: dict[str, list[float]] = {
        f"{cache} {variant}": []
        for cache in ("cold", "warm")
        for variant in ("without", "with")
    }
    for cache, runs in (("cold", cold_runs), ("warm", warm_runs)):
        if cache == "warm":
            full_build(site)  # make sure the cache is there and current
            full_build(
                site, comments=site.no_comments, output=site.root / "output-without"
            )
        for run in range(runs):
            order = ("without", "with") if run % 2 == 0 else ("with", "without")
            for variant in order:
                comments = site.no_comments if variant == "without" else site.comments
                # Each variant rebuilds its own output, as a site does: in
                # one folder, every build would change every page and pay
                # for compressing it again.
                output = site.root / "output-without" if variant == "without" else None
                seconds = full_build(
                    site, comments=comments, cold=cache == "cold", output=output
                )
                times[f"{cache} {variant}"].append(seconds)
                print(
                    f"  full build, {cache} cache, {variant} comments: {seconds:.2f} s"
                )
    # Leave the site built with its comments, cache warm.
    full_build(site)
    result: dict[str, Any] = {"runs": times}
    for cache in ("cold", "warm"):
        without = median(times[f"{cache} without"])
        with_ = median(times[f"{cache} with"])
        result[cache] = {
            "without_s": without,
            "with_s": with_,
            "overhead_pct": (with_ / without - 1) * 100,
        }
    return result


@dataclass(frozen=True)
class Probe:
    """One trial's comment, by a reader nobody else is."""

    article: Any  # feedback_app.site.index.Article
    cid: int
    name: str
    email: str


def whole_page(path: Path) -> bytes | None:
    """Return the page at ``path`` (a ``.gz`` twin decompressed) if it is
    there and whole, else None."""
    try:
        data = path.read_bytes()
        if path.suffix == ".gz":
            data = gzip.decompress(data)
    except (FileNotFoundError, EOFError, gzip.BadGzipFile, zlib.error):
        return None
    return data if data.rstrip().endswith(b"</html>") else None


def twin(path: Path) -> Path:
    """The ``.gz`` twin nginx sends for ``path`` (``gzip_static on``)."""
    return path.with_name(path.name + ".gz")


class Bench:
    """One bench site's app, the comments it adds, and the clock."""

    def __init__(self, site: SiteLayout, seed: int, timeout: float) -> None:
        from sqlalchemy import func, select

        from feedback_app.core.db import get_db, upgrade
        from feedback_app.core.models import Comment, OutboxMessage

        self.site = site
        self.timeout = timeout
        # The publisher's line per rebuild would bury the figures.
        self.app = make_app(site, LOG_LEVEL="WARNING")
        upgrade(self.app)  # a kept site may predate the newest migration
        self.db = get_db(self.app)
        self.publisher = self.app.extensions["publisher"]
        index = self.app.extensions["site_index"].current()
        self.articles = list(index.articles.values())
        self.rng = random.Random(seed)  # noqa: S311 (not secrets)
        self.added: list[int] = []
        self._counts = [
            select(func.count()).select_from(t) for t in (Comment, OutboxMessage)
        ]
        self.rows_before = self.rows()

    def rows(self) -> list[int]:
        """How many comments and mails the database holds."""
        with self.db.read() as session:
            return [session.scalar(query) or 0 for query in self._counts]

    def page(self, article: Any) -> Path:
        return self.site.output / article.save_as

    def new_comment(self, article: Any) -> Probe:
        """Store a new comment on ``article``, held (first from its address)."""
        from feedback_app.readers.comment_rules import submit_comment

        tag = uuid.uuid4().hex[:12]
        name, email = f"Reader {tag}", f"reader-{tag}@example.org"
        with self.db.write() as session:
            comment, created = submit_comment(
                session,
                article,
                name=name,
                email=email,
                body=f"Moderation benchmark {tag}: *does it go live?*",
                rules=self.app.config,
            )
            assert created and comment.state == "pending", comment.state
            cid = comment.id
        self.added.append(cid)
        return Probe(article, cid, name, email)

    def published_comment(self, article: Any) -> Probe:
        """A new comment, approved and on the page (untimed)."""
        from feedback_app.services import moderation

        probe = self.new_comment(article)
        with self.app.app_context():
            moderation.moderate([probe.cid], "approved", wait=True)
        marker = f'id="comment-{probe.cid}"'.encode()
        if self.wait_page(probe.article, lambda p: marker in p) is None:
            raise RuntimeError(f"comment #{probe.cid} never showed on its page")
        return probe

    def issue(self, action: str, probe: Probe) -> Callable[[bytes], bool]:
        """Do ``action`` to ``probe``'s comment as the desk's view does; return
        what tells that its page shows the change."""
        from feedback_app.services import moderation, reader_data

        marker = f'id="comment-{probe.cid}"'.encode()
        with self.app.app_context():
            if action == "approve":
                moderation.moderate([probe.cid], "approved")
                return lambda page: marker in page
            if action in ("unapprove", "delete"):
                state = "pending" if action == "unapprove" else None
                moderation.moderate([probe.cid], state)
                return lambda page: marker not in page
            if action == "edit":
                text = f"Edited on the desk {uuid.uuid4().hex}"
                moderation.edit(probe.cid, name=probe.name, website=None, body=text)
                return lambda page: text.encode() in page
            if action == "erase":
                reader_data.erase_reader(probe.email)
                name = probe.name.encode()
                return lambda page: marker in page and name not in page
        raise ValueError(f"unknown action {action!r}")

    def thread_pages(self, article: Any) -> list[Path]:
        """The article's page, then its comment pages if the thread is split
        (HTML files named, or in folders named, ``comment-page-*`` beside it)."""
        page = self.page(article)
        more: list[Path] = []
        for path in page.parent.glob("comment-page-*"):
            if path.is_dir():
                more += path.rglob("*.html")
            elif path.suffix == ".html":
                more.append(path)
        return [page, *sorted(more)]

    def wait_page(
        self,
        article: Any,
        shows: Callable[[bytes], bool],
        started: float | None = None,
        *,
        gz: bool = False,
    ) -> float | None:
        """Poll ``article``'s pages (``gz``: their ``.gz`` twins) every 2 ms
        until ``shows`` them (all of them, whole, joined); return the seconds
        since ``started`` (default: now), or None after the timeout.

        The pages are read again only when a size, time or inode changed.
        """
        started = time.perf_counter() if started is None else started
        deadline = started + self.timeout
        seen: list[tuple[int, int, int] | None] | None = None
        while True:
            paths = self.thread_pages(article)
            if gz:
                paths = [twin(path) for path in paths]
            key: list[tuple[int, int, int] | None] = []
            for path in paths:
                try:
                    st = path.stat()
                    key.append((st.st_ino, st.st_size, st.st_mtime_ns))
                except FileNotFoundError:
                    key.append(None)
            if key != seen:
                seen = key
                pages = [whole_page(path) for path in paths]
                if all(p is not None for p in pages) and shows(b"".join(pages)):
                    return time.perf_counter() - started
            if time.perf_counter() >= deadline:
                return None
            time.sleep(POLL_INTERVAL)

    def approve_cli(self, cid: int) -> None:
        """``comments approve ID`` through Flask's CLI runner, in-process."""
        result = self.app.test_cli_runner().invoke(
            args=["comments", "approve", str(cid)]
        )
        if result.exit_code != 0:
            raise RuntimeError(f"CLI failed: {result.output}")

    def approve_process(self, cid: int) -> None:
        """``flask --app feedback_app comments approve ID``, a new process."""
        env = app_env(self.site, app_config(self.site))
        cmd = [sys.executable, "-m", "flask", "--app", "feedback_app"]
        cmd += ["comments", "approve", str(cid)]
        result = subprocess.run(
            cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
        )
        if result.returncode != 0:
            raise RuntimeError(f"CLI failed: {result.stdout}\n{result.stderr}")

    def cleanup(self) -> dict[str, Any]:
        """Delete the comments this run added and republish their articles;
        return what is left over (nothing, if all went well)."""
        from feedback_app.core.models import Comment
        from feedback_app.store.comments import delete_comment

        self.publisher.wait_idle(120)
        page_urls = set()
        with self.db.write() as session:
            for cid in self.added:
                comment = session.get(Comment, cid)
                if comment is not None:  # "delete" trials took theirs
                    page_urls.add(comment.article_page_url)
                    delete_comment(session, cid)
        self.added.clear()
        self.publisher.publish(page_urls, wait=True)
        after = self.rows()
        self.db.dispose()
        left = {
            "comments": after[0] - self.rows_before[0],
            "mails": after[1] - self.rows_before[1],
        }
        if any(left.values()):
            print(f"  WARNING: rows left over after cleanup: {left}")
        return left


def summary(live: list[float], timeouts: int) -> dict[str, Any]:
    return {
        "live_s": live,
        "timeouts": timeouts,
        "median_s": median(live),
        "p90_s": percentile(live, 90),
        "min_s": min(live, default=float("nan")),
        "max_s": max(live, default=float("nan")),
    }


def one_action(bench: Bench, action: str, article: Any) -> dict[str, Any]:
    """One trial of ``action`` on ``article``: its times and Pelican runs."""
    if action == "approve":
        probe = bench.new_comment(article)
    else:
        probe = bench.published_comment(article)
    bench.publisher.wait_idle(120)
    builds = bench.publisher.builds
    started = time.perf_counter()
    shows = bench.issue(action, probe)
    back = time.perf_counter() - started
    seconds = bench.wait_page(article, shows, started)
    # What browsers asking for gzip get: not part of the goal's clock.
    zipped = None
    if seconds is not None and twin(bench.page(article)).is_file():
        zipped = bench.wait_page(article, shows, started, gz=True)
    bench.publisher.wait_idle(120)
    shown = "timeout" if seconds is None else f"{seconds:.3f} s"
    print(f"  {action}: #{probe.cid} on {article.slug}: live {shown}")
    return {
        "returned": back,
        "live": seconds,
        "gzip": zipped,
        "runs": bench.publisher.builds - builds,
    }


def action_figures(trials: list[dict[str, Any]]) -> dict[str, Any]:
    """The figures of the timed trials of one action on one site."""
    live = [t["live"] for t in trials if t["live"] is not None]
    gzip_live = [t["gzip"] for t in trials if t["gzip"] is not None]
    return {
        **summary(live, len(trials) - len(live)),
        "returned_median_s": median([t["returned"] for t in trials]),
        "gzip_twin_live_s": gzip_live,
        "gzip_twin_live_median_s": median(gzip_live),
        "pelican_runs": sum(t["runs"] for t in trials),  # of the timed trials
    }


def action_to_live(
    bench: Bench,
    action: str,
    count: int,
    articles: list[Any] | None = None,
    warmup: int = 1,
) -> dict[str, Any]:
    """Time ``count`` trials of ``action`` (after ``warmup`` untimed ones) on
    random articles (of ``articles`` if given)."""
    choices = articles or bench.articles
    trials = [
        one_action(bench, action, bench.rng.choice(choices))
        for _ in range(warmup + count)
    ]
    return action_figures(trials[warmup:])


def interleaved_actions(
    benches: list[Bench], action: str, count: int, warmup: int = 1
) -> list[dict[str, Any]]:
    """``action_to_live`` on every site, one trial of each in turn, so that
    what the machine does meanwhile weighs on every size alike (the
    flatness goal compares their medians)."""
    trials: list[list[dict[str, Any]]] = [[] for _ in benches]
    for _ in range(warmup + count):
        for bench, done in zip(benches, trials, strict=True):
            done.append(one_action(bench, action, bench.rng.choice(bench.articles)))
    return [action_figures(done[warmup:]) for done in trials]


def one_cli(bench: Bench, way: str) -> float | None:
    """One ``comments approve``, in-process (``way`` "in-process") or as a
    new process ("process"): the seconds until the page shows it."""
    run = bench.approve_cli if way == "in-process" else bench.approve_process
    probe = bench.new_comment(bench.rng.choice(bench.articles))
    bench.publisher.wait_idle(120)
    marker = f'id="comment-{probe.cid}"'.encode()
    started = time.perf_counter()
    run(probe.cid)
    seconds = bench.wait_page(probe.article, lambda p, m=marker: m in p, started)
    shown = "timeout" if seconds is None else f"{seconds:.3f} s"
    print(f"  comments approve, {way}: #{probe.cid}: live {shown}")
    return seconds


def cli_to_live(bench: Bench, way: str, count: int, warmup: int = 1) -> dict[str, Any]:
    """Time ``comments approve`` in-process or as a new process."""
    return interleaved_cli([bench], way, count, warmup)[0]


def interleaved_cli(
    benches: list[Bench], way: str, count: int, warmup: int = 1
) -> list[dict[str, Any]]:
    """``cli_to_live`` on every site, one trial of each in turn."""
    times: list[list[float | None]] = [[] for _ in benches]
    for _ in range(warmup + count):
        for bench, done in zip(benches, times, strict=True):
            done.append(one_cli(bench, way))
    figures = []
    for done in times:
        live = [t for t in done[warmup:] if t is not None]
        figures.append(summary(live, count - len(live)))
    return figures


def coalescing(bench: Bench, burst: int = 10) -> dict[str, Any]:
    """Approve ``burst`` comments on different articles at once, each as a
    request of its own; count the Pelican runs and time until all are live."""
    articles = bench.rng.sample(bench.articles, min(burst, len(bench.articles)))
    probes = [bench.new_comment(article) for article in articles]
    bench.publisher.wait_idle(120)
    before = bench.publisher.builds
    started = time.perf_counter()
    checks = [bench.issue("approve", probe) for probe in probes]
    returned = time.perf_counter() - started
    live = [
        bench.wait_page(probe.article, shows, started)
        for probe, shows in zip(probes, checks, strict=True)
    ]
    bench.publisher.wait_idle(120)
    return {
        "approvals": len(probes),
        "approve_calls_s": returned,
        "all_live_s": None if None in live else max(live),
        "pelican_runs": bench.publisher.builds - before,
    }


def measure_sizes(sizes: list[int], args: argparse.Namespace) -> dict[str, Any]:
    """Every figure of each site size: its builds, size after size; then the
    actions and ``comments approve``, the sizes in turn, trial by trial."""
    results: dict[str, dict[str, Any]] = {}
    sites = {}
    for articles in sizes:
        site = sites[articles] = make_site(site_folder(articles), articles)
        result = results[str(articles)] = {
            "articles": articles,
            "comments": articles * 10,
            "others_share": {},
        }
        print(f"{articles} articles: build overhead (full builds):")
        wait_quiet(max_wait=args.max_wait)
        meter = OthersMeter(also=())
        result["build"] = build_overhead(site, args.cold_runs, args.warm_runs)
        result["others_share"]["build"] = meter.share()

    benches = [Bench(sites[n], args.seed, args.timeout) for n in sizes]
    every = ", ".join(f"{n:,}" for n in sizes)
    try:
        parts: list[tuple[str, Callable[[], list[dict[str, Any]]]]] = [
            (
                action,
                lambda a=action: interleaved_actions(benches, a, args.trials),
            )
            for action in ACTIONS
        ]
        parts += [
            (
                f"cli {way}",
                lambda w=way, c=count: interleaved_cli(benches, w, c),
            )
            for way, count in (
                ("in-process", args.trials),
                ("process", args.process_trials),
            )
        ]
        for name, measure in parts:
            print(f"{every} articles, in turn: {name}:")
            wait_quiet(max_wait=args.max_wait)
            meter = OthersMeter(also=())
            figures = measure()
            share = meter.share()
            for articles, figure in zip(sizes, figures, strict=True):
                results[str(articles)][name] = figure
                results[str(articles)]["others_share"][name] = share
        if args.coalescing:
            for articles, bench in zip(sizes, benches, strict=True):
                print(f"{articles} articles: coalescing:")
                wait_quiet(max_wait=args.max_wait)
                meter = OthersMeter(also=())
                results[str(articles)]["coalescing"] = [
                    coalescing(bench) for _ in range(3)
                ]
                results[str(articles)]["others_share"]["coalescing"] = meter.share()
    finally:
        for articles, bench in zip(sizes, benches, strict=True):
            results[str(articles)]["left_over"] = bench.cleanup()
    return results


def measure_long_thread(args: argparse.Namespace) -> dict[str, Any]:
    """The article pages of 2,000 comments: bytes, and approve to live."""
    from feedback_app.site.files import comment_feed_path

    count, per_article = LONG_THREAD
    site = make_site(site_folder(count, per_article), count, per_article)
    print(f"long thread ({count} articles x {per_article:,} comments): full build")
    build_s = full_build(site)  # the pages as the code under test makes them
    bench = Bench(site, args.seed, args.timeout)
    article = max(bench.articles, key=lambda a: bench.page(a).stat().st_size)
    page = bench.page(article)
    feed = site.output / comment_feed_path(article.save_as)
    result: dict[str, Any] = {
        "articles": count,
        "comments_per_article": per_article,
        "warm_full_build_s": build_s,
        "article": article.page_url,
        "page_bytes": page.stat().st_size,
        "feed_bytes": feed.stat().st_size if feed.is_file() else None,
        "comment_pages": len(list(page.parent.rglob("comment-page-*"))),
    }
    try:
        print(f"long thread: approve to live on {article.page_url}:")
        wait_quiet(max_wait=args.max_wait)
        meter = OthersMeter(also=())
        result["approve"] = action_to_live(bench, "approve", args.trials, [article])
        result["others_share"] = {"approve": meter.share()}
    finally:
        result["left_over"] = bench.cleanup()
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--sizes",
        type=lambda text: [int(n) for n in text.split(",")],
        default=[100, 1000, 10000],
        help="articles of each site, comma-separated (default 100,1000,10000)",
    )
    parser.add_argument("--trials", type=int, default=15, help="per action")
    parser.add_argument("--process-trials", type=int, default=5)
    parser.add_argument("--cold-runs", type=int, default=3)
    parser.add_argument("--warm-runs", type=int, default=5)
    parser.add_argument(
        "--long-thread", action=argparse.BooleanOptionalAction, default=True
    )
    parser.add_argument(
        "--coalescing",
        action="store_true",
        help="also approve 10 comments in a burst, 3 times a size",
    )
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--timeout", type=float, default=60.0, help="s for a page to show a change"
    )
    parser.add_argument(
        "--max-wait", type=float, default=120.0, help="s to wait for a quiet machine"
    )
    args = parser.parse_args(argv)
    for name in ("trials", "process_trials", "cold_runs", "warm_runs"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be at least 1")

    results: dict[str, Any] = {"machine": machine(), "args": vars(args)}
    results["sizes"] = measure_sizes(sorted(args.sizes), args)
    if args.long_thread:
        results["long_thread"] = measure_long_thread(args)
    results["verdicts"] = verdicts(results)
    path = save_results("approval", results)
    report(results)
    print(f"\nresults: {path}")
    return 0


def fmt_s(value: float) -> str:
    """``value`` in ms below a second, else in s."""
    if value != value:  # NaN: nothing measured
        return "-"
    return f"{value * 1000:.0f} ms" if value < 1 else f"{value:.2f} s"


def fmt_range(low: float, high: float) -> str:
    """``low``-``high`` in ms if both are below a second, else in s."""
    if high != high:  # NaN: nothing measured
        return "-"
    if high < 1:
        return f"{low * 1000:.0f}-{high * 1000:.0f} ms"
    return f"{low:.2f}-{high:.2f} s"


def live_cell(figures: dict[str, Any]) -> str:
    """Median / p90 (min-max), and the timeouts if any."""
    cell = (
        f"{fmt_s(figures['median_s'])} / {fmt_s(figures['p90_s'])} "
        f"({fmt_range(figures['min_s'], figures['max_s'])})"
    )
    if figures["timeouts"]:
        cell += f", {figures['timeouts']} timeouts"
    return cell


def verdicts(results: dict[str, Any]) -> list[str]:
    """One line per goal: met or missed, with the figures."""
    sizes = results["sizes"]
    largest = max(sizes.values(), key=lambda s: s["articles"])
    where = f"at {largest['articles']:,} articles"
    if largest["articles"] != GOAL_SIZE:
        where += f" (the goal is at {GOAL_SIZE:,})"

    def said(ok: bool) -> str:
        return "met" if ok else "**missed**"

    def live_ok(figures: dict[str, Any], key: str, goal: float) -> bool:
        return not figures["timeouts"] and figures[key] < goal

    lines = []
    for key, goal, label in (
        ("median_s", LIVE_MEDIAN_S, "median"),
        ("p90_s", LIVE_P90_S, "p90"),
    ):
        ok = all(live_ok(largest[a], key, goal) for a in ACTIONS)
        figures = ", ".join(f"{a} {fmt_s(largest[a][key])}" for a in ACTIONS)
        lines.append(
            f"action → live {label} < {fmt_s(goal)} {where}: {said(ok)} ({figures})"
        )
    if len(sizes) > 1:
        ratios = {
            a: max(s[a]["median_s"] for s in sizes.values())
            / min(s[a]["median_s"] for s in sizes.values())
            for a in ACTIONS
        }
        ok = all(r < FLAT_RATIO for r in ratios.values())
        over = ", ".join(f"{s['articles']:,}" for s in sizes.values())
        note = ""
        if sorted(s["articles"] for s in sizes.values()) != list(FLAT_SIZES):
            note = " (the goal is over 100, 1,000 and 10,000)"
        figures = ", ".join(f"{a} {r:.2f}" for a, r in ratios.items())
        lines.append(
            f"flat: max / min median over {over} articles < {FLAT_RATIO}{note}: "
            f"{said(ok)} ({figures})"
        )
    else:
        lines.append("flat: one size only, not measured")
    process = largest["cli process"]
    lines.append(
        f"`comments approve` as a new process < {fmt_s(PROCESS_S)} {where}: "
        f"{said(live_ok(process, 'median_s', PROCESS_S))} "
        f"(median {fmt_s(process['median_s'])})"
    )
    build = largest["build"]
    warm, cold = build["warm"]["overhead_pct"], build["cold"]["overhead_pct"]
    lines.append(
        f"build overhead ≤ {OVERHEAD_PCT:.0f} % {where}: "
        f"{said(max(warm, cold) <= OVERHEAD_PCT)} "
        f"(warm {warm:+.1f} %, cold {cold:+.1f} %)"
    )
    thread = results.get("long_thread")
    if thread:
        lines.append(
            f"long thread: article page < {THREAD_PAGE_BYTES:,} B: "
            f"{said(thread['page_bytes'] < THREAD_PAGE_BYTES)} "
            f"({thread['page_bytes']:,} B)"
        )
        approve = thread["approve"]
        ok = live_ok(approve, "median_s", LIVE_MEDIAN_S) and live_ok(
            approve, "p90_s", LIVE_P90_S
        )
        lines.append(
            f"long thread: approve → live median < {fmt_s(LIVE_MEDIAN_S)}, "
            f"p90 < {fmt_s(LIVE_P90_S)}: {said(ok)} "
            f"({fmt_s(approve['median_s'])} / {fmt_s(approve['p90_s'])})"
        )
    return lines


def report(results: dict[str, Any]) -> None:
    """Print the table, the long thread and the verdicts."""
    heads = ["site", "approve → live median / p90"]
    heads += [a for a in ACTIONS if a != "approve"]
    heads += ["`comments approve` in-process / process", "warm full build"]
    heads += ["overhead warm / cold"]
    print("\n| " + " | ".join(heads) + " |")
    print("|" + " --- |" * len(heads))
    for s in results["sizes"].values():
        runs = s["build"]["runs"]["warm with"]
        cells = [f"{s['articles']:,} articles, {s['comments']:,} comments"]
        cells += [live_cell(s[a]) for a in ACTIONS]
        cells.append(
            f"{fmt_s(s['cli in-process']['median_s'])} / "
            f"{fmt_s(s['cli process']['median_s'])}"
        )
        cells.append(
            f"{fmt_s(s['build']['warm']['with_s'])} ({fmt_range(min(runs), max(runs))})"
        )
        cells.append(
            f"{s['build']['warm']['overhead_pct']:+.1f} % / "
            f"{s['build']['cold']['overhead_pct']:+.1f} %"
        )
        print("| " + " | ".join(cells) + " |")
    for s in results["sizes"].values():
        if "coalescing" in s:
            bursts = "; ".join(
                f"{c['pelican_runs']} Pelican runs, "
                + (
                    f"not all {c['approvals']} live (timeout)"
                    if c["all_live_s"] is None
                    else f"all {c['approvals']} live in {fmt_s(c['all_live_s'])}"
                )
                for c in s["coalescing"]
            )
            print(f"\nCoalescing, {s['articles']:,} articles: {bursts}")
    thread = results.get("long_thread")
    if thread:
        pages = (
            f", pages: {thread['comment_pages']} comment pages"
            if thread["comment_pages"]
            else ""
        )
        feed = thread["feed_bytes"]
        print(
            f"\nLong thread ({thread['articles']} articles x "
            f"{thread['comments_per_article']:,} comments, {thread['article']}): "
            f"article page {thread['page_bytes']:,} B{pages}, comment feed "
            f"{'none' if feed is None else f'{feed:,} B'}; approve → live "
            f"{live_cell(thread['approve'])}"
        )
    print("\nOther processes' share of the machine, part by part (noise):")
    parts = [(f"{s['articles']:,} articles", s) for s in results["sizes"].values()]
    if thread:
        parts.append(("long thread", thread))
    for label, part in parts:
        shares = ", ".join(f"{k} {v:.0%}" for k, v in part["others_share"].items())
        print(f"- {label}: {shares}")
    print("\nVerdicts:")
    for line in results["verdicts"]:
        print(f"- {line}")


if __name__ == "__main__":
    sys.exit(main())
