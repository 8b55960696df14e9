"""Issue 23's goal: importing a WordPress blog of a few hundred posts and a
few thousand comments takes under a minute.

    .venv/bin/python bench/import_wordpress.py [--posts 300] [--comments 3000]
        [--rounds 3] [--seed 23] [--max-wait 30] [--profile] [--keep]

``make_wxr.py`` writes the export and its uploads folder once (fixed seed:
the same bytes every run). Then, each round, on a new copy of the project's
site in a temporary folder (its ``content/`` without comment files, its own
SQLite database migrated with ``flask db upgrade``, output, content cache,
comment files, site index and redirect map, all named by the ``FEEDBACK_*``
variables the app reads, and one full build first, as ``make serve`` leaves
a site), the real command runs as a user runs it, each time a new process:

1. start-up: ``flask --app feedback_app import wordpress --help`` (the app
   created, the command found, nothing read);
2. dry run: ``… import wordpress export.xml --uploads uploads --dry-run``
   (reads the export and converts every post; writes nothing);
3. first import: the same without ``--dry-run``;
4. import again: the same export once more, which must change nothing.

Each is timed on the wall clock, after a wait for a quiet machine, with the
share of the machine other processes used meanwhile. The first import's
time is split with what the command itself says: the builds from its log
("rebuilt the site in … s", one line each), reading and converting from
the dry run (less the start-up), and the rest (writing the files, authors,
storing the comments, their files, the redirect map) by difference.

After the first import the script checks the database against what the
export holds (approved, pending, spam and trash comments on published
posts; pingbacks skipped; the 10-level thread; WordPress's ids kept) and,
after the second, that ``content/``, the redirect map and the database are
as they were and the report says "Nothing new". With ``--profile``, one
more first import runs under cProfile and the functions that took longest
are printed. Raw figures: ``bench/results/import_wordpress.json``.
"""

from __future__ import annotations

import argparse
import hashlib
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
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
    median,
    save_results,
    wait_quiet,
)
from make_wxr import Made, make_export

GOAL_S = 60.0
FLASK = [sys.executable, "-m", "flask", "--app", "feedback_app"]
_BUILD_LOG = re.compile(r"rebuilt the site in ([0-9.]+) s")
_COUNT = re.compile(r"^\s+(\d+)  (.+)$", re.M)


class ImportSite(SiteLayout):
    """A bench site whose index is in its instance folder, as the app's
    default is: the build treats the index's folder as private and refuses
    to publish files from it, so it must not hold ``content/``."""

    @property
    def site_index(self) -> Path:
        return self.instance / "site.json"


def new_site(root: Path) -> tuple[SiteLayout, dict[str, str]]:
    """A copy of the project's site at ``root``, migrated and built once;
    return it and the environment a command on it runs with."""
    site = ImportSite(root)
    shutil.copytree(
        ROOT / "content", site.content, ignore=shutil.ignore_patterns("comments")
    )
    site.comments.mkdir()
    site.instance.mkdir()
    config = app_config(
        site,
        SITE_URL="https://blog.example.org",
        REDIRECTS_PATH=str(root / "redirects.map"),
        MAILDIR_PATH=str(root / "maildir"),
    )
    env = app_env(site, config)
    run(["db", "upgrade"], env)
    full_build(site)
    return site, env


def run(
    args: list[str], env: dict[str, str], profile: Path | None = None
) -> dict[str, Any]:
    """Run ``flask --app feedback_app ARGS`` as a new process (under
    cProfile, writing ``profile``, if given); return its wall-clock seconds,
    output, log and the machine's other use meanwhile."""
    command = [*FLASK, *args]
    if profile is not None:
        command[1:1] = ["-m", "cProfile", "-o", str(profile)]
    others = OthersMeter()
    started = time.perf_counter()
    result = subprocess.run(
        command,
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    seconds = time.perf_counter() - started
    if result.returncode != 0:
        raise RuntimeError(
            f"flask {' '.join(args)} exited with {result.returncode}:\n"
            f"{result.stdout}\n{result.stderr}"
        )
    return {
        "seconds": seconds,
        "others": others.share(),
        "stdout": result.stdout,
        "builds": [float(s) for s in _BUILD_LOG.findall(result.stderr)],
    }


def counts(report: str) -> dict[str, int]:
    """The report's counts, by what they count."""
    return {what: int(n) for n, what in _COUNT.findall(report)}


def snapshot(root: Path) -> dict[str, str]:
    """A digest of every file an import writes (content/, the map)."""
    files = {}
    for path in [*sorted((root / "content").rglob("*")), root / "redirects.map"]:
        if path.is_file():
            files[str(path.relative_to(root))] = hashlib.sha256(
                path.read_bytes()
            ).hexdigest()
    return files


def database(site: SiteLayout) -> dict[str, Any]:
    """What the database holds after an import."""
    with sqlite3.connect(site.database) as db:
        states = dict(db.execute("SELECT state, count(*) FROM comment GROUP BY 1"))
        deepest = db.execute("SELECT max(depth) FROM comment").fetchone()[0]
        kept = db.execute(
            "SELECT count(*) FROM comment WHERE origin_id = CAST(id AS TEXT)"
        ).fetchone()[0]
        authors = db.execute("SELECT count(*) FROM author").fetchone()[0]
        rows = db.execute(
            "SELECT id, state, depth, parent_id, body FROM comment ORDER BY id"
        ).fetchall()
    digest = hashlib.sha256(repr(rows).encode()).hexdigest()
    return {
        "states": states,
        "deepest": deepest,
        "ids kept": kept,
        "authors": authors,
        "digest": digest,
    }


def check_first(made: Made, report: dict[str, int], db: dict[str, Any]) -> list[str]:
    """What differs between the first import and what the export holds."""
    facts = made.facts()
    expected = {
        "approved": facts["comments approved on published posts"],
        "pending": facts["comments pending on published posts"],
        "spam": facts["comments spam on published posts"],
        "trash": facts["comments trash on published posts"],
    }
    problems = [
        f"{state}: {db['states'].get(state, 0)} in the database, {n} in the export"
        for state, n in expected.items()
        if db["states"].get(state, 0) != n
    ]
    total = sum(expected.values())
    if db["ids kept"] != total:
        problems.append(f"WordPress ids kept: {db['ids kept']} of {total}")
    if db["deepest"] != facts["deepest thread"]:
        problems.append(f"deepest thread {db['deepest']}, {facts['deepest thread']}")
    skipped = report.get("pingbacks and trackbacks skipped", 0)
    if skipped != facts["pingbacks and trackbacks"]:
        problems.append(f"pingbacks skipped: {skipped}")
    written = report.get("posts written", 0)
    if written != facts["posts written"]:
        problems.append(f"posts written: {written}, {facts['posts written']}")
    return problems


def one_round(
    made: Made, root: Path, max_wait: float, profile: Path | None = None
) -> dict[str, Any]:
    """Make a new site at ``root`` and time the four runs on it."""
    site, env = new_site(root)
    command = ["import", "wordpress", str(made.export), "--uploads", str(made.uploads)]
    if profile is not None:
        return run(command, env, profile)
    result: dict[str, Any] = {}
    for name, args in (
        ("start-up", [*command[:2], "--help"]),
        ("dry run", [*command, "--dry-run"]),
        ("first import", command),
    ):
        result[f"{name} busy before"] = wait_quiet(max_wait=max_wait)
        result[name] = run(args, env)
    first = result["first import"]
    result["first report"] = counts(first["stdout"])
    before, db = snapshot(root), database(site)
    result["database"] = db
    result["problems"] = check_first(made, result["first report"], db)
    result["again busy before"] = wait_quiet(max_wait=max_wait)
    again = result["import again"] = run(command, env)
    if "Nothing new" not in again["stdout"]:
        result["problems"].append("importing again: the report does not say so")
    if snapshot(root) != before:
        result["problems"].append("importing again changed content/ or the map")
    if database(site)["digest"] != db["digest"]:
        result["problems"].append("importing again changed the database")
    return result


def spread(values: list[float]) -> str:
    if len(values) == 1:
        return f"{values[0]:.2f} s"
    return f"{median(values):.2f} s ({min(values):.2f}-{max(values):.2f})"


def print_profile(path: Path, top: int = 30) -> None:
    import pstats

    stats = pstats.Stats(str(path))
    stats.sort_stats("cumulative").print_stats(top)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--posts", type=int, default=300)
    parser.add_argument("--comments", type=int, default=3000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seed", type=int, default=23)
    parser.add_argument("--max-wait", type=float, default=30.0)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--keep", action="store_true", help="keep the sites")
    args = parser.parse_args()

    folder = Path(tempfile.mkdtemp(prefix="import-wordpress-"))
    made = make_export(folder / "export", args.posts, args.comments, args.seed)
    facts = made.facts()
    size = made.export.stat().st_size
    print(f"Export: {size:,} bytes, {facts['posts']} posts ", end="")
    print(f"({facts['posts published']} published), {facts['pages']} pages, ", end="")
    print(f"{facts['comments']:,} comments, threads {facts['deepest thread']} deep")
    rounds = []
    try:
        for n in range(args.rounds):
            print(f"round {n + 1} of {args.rounds} …", flush=True)
            rounds.append(one_round(made, folder / f"site-{n}", args.max_wait))
        if args.profile:
            out = folder / "import.prof"
            one_round(made, folder / "site-profiled", args.max_wait, profile=out)
            print_profile(out)
    finally:
        if args.keep:
            print(f"Sites kept in {folder}")
        else:
            shutil.rmtree(folder, ignore_errors=True)

    def times(name: str) -> list[float]:
        return [r[name]["seconds"] for r in rounds]

    startup, dry, first, again = (
        times(n) for n in ("start-up", "dry run", "first import", "import again")
    )
    builds = [sum(r["first import"]["builds"]) for r in rounds]
    reading = [d - s for d, s in zip(dry, startup, strict=True)]
    rest = [f - d - b for f, d, b in zip(first, dry, builds, strict=True)]
    others = [r[n]["others"] for r in rounds for n in ("first import", "import again")]
    report = rounds[0]["first report"]
    print()
    print(f"{args.rounds} rounds; medians (min-max)")
    print()
    print("| run | wall clock | goal |")
    print("| --- | --- | --- |")
    print(f"| first import | {spread(first)} | < {GOAL_S:.0f} s |")
    print(f"| import again (changes nothing) | {spread(again)} | < {GOAL_S:.0f} s |")
    print(f"| dry run | {spread(dry)} | - |")
    print()
    print("| part of the first import | seconds |")
    print("| --- | --- |")
    print(f"| start-up (the app, the command) | {spread(startup)} |")
    print(f"| reading the export, converting every post | {spread(reading)} |")
    n_builds = len(rounds[0]["first import"]["builds"])
    print(f"| builds ({n_builds}, from the log) | {spread(builds)} |")
    print(
        "| the rest: files, images, authors, comments stored, comment files,"
        f" redirect map | {spread(rest)} |"
    )
    print()
    print("The first import's report:")
    for what, n in report.items():
        print(f"  {n:>6}  {what}")
    print(f"Other processes used {min(others):.0%}-{max(others):.0%} of the machine.")
    problems = [p for r in rounds for p in r["problems"]]
    for problem in dict.fromkeys(problems):
        print(f"CHECK FAILED: {problem}")
    verdict = "met" if median(first) < GOAL_S and median(again) < GOAL_S else "MISSED"
    print(f"Goal (< {GOAL_S:.0f} s): {verdict}")
    for r in rounds:
        for name in ("start-up", "dry run", "first import", "import again"):
            r[name].pop("stdout", None)
    path = save_results(
        "import_wordpress",
        {
            "machine": machine(),
            "args": vars(args),
            "export": {"bytes": size, **facts},
            "report": report,
            "rounds": rounds,
        },
    )
    print(f"Raw figures: {path}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
