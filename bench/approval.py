"""Build overhead of comments, and approval to live, on the 1,000-article site.

    .venv/bin/python bench/approval.py [--trials 15] [--warm-runs 5] [--cold-runs 3]

1. Build overhead: full builds of the bench site (``make_site.py``), each a
   fresh ``python -m pelican`` process with the project's pelicanconf.py,
   without comments (``FEEDBACK_COMMENTS_PATH`` = an empty folder) and with
   them, cold (content cache deleted first) and warm (cache kept), the two
   variants interleaved and alternating which goes first. Median of each;
   overhead = with / without - 1. Goal: at most 10 %.
2. Approval to live: for each trial a new pending comment on a random
   article, then the clock starts and the comment is approved; the clock
   stops when ``id="comment-<id>"`` is in that article's ``index.html`` on
   disk (polled every 5 ms, 10 s timeout). Three ways:
   * ``async``: what a web request does: ``set_state`` in a write
     transaction, then ``publisher.publish({page_url})`` (returns at once; a
     background thread writes the JSON file and runs the selective build);
   * ``cli``: the CLI command run in-process (``comments approve ID`` through
     Flask's CLI runner), which waits for the rebuild;
   * ``cli-process``: the real ``flask --app feedback_app comments approve
     ID`` as a new process (adds interpreter start-up and app import).
   Median and p90; ratio = warm full build median / approval median.
   Goal: median under 1 s, and at least 4x faster than a full build.
3. Coalescing: 10 comments on 10 different articles approved in a burst (the
   async path): how many Pelican runs, and the time until all 10 are live.

The comments added are deleted again at the end (database and JSON files);
the next full build puts the pages back as make_site.py made them.
"""

from __future__ import annotations

import argparse
import random
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

from common import (
    DEFAULT_SITE,
    ROOT,
    CpuMeter,
    SiteLayout,
    app_config,
    app_env,
    full_build,
    machine,
    make_app,
    median,
    percentile,
    save_results,
    wait_quiet,
)
from make_site import make_site

POLL_INTERVAL = 0.005
LIVE_TIMEOUT = 10.0


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
        for run in range(runs):
            order = ("without", "with") if run % 2 == 0 else ("with", "without")
            for variant in order:
                comments = site.no_comments if variant == "without" else site.comments
                seconds = full_build(site, comments=comments, cold=cache == "cold")
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


class Trials:
    """Pending comments to approve, and the clock that watches them go live."""

    def __init__(self, site: SiteLayout, seed: int) -> None:
        from feedback_app.core.db import get_db

        self.site = site
        self.app = make_app(site)
        self.db = get_db(self.app)
        self.publisher = self.app.extensions["publisher"]
        index = self.app.extensions["site_index"].current()
        self.articles = list(index.articles.values())
        self.rng = random.Random(seed)  # noqa: S311 (not secrets)
        self.added: list[int] = []

    def pending_comment(self, article: Any) -> int:
        """Store a new held comment (no address: held) on ``article``."""
        from feedback_app.readers.comment_rules import submit_comment

        with self.db.write() as session:
            comment, created = submit_comment(
                session,
                article,
                name="Bench Reader",
                body=f"Approval benchmark {uuid.uuid4().hex}: *does it go live?*",
                rules=self.app.config,
            )
            assert created and comment.state == "pending", comment.state
            cid = comment.id
        self.added.append(cid)
        return cid

    def pick(self, count: int) -> list[Any]:
        return self.rng.sample(self.articles, count)

    def approve_async(self, cid: int, page_url: str) -> None:
        """Approve as a web request does: state change, then publish soon."""
        from feedback_app.store.comments import set_state

        with self.db.write() as session:
            set_state(session, cid, "approved")
        self.publisher.publish({page_url})

    def approve_cli(self, cid: int) -> str:
        """Approve through the CLI command, in-process; it waits for the build."""
        result = self.app.test_cli_runner().invoke(
            args=["comments", "approve", str(cid)]
        )
        if result.exit_code != 0:
            raise RuntimeError(f"CLI failed: {result.output}")
        return result.output.strip()

    def approve_cli_process(self, cid: int) -> str:
        """Approve with the real ``flask`` command in a new process."""
        env = app_env(self.site, app_config(self.site))
        cmd = [sys.executable, "-m", "flask", "--app", "feedback_app"]
        cmd += ["comments", "approve", str(cid)]
        result = subprocess.run(
            cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
        )
        if result.returncode != 0:
            raise RuntimeError(f"CLI failed: {result.stdout}\n{result.stderr}")
        return result.stdout.strip()

    def page(self, article: Any) -> Path:
        return self.site.output / article.save_as

    def is_live(self, article: Any, cid: int) -> bool:
        try:
            html = self.page(article).read_text(encoding="utf-8")
        except FileNotFoundError:
            return False
        return f'id="comment-{cid}"' in html

    def wait_live(self, pairs: list[tuple[Any, int]], started: float) -> float | None:
        """Poll until every (article, id) is live; return seconds since
        ``started``, or None after the timeout."""
        left = list(pairs)
        deadline = started + LIVE_TIMEOUT
        while time.perf_counter() < deadline:
            left = [(a, cid) for a, cid in left if not self.is_live(a, cid)]
            if not left:
                return time.perf_counter() - started
            time.sleep(POLL_INTERVAL)
        return None

    def cleanup(self) -> None:
        """Delete the comments this run added; rewrite their JSON files."""
        from feedback_app.site.publishing import write_comment_file
        from feedback_app.site.threads import published_comments
        from feedback_app.store.comments import delete_comment

        self.publisher.wait_idle(60)
        page_urls = set()
        with self.db.write() as session:
            for cid in self.added:
                page_urls.add(delete_comment(session, cid))
        with self.db.read() as session:
            for page_url in page_urls:
                write_comment_file(
                    self.site.comments, page_url, published_comments(session, page_url)
                )
        self.db.dispose()


def approval_to_live(
    trials: Trials, way: str, count: int, warmup: int = 1
) -> dict[str, Any]:
    """Run ``count`` timed trials (after ``warmup`` untimed ones) of ``way``."""
    live: list[float] = []
    returned: list[float] = []
    timeouts = 0
    builds_before = trials.publisher.builds
    for n, article in enumerate(trials.pick(count + warmup)):
        cid = trials.pending_comment(article)
        trials.publisher.wait_idle(30)
        started = time.perf_counter()
        if way == "async":
            trials.approve_async(cid, article.page_url)
        elif way == "cli":
            trials.approve_cli(cid)
        else:
            trials.approve_cli_process(cid)
        back = time.perf_counter() - started
        seconds = trials.wait_live([(article, cid)], started)
        trials.publisher.wait_idle(30)
        if n < warmup:
            continue
        returned.append(back)
        if seconds is None:
            timeouts += 1
        else:
            live.append(seconds)
        shown = "timeout" if seconds is None else f"{seconds:.3f} s"
        print(f"  {way}: #{cid} on {article.slug}: returned {back:.3f} s, live {shown}")
    return {
        "trials": count,
        "timeouts": timeouts,
        "live_s": live,
        "live_median_s": median(live),
        "live_p90_s": percentile(live, 90),
        "returned_median_s": median(returned),
        "builds_in_process": trials.publisher.builds - builds_before,
    }


def coalescing(trials: Trials, burst: int = 10) -> dict[str, Any]:
    """Approve ``burst`` comments on different articles at once."""
    pairs = [(a, trials.pending_comment(a)) for a in trials.pick(burst)]
    trials.publisher.wait_idle(30)
    before = trials.publisher.builds
    started = time.perf_counter()
    for article, cid in pairs:
        trials.approve_async(cid, article.page_url)
    returned = time.perf_counter() - started
    seconds = trials.wait_live(pairs, started)
    trials.publisher.wait_idle(30)
    return {
        "approvals": burst,
        "approve_calls_s": returned,
        "all_live_s": seconds,
        "pelican_runs": trials.publisher.builds - before,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--target", type=Path, default=DEFAULT_SITE)
    parser.add_argument("--articles", type=int, default=1000)
    parser.add_argument("--trials", type=int, default=15)
    parser.add_argument("--process-trials", type=int, default=5)
    parser.add_argument("--cold-runs", type=int, default=3)
    parser.add_argument("--warm-runs", type=int, default=5)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    site = make_site(args.target, args.articles)
    results: dict[str, Any] = {"machine": machine(), "articles": args.articles}

    print("Build overhead (full builds, fresh pelican processes):")
    wait_quiet()
    meter = CpuMeter()
    overhead = build_overhead(site, args.cold_runs, args.warm_runs)
    overhead["machine_busy"] = meter.busy()
    results["build"] = overhead

    print("Approval to live:")
    wait_quiet()
    meter = CpuMeter()
    trials = Trials(site, args.seed)
    try:
        ways = {
            "async": args.trials,
            "cli": args.trials,
            "cli-process": args.process_trials,
        }
        results["approval"] = {
            way: approval_to_live(trials, way, count)
            for way, count in ways.items()
            if count > 0
        }
        print("Coalescing:")
        results["coalescing"] = [coalescing(trials) for _ in range(3)]
    finally:
        trials.cleanup()
    results["trials_machine_busy"] = meter.busy()
    warm_full = overhead["warm"]["with_s"]
    for entry in results["approval"].values():
        entry["full_build_ratio"] = warm_full / entry["live_median_s"]
    path = save_results("approval", results)
    report(results)
    print(f"\nresults: {path}")
    return 0


def report(results: dict[str, Any]) -> None:
    """Print the figures against the goals."""
    build = results["build"]
    print("\n== Build overhead (goal: at most 10 %) ==")
    for cache in ("cold", "warm"):
        b = build[cache]
        verdict = "met" if b["overhead_pct"] <= 10 else "MISSED"
        print(
            f"{cache:>5} cache: without {b['without_s']:.2f} s, with "
            f"{b['with_s']:.2f} s, overhead {b['overhead_pct']:+.1f} % ({verdict})"
        )
    print("\n== Approval to live (goal: median < 1 s, >= 4x faster than full) ==")
    for way, a in results["approval"].items():
        ok = a["live_median_s"] < 1 and a["full_build_ratio"] >= 4 and not a["timeouts"]
        print(
            f"{way:>11}: median {a['live_median_s']:.3f} s, p90 "
            f"{a['live_p90_s']:.3f} s, call returns in "
            f"{a['returned_median_s']:.3f} s, {a['full_build_ratio']:.1f}x faster "
            f"than a warm full build, timeouts {a['timeouts']} "
            f"({'met' if ok else 'MISSED'})"
        )
    print("\n== Coalescing: 10 approvals in a burst ==")
    for c in results["coalescing"]:
        live = c["all_live_s"]
        shown = "timeout" if live is None else f"{live:.3f} s"
        print(f"{c['pelican_runs']} Pelican runs, all 10 live in {shown}")


if __name__ == "__main__":
    sys.exit(main())
